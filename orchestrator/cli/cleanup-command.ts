import { createInterface } from 'node:readline/promises';
import { describeRun, listRuns, removeOrphanedRuns, removeRuns, type RunOnEngine } from '../engine/cleanup.ts';
import type { DockerEngine } from '../engine/docker/engine.ts';
import { EXIT } from './exit-codes.ts';
import type { CliOptions } from './parse-args.ts';

const runList = (runs: RunOnEngine[]) => runs.map(describeRun).join(', ');

/** Asks on the terminal; anything but y/yes is no. */
export async function confirm(question: string): Promise<boolean> {
  const prompt = createInterface({ input: process.stdin, output: process.stderr });
  try {
    return /^y(es)?$/i.test((await prompt.question(`${question} [y/N] `)).trim());
  } finally {
    prompt.close();
  }
}

/**
 * `--cleanup`: the runs whose portlab process is gone; `--cleanup <run-id>`: one run, whoever owns it;
 * `--cleanup --all`: every run, after a confirmation.
 */
export async function cleanupCommand(engine: DockerEngine, options: Pick<CliOptions, 'cleanupRun' | 'all' | 'yes'>): Promise<number> {
  if (options.cleanupRun !== undefined) {
    const runs = await listRuns(engine);
    const run = runs.find((candidate) => candidate.runId === options.cleanupRun);
    if (!run) {
      process.stderr.write(
        `portlab: no portlab run ${options.cleanupRun} on this engine${runs.length > 0 ? ` (runs: ${runs.map((each) => each.runId).join(', ')})` : ''}\n`,
      );
      return EXIT.badInput;
    }
    await removeRuns(engine, [run]);
    process.stdout.write(`removed run ${describeRun(run)}\n`);
    return EXIT.pass;
  }
  if (options.all) {
    const runs = await listRuns(engine);
    if (runs.length === 0) {
      process.stdout.write('nothing to clean up\n');
      return EXIT.pass;
    }
    const live = runs.filter((run) => run.owner !== 'gone');
    const question = `remove all ${runs.length} portlab runs (${runList(runs)})${live.length > 0 ? `, ${live.length} of them still running or on another host` : ''}?`;
    if (!options.yes) {
      if (!process.stdin.isTTY) {
        process.stderr.write(`portlab: ${question.replace(/\?$/, '')}: add --yes to confirm (no terminal to ask on)\n`);
        return EXIT.badInput;
      }
      if (!(await confirm(question))) {
        process.stdout.write('nothing removed\n');
        return EXIT.pass;
      }
    }
    await removeRuns(engine, runs);
    process.stdout.write(`removed ${runList(runs)}\n`);
    return EXIT.pass;
  }
  const { removed, left } = await removeOrphanedRuns(engine, { includeKept: true });
  const lines = [removed.length > 0 ? `removed ${runList(removed)}: their portlab process is gone` : 'nothing to clean up'];
  if (left.length > 0)
    lines.push(`left alone: ${runList(left)}, still running or started on another host (--cleanup <run-id> or --cleanup --all)`);
  process.stdout.write(`${lines.join('\n')}\n`);
  return EXIT.pass;
}

/** What every run and sweep starts with: the leftovers of runs whose process is gone, said in one line. */
export async function removeLeftovers(engine: DockerEngine): Promise<void> {
  const { removed } = await removeOrphanedRuns(engine, { includeKept: false });
  if (removed.length > 0)
    process.stderr.write(`removed what earlier runs left behind (their portlab process is gone): ${runList(removed)}\n`);
}

/** A second Ctrl-C: the runs' containers and networks go at once. */
export async function killRuns(engine: DockerEngine, runIds: Iterable<string>): Promise<void> {
  const wanted = new Set(runIds);
  await removeRuns(
    engine,
    (await listRuns(engine)).filter((run) => wanted.has(run.runId)),
  );
}
