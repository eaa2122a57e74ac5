import { BOUNDS } from '../scenario/bounds.ts';
import type { Nofile } from '../scenario/field-schemas.ts';
import type { ClientGroup } from '../scenario/scenario-schema.ts';
import type { Environment } from './environment.ts';
import type { WorkerPlan } from './prediction-schema.ts';

/** Extra room above a container's other limits, so that those limits, not the descriptor budget, stop it. */
export const HEADROOM = (connections: number) => Math.ceil(connections * 0.1) + 1;

export type WorkerPlanInput = {
  requested: Nofile | undefined;
  processes: 'auto' | number;
  /** Descriptors each worker has open before its first connection. */
  fdsOpen: number;
  /** Connections this container should be able to hold so that its other limits bind (with headroom). */
  demand: number;
  /** What the probe measured in this container, when known. */
  grantedNofile: Nofile | undefined;
  /** How the container actually ran, when it already has: that layout is kept rather than decided again. */
  ran?: { processes: number; fdBudget: number } | undefined;
  env: Environment;
};

/**
 * Decides worker processes and their descriptor budgets. With `processes: auto` the workers together behave
 * like the one process the scenario describes: they share a budget of (requested soft nofile - fds open),
 * split into pieces the engine can grant, and no larger than the container needs.
 */
export function planWorkers(input: WorkerPlanInput): WorkerPlan {
  const requested = input.requested ?? input.env.engineDefaultNofile;
  const applied = input.grantedNofile ?? grantedBy(input.env.engineNofileCeiling, requested);
  const perWorker = Math.max(0, applied.soft - input.fdsOpen);
  const meant = Math.max(0, requested.soft - input.fdsOpen);

  let processes: number;
  let total: number;
  if (input.ran) {
    processes = input.ran.processes;
    total = input.ran.fdBudget < 0 ? processes * perWorker : Math.min(input.ran.fdBudget, processes * perWorker);
  } else if (input.processes === 'auto') {
    const wanted = Math.min(meant, input.demand);
    // The probe runs at most BOUNDS.processes workers; past that the scenario's own limit cannot be reached.
    processes = perWorker === 0 ? 1 : Math.min(BOUNDS.processes, Math.max(1, Math.ceil(wanted / perWorker)));
    total = Math.min(meant, processes * perWorker);
  } else {
    processes = input.processes;
    total = processes * perWorker;
  }
  const workerBudgets = splitBudget(total, perWorker, processes);

  let note: string | null = null;
  if (applied.soft < requested.soft) {
    const asked = `the engine grants nofile ${applied.soft}, not the ${requested.soft} asked for`;
    const covers =
      total < meant ? "enough for the scenario's other limits to bind first" : `as many as one process with nofile ${requested.soft} has`;
    if (input.processes !== 'auto') note = `${asked}: each of the ${processes} workers holds at most ${perWorker}`;
    else if (processes === 1) note = `${asked}; one worker process with ${total} descriptors is ${covers}`;
    else note = `${asked}, so ${processes} worker processes in one network namespace share ${total} descriptors: ${covers}`;
  }
  return { processes, requestedNofile: input.requested ?? null, appliedNofile: applied, fdsOpen: input.fdsOpen, workerBudgets, note };
}

/** What an engine with this nofile ceiling gives a container that asks for `requested`. */
export function grantedBy(ceiling: number | null, requested: Nofile): Nofile {
  if (ceiling === null || requested.hard <= ceiling) return requested;
  return { soft: Math.min(requested.soft, ceiling), hard: ceiling };
}

/** Worker i gets min(perWorker, what is left): the probe computes the same split from the same numbers. */
export function splitBudget(total: number, perWorker: number, processes: number): number[] {
  return Array.from({ length: processes }, (_, index) => Math.max(0, Math.min(perWorker, total - index * perWorker)));
}

export const totalBudget = (plan: WorkerPlan) => plan.workerBudgets.reduce((sum, budget) => sum + budget, 0);

/**
 * Whether a client group's workers take turns (`processes: auto` without phases: the probe's --handoff), so the
 * container connects one connection at a time as the one process the scenario describes; else they connect at once.
 */
export const workersTakeTurns = (group: Pick<ClientGroup, 'processes' | 'phases'>): boolean => group.processes === 'auto' && !group.phases;
