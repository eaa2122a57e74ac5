import { PORTLAB_LABEL } from '../compile/compile-compose.ts';
import type { DockerEngine } from './docker/engine.ts';
import { currentSession, ownerState, parseOwner } from './run-owner.ts';
import { EngineError } from './errors.ts';
import { removeAll } from './local/remove-all.ts';
import { removeStackRemains } from './swarm/stack-removal.ts';

type Thing = { id: string; name: string };
type Container = Thing & { state: string; created: number };

/** One run as the engine holds it: its containers and networks, and whether the process that made it is alive. */
export type RunOnEngine = {
  runId: string;
  owner: ReturnType<typeof ownerState>;
  /** Left in place on purpose (--keep). */
  kept: boolean;
  /** Started without a portlab process (no owner label): a saved compose file run by hand. */
  byHand: boolean;
  /** The scenario it runs (its label), when its things carry one. */
  scenario: string | null;
  containers: Container[];
  networks: Thing[];
  /** A swarm run's services (empty on the local engine). */
  services: Thing[];
};

/**
 * Every portlab run on the engine, by run id (things without one count as a run of their own, with no owner); in a
 * session (PORTLAB_SESSION), only that session's runs.
 */
export async function listRuns(engine: DockerEngine, session = currentSession()): Promise<RunOnEngine[]> {
  const managed = { [PORTLAB_LABEL.managed]: 'true', ...(session ? { [PORTLAB_LABEL.session]: session } : {}) };
  const swarm = await engine.swarm.state();
  const [containers, networks, services] = await Promise.all([
    engine.containers.list(managed),
    engine.networks.list(managed),
    // Services can be listed through a swarm manager only.
    swarm.active && swarm.manager ? engine.services.list(managed) : Promise.resolve([]),
  ]);
  const runs = new Map<string, RunOnEngine>();
  const runOf = (labels: Record<string, string>) => {
    const runId = labels[PORTLAB_LABEL.runId] ?? '(no run id)';
    let run = runs.get(runId);
    if (!run) {
      const owner = labels[PORTLAB_LABEL.owner];
      run = {
        runId,
        owner: ownerState(parseOwner(owner)),
        kept: labels[PORTLAB_LABEL.kept] === 'true',
        byHand: owner === undefined,
        scenario: labels[PORTLAB_LABEL.scenario] ?? null,
        containers: [],
        networks: [],
        services: [],
      };
      runs.set(runId, run);
    }
    return run;
  };
  for (const container of containers)
    runOf(container.labels).containers.push({
      id: container.id,
      name: container.name,
      state: container.state ?? 'unknown',
      created: container.created ?? 0,
    });
  for (const network of networks) runOf(network.labels).networks.push({ id: network.id, name: network.name });
  for (const service of services) runOf(service.labels).services.push({ id: service.id, name: service.name });
  return [...runs.values()].sort((a, b) => a.runId.localeCompare(b.runId));
}

/** "abc123 (3 containers, 1 network)" */
export const describeRun = (run: RunOnEngine) => {
  const plural = (count: number, what: string) => `${count} ${what}${count === 1 ? '' : 's'}`;
  const services = run.services.length > 0 ? `${plural(run.services.length, 'service')}, ` : '';
  return `${run.runId} (${services}${plural(run.containers.length, 'container')}, ${plural(run.networks.length, 'network')})`;
};

/**
 * Removes the runs' services (a swarm's: their tasks go down on every node), then their containers, then their
 * networks; tries everything and reports what failed together.
 */
export async function removeRuns(engine: DockerEngine, runs: RunOnEngine[]): Promise<void> {
  const failures: string[] = [];
  for (const run of runs.filter((candidate) => candidate.services.length > 0)) {
    await Promise.all(
      run.services.map((service) => engine.services.remove(service.id, service.name).catch((error: Error) => failures.push(error.message))),
    );
    await removeStackRemains(engine, { runId: run.runId, services: run.services, networks: [] }).catch((error: Error) =>
      failures.push(error.message),
    );
  }
  if (failures.length > 0) throw new EngineError(`cleanup left something behind: ${failures.join('; ')}`);
  await removeAll(
    engine,
    runs.flatMap((run) => run.containers),
    runs.flatMap((run) => run.networks),
  );
}

/**
 * Removes the runs whose owner is gone (a crash, a kill -9): what every run starts with, so leftovers holding tens
 * of thousands of connections never outlive the next run. Runs left with --keep, and compose files run by hand
 * (they have no owner to be gone), stay unless `includeKept`. Returns what it removed and what it left.
 */
export async function removeOrphanedRuns(
  engine: DockerEngine,
  options: { includeKept: boolean },
): Promise<{ removed: RunOnEngine[]; left: RunOnEngine[] }> {
  const runs = await listRuns(engine);
  const orphan = (run: RunOnEngine) => run.owner === 'gone' && (options.includeKept || (!run.kept && !run.byHand));
  const removed = runs.filter(orphan);
  if (removed.length > 0) await removeRuns(engine, removed);
  return { removed, left: runs.filter((run) => !orphan(run)) };
}
