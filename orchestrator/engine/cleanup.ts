import { PORTLAB_LABEL } from '../compile/compile-compose.ts';
import type { DockerEngine } from './docker/engine.ts';
import { currentSession, ownerState, parseOwner } from './run-owner.ts';
import { RUN_TARGETS } from './registry.ts';
import type { LabelledThing, RunOnEngine } from './run-target.ts';

export type { RunOnEngine } from './run-target.ts';

/**
 * Every portlab run on the engine, by run id (things without one count as a run of their own, with no owner); in a
 * session (PORTLAB_SESSION), only that session's runs.
 */
export async function listRuns(engine: DockerEngine, session = currentSession()): Promise<RunOnEngine[]> {
  const managed = { [PORTLAB_LABEL.managed]: 'true', ...(session ? { [PORTLAB_LABEL.session]: session } : {}) };
  const held = await Promise.all(RUN_TARGETS.map((target) => target.list(engine, managed)));
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
        configs: [],
      };
      runs.set(runId, run);
    }
    return run;
  };
  const thing = ({ id, name }: LabelledThing) => ({ id, name });
  for (const things of held) {
    for (const container of things.containers ?? [])
      runOf(container.labels).containers.push({
        ...thing(container),
        state: container.state ?? 'unknown',
        created: container.created ?? 0,
      });
    for (const network of things.networks ?? []) runOf(network.labels).networks.push(thing(network));
    for (const service of things.services ?? []) runOf(service.labels).services.push(thing(service));
    for (const config of things.configs ?? []) runOf(config.labels).configs.push(thing(config));
  }
  return [...runs.values()].sort((a, b) => a.runId.localeCompare(b.runId));
}

/** "abc123 (3 containers, 1 network)" */
export const describeRun = (run: RunOnEngine) => {
  const plural = (count: number, what: string) => `${count} ${what}${count === 1 ? '' : 's'}`;
  const services = run.services.length > 0 ? `${plural(run.services.length, 'service')}, ` : '';
  return `${run.runId} (${services}${plural(run.containers.length, 'container')}, ${plural(run.networks.length, 'network')})`;
};

/**
 * Removes the runs: each kind of engine its own things, in the registry's order (a swarm's services first, their
 * tasks going down on every node, then containers and networks). A target that leaves something stops the removal
 * there, naming what it left.
 */
export async function removeRuns(engine: DockerEngine, runs: RunOnEngine[]): Promise<void> {
  for (const target of RUN_TARGETS) await target.remove(engine, runs);
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
