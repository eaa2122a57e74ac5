import path from 'node:path';
import type { BackendPlan, MeasuredEngine } from '../engine/backend.ts';
import type { RunRecord } from '../engine/run-record.ts';
import { churnRates } from '../learn/engine-lessons.ts';
import { fillCostsOf } from '../learn/fill-lessons.ts';
import { predict } from '../predict/predict.ts';
import { buildResult } from '../report/build-result.ts';
import { formatResultJson } from '../report/result-json.ts';
import { RunResult } from '../report/result-schema.ts';
import { writeResultFile } from '../report/results-dir.ts';
import { renderReportCharts, writeReport } from '../report/write-report.ts';
import type { LoadedScenario } from '../scenario/load-scenario.ts';
import { judge } from '../verdict/judge.ts';
import type { Prepared, RunFiles } from './prepare-run.ts';
import { withContainerFacts } from './run-environment.ts';
import type { RunDeps, ScenarioRun } from './run-deps.ts';

/** predict with what the probes reported -> judge -> result file and report (charts render while the engine removes). */
export async function judgeAndReport(
  loaded: LoadedScenario,
  deps: RunDeps,
  { engine, plan, estimates, calibration, facts: engineFacts, env }: Prepared,
  { record: observed, removed }: Awaited<ReturnType<MeasuredEngine<BackendPlan>['run']>>,
  files: RunFiles,
  preparedAt: Date,
): Promise<ScenarioRun> {
  const { scenario } = loaded;
  // Grants remembered from an earlier preflight that the engine no longer gives (its daemon's nofile was lowered).
  if (engine.remembered && observed.failedBecause?.kind === 'nofile-refused') await engine.forgetGrants();
  // What earlier runs taught (the churn speed) shapes only the prediction made before this run (the plan's); the
  // measured prediction, which the verdict judges against, rests on this run's own facts.
  const observedEnv = withContainerFacts(env, observed.observations);
  const measured = predict(scenario, observedEnv);
  const judgement = judge(measured, observed.observations, scenario.expect.tolerance);
  const before = plan.prediction;
  const nodePlan = deps.backend.nodeLoads({ scenario, prediction: measured }, observedEnv, engineFacts.nodes);
  const resultOf = (record: RunRecord) =>
    buildResult({
      scenario,
      scenarioFile: path.relative(process.cwd(), loaded.file),
      composeFile: path.basename(files.compose),
      runId: deps.runId,
      project: plan.compiled.project,
      engine: engineFacts,
      grantsRemembered: engine.remembered,
      engineKind: deps.backend.kind,
      network: env.network,
      before,
      measured,
      judgement,
      record,
      kept: deps.afterRun.kept,
      preparedAt,
      fillEstimates: estimates,
      // Where the backend spreads a run over nodes, the prediction per node, with the nodes each placement admits.
      ...(nodePlan ? { nodePlan } : {}),
    });
  // The charts need only what was observed: they render while the engine removes the containers. Should that
  // fail, the result is still written first, and the report tries again after it.
  const charts = await renderReportCharts(resultOf({ ...observed, cleanupErrors: [] })).catch(() => undefined);
  const result = RunResult.parse(resultOf(await removed));
  if (result.verdict === 'pass') {
    await calibration.add(engine.calibrationKey, { fills: fillCostsOf(scenario, result), churnRates: churnRates(scenario, result) });
  }
  await writeResultFile(files.result, formatResultJson(result));
  const reportFile = await writeReport(result, files.result, charts);
  return { result, resultFile: files.result, reportFile, composeFile: files.compose };
}
