import type { ClientGroup } from '../scenario/scenario-schema.ts';
import type { PortCapacity } from './ports.ts';
import type { ClientPrediction, CountRange, Limit, PredictedStop, WorkerPlan } from './prediction-schema.ts';

/** What every prediction of one client (or phase) says whatever binds: who it is, its workers, its ports. */
export type ClientContext = { name: string; group: ClientGroup; workers: WorkerPlan; targets: number[]; ports: PortCapacity };

/** A client's prediction: its context, the outcome, and the reasoning that led there. */
export function clientPrediction(
  { name, group, workers, targets, ports }: ClientContext,
  outcome: { connections: CountRange; limit: Limit; error: PredictedStop },
  reasoning: string[],
): ClientPrediction {
  return {
    name,
    group: group.name,
    phase: null,
    mode: group.mode,
    workers,
    targets,
    portRange: ports.range,
    reservedPorts: ports.reserved,
    ...outcome,
    reasoning,
  };
}
