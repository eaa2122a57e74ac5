import { containerNames, phaseKey, SERVER_NAME } from '../scenario/names.ts';
import { withApplicationNotes } from './applications.ts';
import { memoryLine } from './host-limits.ts';
import { KERNEL_FEATURES, KernelTooOldError } from './kernel-facts.ts';
import { type ClientGroup, type Phase, type Scenario } from '../scenario/scenario-schema.ts';
import type { Environment } from './environment.ts';
import { addCounts, exactCount, showCount } from './count-range.ts';
import { expandPortList } from './ports.ts';
import { predictHoldingClient } from './hold.ts';
import { predictChurningClient } from './churn.ts';
import { mostCommonLimit, predictSharedLimits, withSharedLimit } from './shared-limits.ts';

export { expandPortList };
import type { ClientPrediction, Limit, Prediction } from './prediction-schema.ts';

/**
 * What the engine's grants changed, once per container: [name, note] for the server and each client container
 * that got less nofile than it asked for (a phased client's phases share one note).
 */
export function engineNotes(prediction: Prediction): Array<[string, string]> {
  const notes = new Map<string, string | null>([[SERVER_NAME, prediction.server.workers.note]]);
  for (const client of prediction.clients) notes.set(client.name, client.workers.note);
  return [...notes].flatMap(([name, note]) => (note ? [[name, note] as [string, string]] : []));
}

/**
 * A socket's own port range on a kernel that refused IP_LOCAL_PORT_RANGE when the probe tried it: refused, not
 * predicted. The release number alone never refuses: 6.1.32 and later 6.1 kernels have the option too.
 */
function refuseWhatTheKernelLacks(scenario: Scenario, env: Environment): void {
  const { since, what } = KERNEL_FEATURES.socketPortRange;
  const group = scenario.clients.find((candidate) => candidate.socketPortRange !== undefined);
  if (group && env.ipLocalPortRange === false) {
    throw new KernelTooOldError(
      `${scenario.name}: client group ${group.name} sets socketPortRange, and the engine's kernel (Linux ${env.kernel ?? 'of unknown release'}) refused ${what} when the probe tried it (ENOPROTOOPT; Linux ${since.join('.')} has it, and 6.1.32 and later 6.1 kernels)`,
    );
  }
}

/**
 * Each client (and phase) on its own, before the limits all clients share (server, conntrack) are applied: what its
 * own namespace, port range and descriptors allow.
 */
export function predictClientsAlone(scenario: Scenario, env: Environment): ClientPrediction[] {
  const members = scenario.clients.flatMap((group) =>
    containerNames(group).flatMap((name) => stepsOf(group).map((step) => ({ ...step, name, phases: group.phases ?? [] }))),
  );
  return members.map(({ group, name, phase, phases }) => {
    const key = phaseKey(name, phase);
    const prediction =
      group.mode === 'hold' ? predictHoldingClient(scenario, group, env, name) : predictChurningClient(scenario, group, env, name, key);
    if (phase === null) return prediction;
    const earlier = phases.slice(0, phase - 1);
    const note = phaseNote(phase, prediction.targets, earlier);
    return { ...prediction, phase, reasoning: [note, ...prediction.reasoning] };
  });
}

/** Predicts what each client and the server end up with, and why, from the scenario and what is known of the environment. */
export function predict(scenario: Scenario, env: Environment): Prediction {
  refuseWhatTheKernelLacks(scenario, env);
  const clients = predictClientsAlone(scenario, env);
  const measured = clients.every(({ name }) => env.containers[name]) && env.containers[SERVER_NAME] !== undefined;
  const load = clients.map((client) => client.connections).reduce(addCounts, exactCount(0));
  const shared = predictSharedLimits(scenario, env, load, clients);

  const final = shared.total ? withSharedLimit(clients, shared.total, shared.limit, shared.error, shared.certain) : clients;
  const total = shared.total ?? load;
  const limit: Limit = shared.total ? shared.limit : mostCommonLimit(final);
  return withApplicationNotes(
    {
      basis: measured ? 'measured' : 'assumed',
      clients: final,
      server: { ...shared.server, accepted: shared.accepted },
      total,
      limit,
      reasoning: [
        ...(measured
          ? []
          : [
              `Environment not yet measured: documented defaults stand in (a new namespace's port range, Docker's DNS listener, an engine that grants the nofile asked for${env.hostFiles ? '' : ", the host's conntrack table as on these hosts"})${env.hostFiles ? "; the host's limits are as read on the engine's host" : ''}; a run replaces them with what the probes report.`,
            ]),
        ...shared.reasoning,
        ...[memoryLine(env, load)].filter((line) => line !== null),
        `All clients together: ${showCount(total)} connections; the limit that binds: ${limit}.`,
      ],
    },
    scenario,
  );
}

/** A group runs as itself, or as its phases one after another (each predicted with the group's settings and one process). */
function stepsOf(group: ClientGroup): Array<{ group: ClientGroup; phase: number | null }> {
  if (!group.phases) return [{ group, phase: null }];
  return group.phases.map((phase, index) => ({
    group: { ...group, ...phase, targets: phase.targets, processes: 1, phases: undefined },
    phase: index + 1,
  }));
}

/** Ports are per destination: what an earlier phase left in TIME_WAIT only matters for the same target. */
function phaseNote(phase: number, targets: number[], earlier: Phase[]): string {
  if (earlier.length === 0) return `phase ${phase}: starts with the container's ports all free`;
  const before = new Set(earlier.flatMap((step) => step.targets ?? []));
  const shared = targets.filter((port) => before.has(port));
  return shared.length === 0
    ? `phase ${phase}: connects to port ${targets.join(', ')}, other destinations than phase ${earlier.length > 1 ? `1-${earlier.length}` : '1'}'s (${[...before].join(', ')}); the 5-tuple differs, so ports left in TIME_WAIT or held there do not count here`
    : `phase ${phase}: shares port ${shared.join(', ')} with an earlier phase; what that phase left behind is not modelled here`;
}
