import path from 'node:path';
import { writeFileAtomic } from '../common/atomic-write.ts';
import { fileStamp } from '../report/results-dir.ts';
import type { RunResult } from '../report/result-schema.ts';
import { currentOwner, runLabels } from '../engine/run-owner.ts';
import type { RunDeps, ScenarioRun } from '../run/run-deps.ts';
import { runLoadedScenario } from '../run/run-scenario.ts';
import type { LoadedSweep, SweepPoint } from '../scenario/sweep-file.ts';
import { sweepCsv } from './sweep-csv.ts';
import { writeSweepReport } from '../report/write-sweep-report.ts';
import { SWEEP_SCHEMA_VERSION, SweepSummary, type PointVerdict, type SweepPointSummary } from '../report/sweep-schema.ts';
import { runProjectName } from '../compile/compile-compose.ts';

export type SweepDeps = Omit<RunDeps, 'runId' | 'resultsDir'> & {
  /** A fresh run id for each point. */
  newRunId: () => string;
  /** Where results/<sweep>-<stamp>/ goes. */
  resultsDir: string;
  /** Before each point: which one of how many. */
  onPoint: (point: SweepPoint, of: number) => void;
  /** After each point, with what it gave. */
  onPointDone: (summary: SweepPointSummary) => void;
};

export type SweepRun = { summary: SweepSummary; dir: string; files: { csv: string; json: string; html: string } };

/** A point's summary, from its run's result. Pure. */
export function pointSummary(
  point: SweepPoint,
  run: ScenarioRun | null,
  seconds: number,
  dir: string,
  failure: string | null,
  interrupted = false,
): SweepPointSummary {
  const result: RunResult | undefined = run?.result;
  const verdict: PointVerdict = result?.verdict ?? (interrupted ? 'aborted' : 'error');
  return {
    index: point.index,
    name: point.scenario.name,
    values: point.values,
    verdict,
    seconds: Number(seconds.toFixed(3)),
    resultFile: run ? path.relative(dir, run.resultFile) : null,
    reportFile: run ? path.relative(dir, run.reportFile) : null,
    total: result ? { predicted: result.total.predicted, observed: result.total.observed } : null,
    limit: result ? result.prediction.measured.limit : null,
    containers: result
      ? [...result.clients, result.server].map((container) => ({
          name: container.name,
          predicted: container.predicted,
          observed: container.observed,
          limit: container.limit,
          predictedError: container.predictedError,
          observedError: container.observedError,
          verdict: container.verdict,
        }))
      : [],
    failure: failure ?? result?.run.failure ?? (result?.run.cleanupErrors.length ? result.run.cleanupErrors.join('; ') : null),
  };
}

/** The sweep's verdict: aborted or error if it stopped early, else the worst point's. */
function sweepVerdict(status: SweepSummary['status'], points: SweepPointSummary[]): PointVerdict {
  if (status === 'aborted' || points.some((point) => point.verdict === 'aborted')) return 'aborted';
  if (status === 'error' || points.some((point) => point.verdict === 'error')) return 'error';
  if (points.every((point) => point.verdict === 'pass')) return 'pass';
  return points.some((point) => point.verdict === 'fail') ? 'fail' : 'incomplete';
}

/**
 * Runs every point of a sweep, one after another, each a normal run with its own result, compose file and report
 * in results/<sweep>-<stamp>/. A point that fails does not stop the sweep; Ctrl-C or an engine error does, and the
 * summary (sweep.json, sweep.csv, sweep.html) is written for the points that ran, whatever happened.
 */
export async function runSweep(sweep: LoadedSweep, deps: SweepDeps): Promise<SweepRun> {
  const startedAt = deps.now();
  const dir = path.join(deps.resultsDir, `${sweep.name}-${fileStamp(startedAt)}`);
  const points: SweepPointSummary[] = [];
  let status: SweepSummary['status'] = 'complete';
  let failure: string | null = null;
  // Every point's sysctls are in the sweep file: checked once, against this engine, before the first point runs.
  const image = await deps.backend.buildProbe(deps.signal, deps.onStatus);
  const runId = deps.newRunId();
  await deps.backend.checkSysctlNames(sweep, image, {
    prefix: runProjectName(sweep.name, runId),
    labels: runLabels({ runId, owner: deps.owner ?? currentOwner() }),
    signal: deps.signal,
  });
  for (const point of sweep.points) {
    if (deps.signal.aborted) {
      status = 'aborted';
      break;
    }
    deps.onPoint(point, sweep.points.length);
    const began = deps.now().getTime();
    let run: ScenarioRun | null = null;
    let pointFailure: string | null = null;
    try {
      run = await runLoadedScenario(
        { scenario: point.scenario, file: sweep.file, text: sweep.text },
        { ...deps, runId: deps.newRunId(), resultsDir: dir, sysctlNamesChecked: true },
      );
    } catch (error) {
      pointFailure = (error as Error).message;
    }
    const summary = pointSummary(point, run, (deps.now().getTime() - began) / 1000, dir, pointFailure, deps.signal.aborted);
    points.push(summary);
    deps.onPointDone(summary);
    if (summary.verdict === 'aborted' || deps.signal.aborted) {
      status = 'aborted';
      break;
    }
    if (pointFailure !== null) {
      // The engine itself failed (the daemon went away, the probe image could not be built): later points would too.
      status = 'error';
      failure = `point ${point.index}: ${pointFailure}`;
      break;
    }
  }
  const summary = SweepSummary.parse({
    schemaVersion: SWEEP_SCHEMA_VERSION,
    name: sweep.name,
    description: sweep.description,
    file: path.relative(process.cwd(), sweep.file),
    startedAt: startedAt.toISOString(),
    endedAt: deps.now().toISOString(),
    status,
    failure,
    verdict: sweepVerdict(status, points),
    axes: sweep.axes.map((axis) => ({ key: axis.key, values: axis.values })),
    pointCount: sweep.points.length,
    points,
  });
  const files = { csv: path.join(dir, 'sweep.csv'), json: path.join(dir, 'sweep.json'), html: path.join(dir, 'sweep.html') };
  await writeFileAtomic(files.csv, sweepCsv(summary));
  await writeFileAtomic(files.json, `${JSON.stringify(summary, null, 2)}\n`);
  await writeSweepReport(summary, files.html);
  return { summary, dir, files };
}
