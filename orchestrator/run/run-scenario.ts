import { rm } from 'node:fs/promises';
import path from 'node:path';
import { writeFileAtomic } from './common/atomic-write.ts';
import type { BackendPlan, MeasuredEngine } from './engine/backend.ts';
import { stopIfInterrupted } from './engine/errors.ts';
import { FillCalibration, fillCostsIn } from './engine/fill-calibration.ts';
import { probeImageTag } from './engine/probe-source.ts';
import type { EngineFacts } from './engine/engine-facts.ts';
import type { RunRecord } from './engine/run-record.ts';
import type { RegisteredBackend } from './engine/registry.ts';
import { currentOwner, runLabels, type RunOwner } from './engine/run-owner.ts';
import type { ContainerObservation } from './observe/observation.ts';
import type { Environment } from './predict/environment.ts';
import { aboutDuration, median, type FillEstimate } from './predict/fill-time.ts';
import { churnRates, fillEstimates, fillHostOf } from './engine-lessons.ts';
import { fillCostsOf } from './fill-lessons.ts';
import { environmentOf, withContainerFacts } from './run-environment.ts';
import { engineNotes, predict } from './predict/predict.ts';
import { buildResult } from './report/build-result.ts';
import { preloadRenderer } from './report/render-chart.ts';
import { formatResultJson } from './report/result-json.ts';
import { RunResult } from './report/result-schema.ts';
import { ensureWritable, fileStamp, RESULTS_DIR, writeResultFile } from './report/results-dir.ts';
import { renderReportCharts, writeReport } from './report/write-report.ts';
import { durationMs } from './scenario/duration.ts';
import { loadScenario, type LoadedScenario } from './scenario/load-scenario.ts';
import { SCENARIO_DEFAULTS } from './scenario/scenario-defaults.ts';
import { type Scenario } from './scenario/scenario-schema.ts';
import { SERVER_NAME } from './scenario/names.ts';
import type { CountRange, Prediction } from './predict/prediction-schema.ts';
import { judge } from './verdict/judge.ts';

const CHURN_GRACE_MS = 30_000;

export type RunDeps = {
  /** Where it runs: the local engine or its swarm, chosen once by the command (cli/backends.ts). */
  backend: RegisteredBackend;
  runId: string;
  keep: boolean;
  signal: AbortSignal;
  now: () => Date;
  onStatus: (message: string) => void;
  /** Live counts, with what each container is predicted to reach and, for a fill, when (for the live line). */
  onProgress: (observations: Record<string, ContainerObservation>, elapsedMs: number, expected?: ExpectedProgress) => void;
  /** Where the result, compose file and report go (default: results/). */
  resultsDir?: string;
  /** The process the run belongs to (default: this one). */
  owner?: RunOwner;
  /** Where earlier fills are remembered (default: the user's cache directory). */
  fillCalibration?: FillCalibration;
  /** The sysctl names were checked against this engine already (a sweep checks its file once, before its first point). */
  sysctlNamesChecked?: boolean;
};

export type ScenarioRun = { result: RunResult; resultFile: string; reportFile: string; composeFile: string };

/** load -> measure the engine -> predict + compile -> run -> observe -> predict with what was measured -> judge -> report. */
export async function runScenario(nameOrPath: string, deps: RunDeps): Promise<ScenarioRun> {
  return runLoadedScenario(await loadScenario(nameOrPath), deps);
}

/** Where a run's files go: every one carries the run's id, so two runs of one scenario in a second never share a name. */
type RunFiles = { dir: string; compose: string; result: string };

/** A run measured and planned, ready to deploy. */
type Prepared = {
  engine: MeasuredEngine<BackendPlan>;
  /** Its prediction, made with what earlier runs on this engine taught (the churn speed), is the result's `before`. */
  plan: BackendPlan;
  estimates: Record<string, FillEstimate>;
  calibration: FillCalibration;
  /** What the engine and its host were found to be (grants, tables), and the environment the plan predicted in. */
  facts: EngineFacts;
  env: Environment;
};

/** The same, for a scenario already loaded and validated (a point of a sweep). */
export async function runLoadedScenario(loaded: LoadedScenario, deps: RunDeps): Promise<ScenarioRun> {
  const preparedAt = deps.now();
  const dir = deps.resultsDir ?? RESULTS_DIR;
  const base = path.join(dir, `${loaded.scenario.name}-${fileStamp(preparedAt)}-${deps.runId}`);
  const files = { dir, compose: `${base}.compose.yml`, result: `${base}.json` };
  const owner = deps.owner ?? currentOwner();
  const prepared = await prepareRun(loaded, deps, files, owner);
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
  const run = await engine.run(plan, {
    runId: deps.runId,
    owner,
    ...limits,
    keep: deps.keep,
    signal: deps.signal,
    onProgress: (observations, elapsedMs) => deps.onProgress(observations, elapsedMs, expected),
    now: () => deps.now().getTime(),
    beforeClients: async () => {
      await engine.complete;
    },
  });
  return judgeAndReport(loaded, deps, prepared, run, files, preparedAt);
}

/** What the live line compares each container's count with: its predicted count, and its fill's estimated time. */
export type ExpectedProgress = Record<string, { predicted: CountRange; fillSeconds?: number }>;

function expectedProgress(prediction: Prediction, estimates: Record<string, FillEstimate>): ExpectedProgress {
  const expected: ExpectedProgress = { [SERVER_NAME]: { predicted: prediction.server.accepted } };
  for (const client of prediction.clients)
    if (client.phase === null) expected[client.name] = { predicted: client.connections, fillSeconds: estimates[client.name]?.seconds };
  return expected;
}

/**
 * check -> draft compose file -> probe image -> sysctl names -> the user's images -> measure the engine -> plan with
 * what it granted.
 */
async function prepareRun(loaded: LoadedScenario, deps: RunDeps, files: RunFiles, owner: RunOwner): Promise<Prepared> {
  const { scenario } = loaded;
  const { backend } = deps;
  backend.checkRuns(loaded);
  await ensureWritable(files.dir);
  const project = backend.projectName(loaded, deps.runId);
  // The compose file comes first, before anything exists in Docker, from what is known without asking the engine;
  // it is written again below with what the engine grants.
  const draft = await backend.plan(loaded, backend.assumed, project, await probeImageTag());
  await writeFileAtomic(files.compose, draft.compiled.yaml);
  stopIfInterrupted(deps.signal, 'preparing the run');
  const built = await backend.buildProbe(deps.signal, deps.onStatus);
  stopIfInterrupted(deps.signal, 'building the probe image');
  const preflight = { prefix: project, labels: runLabels({ runId: deps.runId, owner, keep: false }), signal: deps.signal };
  // A run refused before anything of it exists leaves no compose file either.
  const refused = async (error: unknown) => {
    await rm(files.compose, { force: true });
    throw error;
  };
  if (!deps.sysctlNamesChecked) await backend.checkSysctlNames(loaded, built, preflight).catch(refused);
  await backend.ensureApplications(scenario, deps.signal, deps.onStatus).catch(refused);
  const image = await backend.publish(built, deps.signal, deps.onStatus);
  const engine = await backend.measure(image, mostNofileAsked(scenario), preflight, deps.onStatus);
  stopIfInterrupted(deps.signal, 'measuring the engine');
  // What earlier runs on this engine measured: how fast unpaced churns went, how long fills took.
  const calibration = deps.fillCalibration ?? new FillCalibration();
  const learned = await calibration.of(engine.calibrationKey);
  const learnt = learned.churnRates.length > 0 ? { churnRate: median(learned.churnRates) } : {};
  // The host's tables (conntrack, files, memory, cores) are read beside the grants: the plan and the fill's estimate
  // need them. The clients start only after the run awaits the same reading.
  const facts = await engine.complete.catch(() => engine.facts);
  const env = environmentOf(facts, backend.assumed.network);
  const plan = await backend.plan(loaded, { ...env, ...learnt }, project, image);
  const fillHost = fillHostOf(facts.host, backend.assumed.network);
  const estimates = fillEstimates(scenario, plan.prediction, fillCostsIn(learned), fillHost);
  for (const [container, estimate] of Object.entries(estimates))
    deps.onStatus(`${container}: ${aboutDuration(estimate.seconds)} to fill its ports (${estimate.basis})`);
  await writeFileAtomic(files.compose, plan.compiled.yaml);
  for (const [container, note] of engineNotes(plan.prediction)) deps.onStatus(`${container}: ${note}`);
  return { engine, plan, estimates, calibration, facts, env };
}

/** predict with what the probes reported -> judge -> result file and report (charts render while the engine removes). */
async function judgeAndReport(
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
      kept: deps.keep,
      preparedAt,
      fillEstimates: estimates,
      // On a swarm, the prediction per node, with the nodes each placement admits.
      ...(engineFacts.nodes
        ? {
            nodePlan: deps.backend.nodeLoads({ scenario, prediction: measured }, observedEnv, engineFacts.nodes),
          }
        : {}),
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

/**
 * How long a run may take once its clients start: the user's own bound, kept as written. Churning clients stop
 * themselves at their duration, and the run waits a little longer for their last report; a hold with a duration of
 * its own ends there. A hold without one is never cut while counts move (a fill on a slow or busy machine just takes
 * longer): it ends only once nothing has moved for the default hold duration. Fill estimates never change it.
 */
export function runLimits(scenario: Scenario): { limitMs: number; stallLimitMs?: number } {
  const explicit = scenario.clients.flatMap((group) =>
    group.mode === 'churn' ? [durationMs(group.duration ?? '0s') + CHURN_GRACE_MS] : group.duration ? [durationMs(group.duration)] : [],
  );
  const open = scenario.clients.some((group) => group.mode === 'hold' && group.duration === undefined);
  return open
    ? { limitMs: Number.POSITIVE_INFINITY, stallLimitMs: durationMs(SCENARIO_DEFAULTS.clients.holdDuration) }
    : { limitMs: Math.max(...explicit) };
}

const mostNofileAsked = (scenario: Scenario) =>
  Math.max(scenario.server.ulimits.nofile?.hard ?? 0, ...scenario.clients.map((group) => group.ulimits.nofile?.hard ?? 0));
