import { randomBytes } from 'node:crypto';
import path from 'node:path';
import type { ContainerObservation } from '../observe/observation.ts';
import type { RunResult } from '../report/result-schema.ts';
import { runScenario, type ExpectedProgress } from '../run-scenario.ts';
import { userCwd } from '../scenario/load-scenario.ts';
import { cleanupCommand, killRuns, removeLeftovers } from './cleanup-command.ts';
import { backendFor } from './backends.ts';
import { planScenario } from '../pipeline.ts';
import { junitSuite } from '../report/junit.ts';
import { writeJunit } from './write-junit.ts';
import { connectEngine } from './connect-engine.ts';
import { exitCodeFor } from './exit-codes.ts';
import { abortOnSignals } from './interrupt.ts';
import { formatTable } from './format-table.ts';
import type { CliOptions } from './parse-args.ts';
import { formatCount, showCount } from '../predict/count-range.ts';
import { aboutDuration } from '../predict/fill-time.ts';
import { showStop } from '../predict/prediction-schema.ts';

export async function runCommand(options: CliOptions): Promise<number> {
  // Every scenario named is checked and planned as a dry run plans it before the first runs (or an engine is asked):
  // a bad second file is refused before the first has filled a port. Sysctl names are checked by each run against
  // the engine's own kernel, which may have names portlab's shipped list lacks.
  if (!options.cleanup)
    for (const name of options.scenarios) await planScenario(name, backendFor(options.engine), undefined, 'on-the-engine');
  const engine = await connectEngine(); // one line and exit 3 when there is none and none can be started
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
        engine,
        runId,
        keep: options.keep,
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

/**
 * One container on the live line: its count against its prediction ("14,000 of 28,231, 50%"), and for a client
 * still filling the time its estimate leaves ("about 20 s left"), or how it ended. Pure.
 */
export function progressPart(observation: ContainerObservation, expected: ExpectedProgress[string] | undefined, elapsedMs: number): string {
  const count = formatCount(observation.count);
  const predicted = expected?.predicted;
  const share =
    predicted === undefined
      ? count
      : `${count} of ${showCount(predicted)}${predicted.max ? `, ${Math.min(100, Math.floor((100 * observation.count) / predicted.max))}%` : ''}`;
  if (observation.name === 'server') return `server ${share} accepted`;
  if (observation.finished) return `${observation.name} ${share} done ${observation.error ?? ''}`.trim();
  const fill = expected?.fillSeconds;
  const left =
    fill === undefined
      ? ''
      : fill * 1000 > elapsedMs
        ? `, ${aboutDuration((fill * 1000 - elapsedMs) / 1000)} left`
        : `, past its estimate (${aboutDuration(fill)})`;
  return `${observation.name} ${share}${left} connecting`;
}

/** A run's id: in its containers' labels and its files' names. */
export const newRunId = () => randomBytes(3).toString('hex');

/** Live counts on stderr: one rewritten line on a terminal, a line every ~10 s otherwise. */
export function progressPrinter(scenario: string) {
  const tty = process.stderr.isTTY === true;
  let lastPrinted = -Infinity;
  let printedOnLine = false;
  return {
    update(observations: Record<string, ContainerObservation>, elapsedMs: number, expected: ExpectedProgress = {}) {
      if (!tty && elapsedMs - lastPrinted < 10_000) return;
      lastPrinted = elapsedMs;
      const parts = Object.values(observations).map((observation) => progressPart(observation, expected[observation.name], elapsedMs));
      const line = `${scenario} ${Math.round(elapsedMs / 1000)}s  ${parts.join('  ')}`;
      if (tty) {
        process.stderr.write(`\r\x1b[K${line}`);
        printedOnLine = true;
      } else {
        process.stderr.write(`${line}\n`);
      }
    },
    end() {
      if (printedOnLine) process.stderr.write('\n');
    },
  };
}

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
    `${result.scenario.name as string}: ${result.verdict.toUpperCase()} (${seconds}s, ${result.run.endReason})`,
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
