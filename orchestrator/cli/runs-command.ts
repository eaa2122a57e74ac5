import { describeRun, listRuns, removeOrphanedRuns, removeRuns, type RunOnEngine } from '../engine/cleanup.ts';
import type { DockerEngine } from '../engine/docker/engine.ts';
import { confirm } from './cleanup-command.ts';
import { EXIT } from './exit-codes.ts';
import { formatTable } from './format-table.ts';

/** One run as `portlab ls` shows it. */
export type RunListing = {
  id: string;
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
export function runListing(run: RunOnEngine): RunListing {
  const states = new Map<string, number>();
  for (const container of run.containers) states.set(container.state, (states.get(container.state) ?? 0) + 1);
  const created = run.containers.map((container) => container.created).filter((at) => at > 0);
  return {
    id: run.runId,
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

/** `portlab ls [--format table|json]`: the runs on the engine, portlab's own and those of compose files run by hand. */
export async function lsCommand(engine: DockerEngine, format: 'table' | 'json'): Promise<number> {
  const runs = (await listRuns(engine)).map(runListing);
  if (format === 'json') {
    process.stdout.write(`${JSON.stringify({ runs }, null, 2)}\n`);
    return EXIT.pass;
  }
  if (runs.length === 0) {
    process.stdout.write('no portlab runs on this engine\n');
    return EXIT.pass;
  }
  const owner = (run: RunListing) =>
    run.byHand ? 'by hand' : run.owner === 'alive' ? 'alive' : run.owner === 'gone' ? 'gone' : 'other host';
  const rows = runs.map((run) => [run.id, run.scenario ?? '-', run.state, run.started ?? '-', owner(run), run.kept ? 'yes' : 'no']);
  process.stdout.write(`${formatTable(['run', 'scenario', 'state', 'started', 'owner', 'kept'], rows)}\n`);
  return EXIT.pass;
}

/**
 * `portlab rm <run-id...>`: those runs, whoever owns them; `--gone`: the runs whose portlab process is gone (kept and
 * hand-run ones included); `--all`: every run, after a confirmation that `--yes` gives.
 */
export async function rmCommand(
  engine: DockerEngine,
  ids: string[],
  options: { gone: boolean; all: boolean; yes: boolean },
): Promise<number> {
  const list = (runs: RunOnEngine[]) => runs.map(describeRun).join(', ');
  if (options.gone) {
    const { removed } = await removeOrphanedRuns(engine, { includeKept: true });
    process.stdout.write(removed.length > 0 ? `removed ${list(removed)}\n` : 'nothing to remove: every run has its portlab process\n');
    return EXIT.pass;
  }
  const runs = await listRuns(engine);
  const missing = ids.filter((id) => !runs.some((run) => run.runId === id));
  if (missing.length > 0) {
    process.stderr.write(`portlab: no portlab run ${missing.join(', ')} on this engine (portlab ls lists them)\n`);
    return EXIT.badInput;
  }
  const chosen = options.all ? runs : runs.filter((run) => ids.includes(run.runId));
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
  await removeRuns(engine, chosen);
  process.stdout.write(`removed ${list(chosen)}\n`);
  return EXIT.pass;
}
