import path from 'node:path';
import { currentOwner, type RunOwner } from '../engine/run-owner.ts';
import { aboutDuration } from '../predict/fill-time.ts';
import { preloadRenderer } from '../report/render-chart.ts';
import { fileStamp, RESULTS_DIR } from '../report/results-dir.ts';
import { loadScenario, type LoadedScenario } from '../scenario/load-scenario.ts';
import { judgeAndReport } from './judge-run.ts';
import { prepareRun, type Prepared, type RunFiles } from './prepare-run.ts';
import { expectedProgress, runLimits } from './run-limits.ts';
import type { RunDeps, ScenarioRun } from './run-deps.ts';

/** A scenario named or at a path, run: load, then the steps below. */
export async function runScenario(nameOrPath: string, deps: RunDeps): Promise<ScenarioRun> {
  return runLoadedScenario(await loadScenario(nameOrPath), deps);
}

/**
 * A scenario already loaded and validated (a command's, or a point of a sweep), run step by step: plan it and
 * prepare the engine (plan -> images -> measure -> plan with what the engine granted), deploy it and observe the
 * probes, then judge what they saw against the prediction made with it and write the result and the report.
 */
export async function runLoadedScenario(loaded: LoadedScenario, deps: RunDeps): Promise<ScenarioRun> {
  const preparedAt = deps.now();
  const files = runFiles(loaded, deps, preparedAt);
  const owner = deps.owner ?? currentOwner();
  const prepared = await prepareRun(loaded, deps, files, owner);
  const observed = await deployAndObserve(loaded, deps, prepared, owner);
  return judgeAndReport(loaded, deps, prepared, observed, files, preparedAt);
}

/** Where a run's files go: results/<scenario>-<stamp>-<run id>.{compose.yml,json}. */
function runFiles(loaded: LoadedScenario, deps: RunDeps, preparedAt: Date): RunFiles {
  const dir = deps.resultsDir ?? RESULTS_DIR;
  const base = path.join(dir, `${loaded.scenario.name}-${fileStamp(preparedAt)}-${deps.runId}`);
  return { dir, compose: `${base}.compose.yml`, result: `${base}.json` };
}

/** The plan deployed on the measured engine and watched until it ends (its removal goes on while it is judged). */
async function deployAndObserve(loaded: LoadedScenario, deps: RunDeps, prepared: Prepared, owner: RunOwner) {
  // The report's renderer loads while the engine creates the network and the server, not after the run.
  preloadRenderer();
  const { engine, plan } = prepared;
  const expected = expectedProgress(plan.prediction, prepared.estimates);
  const limits = runLimits(loaded.scenario);
  const longestFill = Math.max(0, ...Object.values(prepared.estimates).map((estimate) => estimate.seconds * 1000));
  if (Number.isFinite(limits.limitMs) && longestFill > limits.limitMs)
    deps.onStatus(
      `the fill is estimated to take ${aboutDuration(longestFill / 1000)}, longer than the run's time limit of ${aboutDuration(limits.limitMs / 1000)}: the run ends there, incomplete if clients are still filling (a hold without a duration ends only when counts stop moving)`,
    );
  return engine.run(plan, {
    runId: deps.runId,
    owner,
    ...limits,
    afterRun: deps.afterRun,
    signal: deps.signal,
    onProgress: (observations, elapsedMs) => deps.onProgress(observations, elapsedMs, expected),
    now: () => deps.now().getTime(),
    beforeClients: async () => {
      await engine.complete;
    },
  });
}
