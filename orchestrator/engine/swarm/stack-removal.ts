import createDebug from 'debug';
import type { DockerEngine } from '../docker/engine.ts';
import type { SwarmTask } from '../docker/services.ts';
import { EngineError } from '../errors.ts';
import { retryUntil, SYSTEM_CLOCK } from '../poll.ts';
import { PORTLAB_LABEL } from '../../compile/compile-compose.ts';
import type { RunTarget } from '../run-target.ts';

const debug = createDebug('portlab:swarm');

/** How long removal waits for the swarm to take a stack's containers and network down. */
const REMOVAL_TIMEOUT_MS = 60_000;

/**
 * After a stack's services are removed, the swarm takes their tasks down on every node, then the network can go:
 * waits until this node runs none of the run's containers and the services have no tasks left, then removes the
 * run's configs and its networks (retried while the swarm still detaches endpoints).
 */
export async function removeStackRemains(
  engine: DockerEngine,
  stack: {
    runId: string;
    services: Array<{ id: string }>;
    networks: Array<{ id: string; name: string }>;
    /** Ids of the nodes the manager lost during the run: their tasks go when they come back (or --cleanup takes them then). */
    lostNodes?: ReadonlySet<string>;
  },
): Promise<void> {
  const lost = stack.lostNodes ?? new Set<string>();
  // One deadline for the tasks and the networks after them.
  const by = SYSTEM_CLOCK.now() + REMOVAL_TIMEOUT_MS;
  const runContainers = { [PORTLAB_LABEL.runId]: stack.runId };
  let seen = { containers: 0, tasks: 0 };
  const tasksGone = await retryUntil(
    async () => {
      const [containers, allTasks] = await Promise.all([
        engine.containers.list(runContainers),
        engine.services.tasks(stack.services.map((service) => service.id)),
      ]);
      const tasks = allTasks.filter((task) => !lost.has(task.nodeId));
      seen = { containers: containers.length, tasks: tasks.length };
      if (containers.length === 0 && tasks.length === 0) return true;
      debug(
        'waiting for %d container(s) and %d task(s) of run %s: %s',
        containers.length,
        tasks.length,
        stack.runId,
        tasks.map((task) => task.state).join(' '),
      );
      // Their services are gone, so nothing restarts them: this engine's own containers go now, not when the swarm
      // gets to them (seconds later).
      await Promise.all(
        containers.map((container) =>
          engine.containers
            .remove(container.id, container.name)
            .catch((error: Error) => debug('removing %s: %s', container.name, error.message)),
        ),
      );
      return undefined;
    },
    { by, intervalMs: 200 },
  );
  if (!tasksGone) {
    throw new EngineError(
      `the swarm still had ${seen.containers} container(s) and ${seen.tasks} task(s) of run ${stack.runId} after ${REMOVAL_TIMEOUT_MS / 1000} s`,
    );
  }
  // A removed overlay network can stay listed on this node for a moment after the swarm has let it go (its node-local
  // copy goes when the node's agent gets to it): it is gone once the engine no longer lists it.
  const listed = async (id: string) =>
    (await engine.networks.list({ [PORTLAB_LABEL.runId]: stack.runId })).some((network) => network.id === id);
  // The run's configs (its applications' observer and files) can go once no task uses them.
  for (const config of await engine.configs.list({ [PORTLAB_LABEL.runId]: stack.runId }))
    await engine.configs.remove(config.id, config.name);
  for (const network of stack.networks) {
    const stillListed = new EngineError(`network ${network.name} was still listed ${REMOVAL_TIMEOUT_MS / 1000} s after its removal`);
    let failure: unknown = stillListed;
    const gone = await retryUntil(
      async () => {
        try {
          await engine.networks.remove(network.id, network.name);
          failure = stillListed;
          return (await listed(network.id)) ? undefined : true;
        } catch (error) {
          failure = error;
          return undefined;
        }
      },
      { by, intervalMs: 250 },
    );
    if (!gone) throw failure;
  }
}

/**
 * Removes a run's stack: the swarm stops a removed service's tasks gracefully, one step after another (seconds); on
 * this engine's own node their containers are removed at once instead, as the local engine's are. Other nodes' go
 * the swarm's way, then the stack's remains. Throws one EngineError naming whatever it left.
 */
export async function removeStack(
  engine: DockerEngine,
  stack: Omit<Parameters<typeof removeStackRemains>[1], 'services'> & {
    services: Array<{ id: string; name: string }>;
    localTasks: SwarmTask[];
  },
): Promise<void> {
  const failures: string[] = [];
  await Promise.all(
    stack.localTasks.map((task) =>
      engine.containers.remove(task.containerId!, task.id).catch((error: Error) => failures.push(error.message)),
    ),
  );
  await Promise.all(
    stack.services.map((service) => engine.services.remove(service.id, service.name).catch((error: Error) => failures.push(error.message))),
  );
  await removeStackRemains(engine, stack).catch((error: Error) => failures.push(error.message));
  if (failures.length > 0) throw new EngineError(`cleanup left something behind: ${failures.join('; ')}`);
}

/**
 * A swarm's runs: their services, listed through a swarm manager only. Removing them takes their tasks down on
 * every node; what a node still runs of them and the run's networks go after (the local target's part).
 */
export const swarmRuns: RunTarget = {
  async list(engine, labels) {
    const swarm = await engine.swarm.state();
    if (!swarm.active || !swarm.manager) return { services: [] };
    const [services, configs] = await Promise.all([engine.services.list(labels), engine.configs.list(labels)]);
    return { services, configs };
  },
  async remove(engine, runs) {
    const failures: string[] = [];
    for (const run of runs.filter((candidate) => candidate.services.length > 0 || candidate.configs.length > 0)) {
      await Promise.all(
        run.services.map((service) =>
          engine.services.remove(service.id, service.name).catch((error: Error) => failures.push(error.message)),
        ),
      );
      await removeStackRemains(engine, { runId: run.runId, services: run.services, networks: [] }).catch((error: Error) =>
        failures.push(error.message),
      );
    }
    if (failures.length > 0) throw new EngineError(`cleanup left something behind: ${failures.join('; ')}`);
  },
};
