import { KEEP_STOPPED, REMOVE_RUN } from '../engine/run-owner.ts';
import { ENGINE_CHOICES, engineKindsHelp, type EngineKind } from '../engine/registry.ts';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { formatCount, showCount } from '../predict/count-range.ts';
import { observationKey, type Prediction } from '../predict/prediction-schema.ts';
import { planLoaded } from '../run/plan-scenario.ts';
import { RESULTS_DIR } from '../report/results-dir.ts';
import { userCwd } from '../scenario/load-scenario.ts';
import { loadSweep, showAxisValue, type LoadedSweep, type SweepPoint } from '../scenario/sweep-file.ts';
import { runSweep } from '../sweep/run-sweep.ts';
import type { SweepPointSummary, SweepSummary } from '../report/sweep-schema.ts';
import { isEntryPoint, runEntryPoint } from './entry-point.ts';
import { backendFor } from './backends.ts';
import { connectEngine } from './connect-engine.ts';
import { badUsage, EXIT, exitCodeFor, showUsage } from './exit-codes.ts';
import { formatTable } from './format-table.ts';
import { plannedCount } from './print-plan.ts';
import { abortOnSignals } from './interrupt.ts';
import { reportError } from './report-error.ts';
import { newRunId, progressPrinter } from './run-command.ts';
import { killRuns, removeLeftovers } from './cleanup-command.ts';
import { engineKind, pushRegistry } from './parse-args.ts';
import { showStop } from '../predict/prediction-schema.ts';
import { writeJunit } from './write-junit.ts';
import { sweepSuites } from './sweep-junit.ts';

export const SWEEP_USAGE = `usage: npm run sweep -- <name or path> [--dry-run] [--json] [--keep] [--junit FILE]
                     [--engine ${ENGINE_CHOICES} [--push REGISTRY]]

  <name>       a file in sweeps/ (range-width means sweeps/range-width.yml); a path is used as given
  --dry-run    validate every point and print one table of their predictions; create nothing in Docker
  --json       print the plan (dry run) or the sweep's summary as JSON on stdout
  --keep       leave every point's containers and network in place after it (portlab ls lists them, portlab rm
               removes them)
  --junit      also write every point's checks as JUnit XML to FILE (one test suite per point)
  --engine     where every point runs:
${engineKindsHelp('               ')}
  --push       with --engine swarm: push the probe image to this registry (host[:port][/path]) for every node to
               pull (default: PORTLAB_REGISTRY)

  A run executes the points one after another and writes results/<sweep>-<stamp>/: each point's result, compose
  file and report, sweep.csv, sweep.json and sweep.html.

exit codes: 0 every point passes, 1 a point failed, 2 bad input, 3 engine unavailable or run error, 130 Ctrl-C`;

const valuesText = (sweep: Pick<LoadedSweep, 'axes'>, values: Record<string, unknown>) =>
  sweep.axes.map((axis) => `${axis.key} = ${showAxisValue(values[axis.key])}`).join('; ');

/** Every point's prediction from documented defaults (as planned for the backend), in one table (or as JSON). */
function dryRun(sweep: LoadedSweep, json: boolean, plans: Array<{ point: SweepPoint; prediction: Prediction }>): number {
  if (json) {
    const out = plans.map(({ point, prediction }) => ({ index: point.index, name: point.scenario.name, values: point.values, prediction }));
    process.stdout.write(
      `${JSON.stringify({ sweep: { name: sweep.name, file: path.relative(userCwd(), sweep.file), axes: sweep.axes }, points: out }, null, 2)}\n`,
    );
    return EXIT.pass;
  }
  const rows = plans.flatMap(({ point, prediction }) => [
    ...prediction.clients.map((client) => [
      String(point.index),
      ...sweep.axes.map((axis) => showAxisValue(point.values[axis.key])),
      observationKey(client),
      plannedCount(client.connections, client.expected),
      client.expected?.bound ?? client.limit,
      showStop(client.error),
    ]),
    ...(prediction.server.expected
      ? [
          [
            String(point.index),
            ...sweep.axes.map(() => ''),
            'server',
            plannedCount(prediction.server.accepted, prediction.server.expected),
            prediction.server.expected.bound ?? '-',
            '',
          ],
        ]
      : []),
    [String(point.index), ...sweep.axes.map(() => ''), 'all clients', showCount(prediction.total), prediction.limit, ''],
  ]);
  process.stdout.write(
    `${sweep.name}: ${sweep.points.length} points (predictions from documented defaults; a run measures the engine and the containers)\n` +
      `${formatTable(['point', ...sweep.axes.map((axis) => axis.key), 'container', 'predicted', 'limit', 'error'], rows)}\n`,
  );
  return EXIT.pass;
}

function formatSweepSummary(summary: SweepSummary, files: { csv: string; json: string; html: string }): string {
  const rows = summary.points.map((point) => [
    String(point.index),
    ...summary.axes.map((axis) => showAxisValue(point.values[axis.key])),
    point.total ? showCount(point.total.predicted) : '-',
    point.total ? formatCount(point.total.observed) : '-',
    point.limit ?? '-',
    point.verdict,
    point.seconds.toFixed(1),
  ]);
  const shown = (file: string) => path.relative(userCwd(), file);
  return [
    `${summary.name}: ${summary.verdict.toUpperCase()} (${summary.points.length} of ${summary.pointCount} points, ${summary.status})`,
    formatTable(['point', ...summary.axes.map((axis) => axis.key), 'predicted', 'observed', 'limit', 'verdict', 'seconds'], rows),
    ...(summary.failure ? [`failure: ${summary.failure}`] : []),
    `csv: ${shown(files.csv)}`,
    `summary: ${shown(files.json)}`,
    `report: ${shown(files.html)}`,
  ].join('\n');
}

export const sweepExitCode = (summary: SweepSummary): number => exitCodeFor([summary.verdict]);

type SweepOptions = {
  sweep: string;
  dryRun: boolean;
  json: boolean;
  keep: boolean;
  engine: EngineKind;
  push: string | undefined;
  junit: string | undefined;
};

/** The sweep command's arguments; throws on anything it does not take. */
function parseSweepArgs(argv: string[]): SweepOptions | 'help' {
  const parsed = parseArgs({
    args: argv,
    allowPositionals: true,
    strict: true,
    options: {
      'dry-run': { type: 'boolean', default: false },
      json: { type: 'boolean', default: false },
      keep: { type: 'boolean', default: false },
      push: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
      engine: { type: 'string', default: 'local' },
      junit: { type: 'string' },
    },
  });
  if (parsed.values.help) return 'help';
  if (parsed.positionals.length !== 1) throw new Error(parsed.positionals.length === 0 ? 'name a sweep' : 'name one sweep at a time');
  if (parsed.values.junit !== undefined && parsed.values['dry-run']) throw new Error('--junit goes with a run (not --dry-run)');
  if (parsed.values.keep && parsed.values['dry-run']) throw new Error('--keep goes with a run (not --dry-run)');
  const engine = engineKind(parsed.values.engine);
  if (parsed.values.push !== undefined && engine !== 'swarm') throw new Error('--push goes with --engine swarm');
  return {
    sweep: parsed.positionals[0]!,
    dryRun: parsed.values['dry-run'] ?? false,
    json: parsed.values.json ?? false,
    keep: parsed.values.keep ?? false,
    engine,
    // On a swarm, the probe image goes to --push, else PORTLAB_REGISTRY when set (as for `npm run scenario`).
    push: engine === 'swarm' ? pushRegistry(parsed.values.push, process.env) : undefined,
    junit: parsed.values.junit,
  };
}

/** `npm run sweep -- <name or path> [--dry-run] [--json] [--keep] [--junit FILE] [--engine ${ENGINE_CHOICES} [--push REGISTRY]]` */
export async function sweepCommand(argv: string[]): Promise<number> {
  let options: SweepOptions;
  try {
    const parsed = parseSweepArgs(argv);
    if (parsed === 'help') return showUsage(SWEEP_USAGE);
    options = parsed;
  } catch (error) {
    return badUsage((error as Error).message, SWEEP_USAGE);
  }
  try {
    const sweep = await loadSweep(options.sweep);
    // Every point is planned as a dry run plans a scenario before any point runs: what the chosen engine cannot run,
    // or a sysctl name portlab does not know, is refused before the first point (a run checks the names on the
    // engine's own kernel).
    const planner = backendFor(options.engine);
    const plans = [];
    for (const point of sweep.points) {
      const loaded = { scenario: point.scenario, file: sweep.file, text: sweep.text };
      // The names are the file's, the same for every point: a dry run checks them once, with its first point.
      const names = options.dryRun && point === sweep.points[0] ? 'shipped-list' : 'on-the-engine';
      plans.push({ point, prediction: (await planLoaded(loaded, planner, { names })).prediction });
    }
    if (options.dryRun) return dryRun(sweep, options.json, plans);

    const engine = await connectEngine(options.engine);
    await removeLeftovers(engine);
    const abort = new AbortController();
    let runId = newRunId();
    const stopListening = abortOnSignals(abort, "stopping the sweep and removing the running point's containers", () =>
      killRuns(engine, [runId]),
    );
    try {
      let progress: ReturnType<typeof progressPrinter> | undefined;
      const run = await runSweep(sweep, {
        newRunId: () => (runId = newRunId()),
        afterRun: options.keep ? KEEP_STOPPED : REMOVE_RUN,
        backend: backendFor(options.engine, engine, { pushTo: options.push }),
        signal: abort.signal,
        now: () => new Date(),
        resultsDir: RESULTS_DIR,
        onStatus: (message) => process.stderr.write(`${sweep.name}: ${message}\n`),
        onProgress: (observations, elapsedMs, expected) => progress?.update(observations, elapsedMs, expected),
        onPoint: (point: SweepPoint, of: number) => {
          process.stderr.write(`${sweep.name}: point ${point.index} of ${of} (${valuesText(sweep, point.values)})\n`);
          progress = progressPrinter(`${sweep.name} ${point.index}/${of}`);
        },
        onPointDone: (point: SweepPointSummary) => {
          progress?.end();
          const counts = point.total
            ? `${formatCount(point.total.observed)} observed, ${showCount(point.total.predicted)} predicted`
            : (point.failure ?? 'no result');
          process.stderr.write(
            `${sweep.name}: point ${point.index}: ${point.verdict.toUpperCase()} ${counts} (${point.seconds.toFixed(1)} s)\n`,
          );
        },
      });
      process.stdout.write(options.json ? `${JSON.stringify(run.summary, null, 2)}\n` : `${formatSweepSummary(run.summary, run.files)}\n`);
      if (options.junit !== undefined) await writeJunit(options.junit, await sweepSuites(run.summary, run.dir));
      return sweepExitCode(run.summary);
    } finally {
      stopListening();
    }
  } catch (error) {
    return reportError(error);
  }
}

if (isEntryPoint(import.meta.url)) process.exitCode = await runEntryPoint(process.argv.slice(2), sweepCommand);
