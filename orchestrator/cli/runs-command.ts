import { describeRun, listRuns, removeOrphanedRuns, removeRuns, type RunOnEngine } from '../engine/cleanup.ts';
import type { DockerEngine } from '../engine/docker/engine.ts';
import { confirm } from './cleanup-command.ts';
import { EXIT } from './exit-codes.ts';
import { formatTable } from './format-table.ts';

/** One run as `portlab ls` shows it. */
export type RunListing = {
  id: string;
  /** The engine it is on, as a person calls it: Docker, Podman. */
  engine: string;
  scenario: string | null;
  state: string;
  started: string | null;
  owner: RunOnEngine['owner'];
  kept: boolean;
  byHand: boolean;
  containers: number;
  networks: number;
  services: number;
};

/** "running 3" / "exited 2, running 1": how many of a run's containers are in each state. Pure. */
export function runListing(run: RunOnEngine, engine: string): RunListing {
  const states = new Map<string, number>();
  for (const container of run.containers) states.set(container.state, (states.get(container.state) ?? 0) + 1);
  const created = run.containers.map((container) => container.created).filter((at) => at > 0);
  return {
    id: run.runId,
    engine,
    scenario: run.scenario,
    state:
      [...states].map(([state, count]) => `${state} ${count}`).join(', ') || (run.services.length > 0 ? 'services only' : 'no containers'),
    started: created.length > 0 ? new Date(Math.min(...created) * 1000).toISOString() : null,
    owner: run.owner,
    kept: run.kept,
    byHand: run.byHand,
    containers: run.containers.length,
    networks: run.networks.length,
    services: run.services.length,
  };
}

/** The runs on each engine, with the engine each is on. */
const runsOn = async (engines: DockerEngine[]) =>
  (await Promise.all(engines.map(async (engine) => (await listRuns(engine)).map((run) => ({ engine, run }))))).flat();

/** `portlab ls [--format table|json]`: the runs on the engines, portlab's own and those of compose files run by hand. */
export async function lsCommand(engines: DockerEngine[], format: 'table' | 'json'): Promise<number> {
  const runs = (await runsOn(engines)).map(({ engine, run }) => runListing(run, engine.endpoint.product));
  if (format === 'json') {
    process.stdout.write(`${JSON.stringify({ runs }, null, 2)}\n`);
    return EXIT.pass;
  }
  if (runs.length === 0) {
    process.stdout.write(`no portlab runs on ${engines.map((engine) => engine.describe()).join(' or ')}\n`);
    return EXIT.pass;
  }
  const owner = (run: RunListing) =>
    run.byHand ? 'by hand' : run.owner === 'alive' ? 'alive' : run.owner === 'gone' ? 'gone' : 'other host';
  const rows = runs.map((run) => [
    run.id,
    run.engine,
    run.scenario ?? '-',
    run.state,
    run.started ?? '-',
    owner(run),
    run.kept ? 'yes' : 'no',
  ]);
  process.stdout.write(`${formatTable(['run', 'engine', 'scenario', 'state', 'started', 'owner', 'kept'], rows)}\n`);
  return EXIT.pass;
}

/**
 * `portlab rm <run-id...>`: those runs, whoever owns them; `--gone`: the runs whose portlab process is gone (kept and
 * hand-run ones included); `--all`: every run, after a confirmation that `--yes` gives.
 */
export async function rmCommand(
  engines: DockerEngine[],
  ids: string[],
  options: { gone: boolean; all: boolean; yes: boolean },
): Promise<number> {
  const list = (runs: RunOnEngine[]) => runs.map(describeRun).join(', ');
  if (options.gone) {
    const removed = (await Promise.all(engines.map((engine) => removeOrphanedRuns(engine, { includeKept: true })))).flatMap(
      (each) => each.removed,
    );
    process.stdout.write(removed.length > 0 ? `removed ${list(removed)}\n` : 'nothing to remove: every run has its portlab process\n');
    return EXIT.pass;
  }
  const runs = await runsOn(engines);
  const missing = ids.filter((id) => !runs.some(({ run }) => run.runId === id));
  if (missing.length > 0) {
    process.stderr.write(
      `portlab: no portlab run ${missing.join(', ')} on ${engines.map((engine) => engine.describe()).join(' or ')} (portlab ls lists them)\n`,
    );
    return EXIT.badInput;
  }
  const picked = options.all ? runs : runs.filter(({ run }) => ids.includes(run.runId));
  const chosen = picked.map(({ run }) => run);
  if (chosen.length === 0) {
    process.stdout.write('nothing to remove\n');
    return EXIT.pass;
  }
  if (options.all && !options.yes) {
    const question = `remove all ${chosen.length} portlab runs (${list(chosen)})`;
    if (!process.stdin.isTTY) {
      process.stderr.write(`portlab: ${question}: add --yes to confirm (no terminal to ask on)\n`);
      return EXIT.badInput;
    }
    if (!(await confirm(`${question}?`))) {
      process.stdout.write('nothing removed\n');
      return EXIT.pass;
    }
  }
  for (const engine of engines) {
    const here = picked.filter((entry) => entry.engine === engine).map(({ run }) => run);
    if (here.length > 0) await removeRuns(engine, here);
  }
  process.stdout.write(`removed ${list(chosen)}\n`);
  return EXIT.pass;
}
