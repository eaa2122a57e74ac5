import { KEEP_RUN, REMOVE_RUN } from '../engine/run-owner.ts';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import type { RunResult } from '../report/result-schema.ts';
import { runScenario } from '../run/run-scenario.ts';
import { userCwd } from '../scenario/load-scenario.ts';
import { cleanupCommand, killRuns, removeLeftovers } from './cleanup-command.ts';
import { backendFor } from './backends.ts';
import { planScenario } from '../run/plan-scenario.ts';
import { junitSuite } from '../report/junit.ts';
import { writeJunit } from './write-junit.ts';
import { connectEngine } from './connect-engine.ts';
import { exitCodeFor } from './exit-codes.ts';
import { abortOnSignals } from './interrupt.ts';
import { measuredNote } from '../report/bound-by.ts';
import { formatTable } from './format-table.ts';
import { progressPrinter } from './progress-line.ts';
import type { CliOptions } from './parse-args.ts';
import { formatCount, showCount } from '../predict/count-range.ts';
import { aboutDuration } from '../predict/fill-time.ts';
import { showStop } from '../predict/prediction-schema.ts';

export async function runCommand(options: CliOptions): Promise<number> {
  // Every scenario named is checked and planned as a dry run plans it before the first runs (or an engine is asked):
  // a bad second file is refused before the first has filled a port. Sysctl names are checked by each run against
  // the engine's own kernel, which may have names portlab's shipped list lacks.
  if (!options.cleanup)
    for (const name of options.scenarios) await planScenario(name, backendFor(options.engine), { names: 'on-the-engine' });
  const engine = await connectEngine(options.engine); // one line and exit 3 when there is none and none can be started
  if (options.cleanup) return cleanupCommand(engine, options);
  await removeLeftovers(engine);

  const backend = backendFor(options.engine, engine, { pushTo: options.push });
  const abort = new AbortController();
  let runId = newRunId();
  const stopListening = abortOnSignals(abort, 'stopping the run and removing its containers', () => killRuns(engine, [runId]));

  const results: Array<{ result: RunResult; resultFile: string }> = [];
  try {
    for (const name of options.scenarios) {
      if (abort.signal.aborted) break;
      const progress = progressPrinter(name);
      runId = newRunId();
      const run = await runScenario(name, {
        runId,
        afterRun: options.keep ? KEEP_RUN : REMOVE_RUN,
        signal: abort.signal,
        now: () => new Date(),
        onStatus: (message) => process.stderr.write(`${name}: ${message}\n`),
        onProgress: progress.update,
        backend,
      });
      progress.end();
      results.push(run);
      if (!options.json) process.stdout.write(`${formatSummary(run.result, run.resultFile, run.reportFile)}\n\n`);
    }
  } finally {
    stopListening();
  }
  if (options.json) process.stdout.write(`${JSON.stringify({ results: results.map((run) => run.result) }, null, 2)}\n`);
  if (options.junit !== undefined)
    await writeJunit(
      options.junit,
      results.map((run) => junitSuite(run.result)),
    );
  const verdicts = results.map((run) => run.result.verdict);
  return exitCodeFor(
    abort.signal.aborted ? [...verdicts, 'aborted'] : verdicts,
    results.some((run) => run.result.run.cleanupErrors.length > 0),
  );
}

/** A run's id: in its containers' labels and its files' names. */
export const newRunId = () => randomBytes(3).toString('hex');

export function formatSummary(result: RunResult, resultFile: string, reportFile: string): string {
  const rows = [...result.clients, result.server].map((entry) => [
    entry.name,
    showCount(entry.predicted),
    formatCount(entry.observed),
    entry.bound ? `${entry.bound.limit} (bound)` : entry.limit,
    showStop(entry.predictedError),
    entry.observedError ?? '-',
    entry.verdict,
  ]);
  if (result.clients.length > 1 && result.total.verdict) {
    rows.push([
      'all clients',
      showCount(result.total.predicted),
      formatCount(result.total.observed),
      result.prediction.measured.limit,
      '-',
      '-',
      result.total.verdict,
    ]);
  }
  const seconds = (result.run.durationMs / 1000).toFixed(1);
  return [
    `${result.scenario.name as string}: ${result.verdict.toUpperCase()} (${seconds}s, ${result.run.endReason})${measuredNote(result) ? `; ${measuredNote(result)}` : ''}`,
    formatTable(['container', 'predicted', 'observed', 'limit', 'predicted error', 'observed error', 'verdict'], rows),
    ...result.notes.map((note) => `note: ${note}`),
    ...(result.run.failure ? [`failure: ${result.run.failure}`] : []),
    ...Object.entries(result.run.fillTimes ?? {}).map(
      ([name, time]) =>
        `time: ${name} ${time.observedSeconds === null ? 'did not finish' : `filled its ports in ${time.observedSeconds.toFixed(1)} s`}; predicted ${aboutDuration(time.predictedSeconds)} (${time.basis})`,
    ),
    ...result.why.map((line) => `why: ${line}`),
    `result: ${path.relative(userCwd(), resultFile)}`,
    `report: ${path.relative(userCwd(), reportFile)}`,
  ].join('\n');
}

export { progressPrinter };
