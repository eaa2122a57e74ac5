import { rm } from 'node:fs/promises';
import path from 'node:path';
import { writeFileAtomic } from './common/atomic-write.ts';
import type { Backend, BackendPlan } from './engine/backend.ts';
import { type DockerEngine } from './engine/docker/engine.ts';
import { InterruptedError } from './engine/errors.ts';
import { FillCalibration } from './engine/fill-calibration.ts';
import { engineSysctls } from './engine/netns-sysctls.ts';
import { RLIMIT_REFUSED, type EngineFacts } from './engine/engine-facts.ts';
import { ensureProbeImage } from './engine/probe-image.ts';
import { probeImageTag } from './engine/probe-source.ts';
import type { RunRecord } from './engine/run-record.ts';
import { currentOwner, runLabels, type RunOwner } from './engine/run-owner.ts';
import type { ContainerObservation } from './observe/observation.ts';
import { ASSUMED_ENVIRONMENT, type Environment } from './predict/environment.ts';
import { aboutDuration, estimateFill, median, type FillEstimate, type FillSample } from './predict/fill-time.ts';
import { engineNotes, predict } from './predict/predict.ts';
import type { Prediction } from './predict/prediction-schema.ts';
import { buildResult } from './report/build-result.ts';
import { preloadRenderer } from './report/render-chart.ts';
import { formatResultJson } from './report/result-json.ts';
import { RunResult } from './report/result-schema.ts';
import { ensureWritable, fileStamp, RESULTS_DIR } from './report/results-dir.ts';
import { renderReportCharts, writeReport } from './report/write-report.ts';
import { durationMs } from './scenario/duration.ts';
import { loadScenario, shownPath, type LoadedScenario } from './scenario/load-scenario.ts';
import { containerNames, isPhaseKey, SCENARIO_DEFAULTS, type Scenario } from './scenario/scenario-schema.ts';
import { checkSysctlNames } from './scenario/sysctl-names.ts';
import { judge } from './verdict/judge.ts';

const CHURN_GRACE_MS = 30_000;

export type RunDeps = {
  engine: DockerEngine;
  /** Where it runs: the local engine or its swarm, chosen once by the command (cli/backends.ts). */
  backend: Backend<BackendPlan>;
  runId: string;
  keep: boolean;
  signal: AbortSignal;
  now: () => Date;
  onStatus: (message: string) => void;
  onProgress: (observations: Record<string, ContainerObservation>, elapsedMs: number) => void;
  /** Where the result, compose file and report go (default: results/). */
  resultsDir?: string;
  /** The process the run belongs to (default: this one). */
  owner?: RunOwner;
  /** Where earlier fills are remembered (default: the user's cache directory). */
  fillCalibration?: FillCalibration;
};

export type ScenarioRun = { result: RunResult; resultFile: string; reportFile: string; composeFile: string };

/** load -> measure the engine -> predict + compile -> run -> observe -> predict with what was measured -> judge -> report. */
export async function runScenario(nameOrPath: string, deps: RunDeps): Promise<ScenarioRun> {
  return runLoadedScenario(await loadScenario(nameOrPath), deps);
}

/** The same, for a scenario already loaded and validated (a point of a sweep). */
export async function runLoadedScenario(loaded: LoadedScenario, deps: RunDeps): Promise<ScenarioRun> {
  const preparedAt = deps.now();
  const { scenario } = loaded;
  const { backend } = deps;
  const resultsDir = deps.resultsDir ?? RESULTS_DIR;
  const owner = deps.owner ?? currentOwner();
  // Every file of the run carries its id: two runs of one scenario in the same second never share a name.
  const base = path.join(resultsDir, `${scenario.name}-${fileStamp(preparedAt)}-${deps.runId}`);
  const composeFile = `${base}.compose.yml`;
  const resultFile = `${base}.json`;
  const interrupted = (step: string) => {
    if (deps.signal.aborted) throw new InterruptedError(step);
  };

  backend.checkRuns(loaded);
  await ensureWritable(resultsDir);
  const project = backend.projectName(loaded, deps.runId);
  // The compose file comes first, before anything exists in Docker, from what is known without asking the engine;
  // it is written again below with what the engine grants.
  const draft = await backend.plan(loaded, backend.assumed, project, await probeImageTag());
  await writeFileAtomic(composeFile, draft.compiled.yaml);
  interrupted('preparing the run');
  const built = await ensureProbeImage(deps.engine, (tag) => deps.onStatus(`building the probe image ${tag}`), deps.signal);
  interrupted('building the probe image');
  const preflight = { prefix: project, labels: runLabels({ runId: deps.runId, owner, keep: false }), signal: deps.signal };
  // A sweep's points are checked once, from the sweep file, before the first point.
  if (loaded.text)
    await checkSysctlsOnEngine(loaded, deps.engine, built, preflight).catch(async (error: unknown) => {
      await rm(composeFile, { force: true });
      throw error;
    });
  const image = await backend.publish(built, deps.signal, deps.onStatus);
  const engine = await backend.measure(image, mostNofileAsked(scenario), preflight, deps.onStatus);
  interrupted('measuring the engine');
  // What earlier runs on this engine measured: how fast unpaced churns went, how long fills took.
  const calibration = deps.fillCalibration ?? new FillCalibration();
  const learned = await calibration.of(engine.calibrationKey);
  const churnRate = learned.churnRates.length > 0 ? median(learned.churnRates) : undefined;
  const learnt = churnRate === undefined ? {} : { churnRate };
  const plan = await backend.plan(loaded, { ...environmentOf(engine.facts, backend.assumed.network), ...learnt }, project, image);
  // How long each client takes to fill its ports, from earlier fills on this engine; the time limit of a hold
  // without a duration of its own makes room for it.
  const estimates = fillEstimates(scenario, plan.prediction, learned.fills);
  for (const [container, estimate] of Object.entries(estimates))
    deps.onStatus(`${container}: ${aboutDuration(estimate.seconds)} to fill its ports (${estimate.basis})`);
  await writeFileAtomic(composeFile, plan.compiled.yaml);
  for (const [container, note] of engineNotes(plan.prediction)) deps.onStatus(`${container}: ${note}`);

  // The report's renderer loads while the engine creates the network and the server, not after the run.
  preloadRenderer();
  const { record: observed, removed } = await engine.run(plan, {
    runId: deps.runId,
    owner,
    ...runLimits(scenario),
    keep: deps.keep,
    signal: deps.signal,
    onProgress: deps.onProgress,
    now: () => deps.now().getTime(),
    beforeClients: async () => {
      await engine.complete;
    },
  });
  const engineFacts = await engine.complete.catch(() => engine.facts);
  if (engine.remembered && observed.failure && RLIMIT_REFUSED.test(observed.failure)) await engine.forgetGrants();
  const env = { ...environmentOf(engineFacts, backend.assumed.network), ...learnt };
  const measured = predict(scenario, withContainerFacts(env, observed.observations));
  const judgement = judge(measured, observed.observations, scenario.expect.tolerance);
  const before = predict(scenario, env);
  const resultOf = (record: RunRecord) =>
    buildResult({
      scenario,
      scenarioFile: path.relative(process.cwd(), loaded.file),
      composeFile: path.basename(composeFile),
      runId: deps.runId,
      project: plan.compiled.project,
      engine: engineFacts,
      grantsRemembered: engine.remembered,
      engineKind: backend.kind,
      before,
      measured,
      judgement,
      record,
      kept: deps.keep,
      preparedAt,
      fillEstimates: estimates,
    });
  // The charts need only what was observed: they render while the engine removes the containers. Should that
  // fail, the result is still written first, and the report tries again after it.
  const charts = await renderReportCharts(resultOf({ ...observed, cleanupErrors: [] })).catch(() => undefined);
  const result = RunResult.parse(resultOf(await removed));
  if (result.verdict === 'pass') {
    await calibration.add(engine.calibrationKey, { fills: fillSamples(scenario, result), churnRates: churnRates(scenario, result) });
  }
  await writeFileAtomic(resultFile, formatResultJson(result));
  const reportFile = await writeReport(result, resultFile, charts);
  return { result, resultFile, reportFile, composeFile };
}

/**
 * How long a run may take once its clients start. Churning clients stop themselves at their duration, and the run
 * waits a little longer for their last report; a hold with a duration of its own ends there. A hold without one is
 * never cut while counts move (a fill on a slow or busy machine just takes longer): it ends only once nothing has
 * moved for the default hold duration.
 */
function runLimits(scenario: Scenario): { limitMs: number; stallLimitMs?: number } {
  const explicit = scenario.clients.flatMap((group) =>
    group.mode === 'churn' ? [durationMs(group.duration ?? '0s') + CHURN_GRACE_MS] : group.duration ? [durationMs(group.duration)] : [],
  );
  const open = scenario.clients.some((group) => group.mode === 'hold' && group.duration === undefined);
  return open
    ? { limitMs: Number.POSITIVE_INFINITY, stallLimitMs: durationMs(SCENARIO_DEFAULTS.clients.holdDuration) }
    : { limitMs: Math.max(...explicit) };
}

/**
 * The sysctls a scenario or sweep file names, checked against what a new network namespace on this engine's kernel
 * has (measured once per engine): a misspelt name is bad input before anything runs, not a container runc refuses.
 */
export async function checkSysctlsOnEngine(
  loaded: Pick<LoadedScenario, 'text' | 'file'>,
  engine: DockerEngine,
  image: string,
  naming: { prefix: string; labels: Record<string, string>; signal?: AbortSignal },
): Promise<void> {
  checkSysctlNames(loaded.text, shownPath(loaded.file), await engineSysctls(engine, image, naming));
}

/** A client that holds until its local ports run out: how many ports per destination, and how many destinations. */
function portFill(scenario: Scenario, client: Prediction['clients'][number]): { portsPerDestination: number; destinations: number } | null {
  const group = scenario.clients.find((candidate) => candidate.name === client.group);
  if (!group || client.mode !== 'hold' || client.phase !== null || client.limit !== 'port-range' || group.bind !== 'none') return null;
  const destinations = client.targets.length * group.sourceAddresses;
  // The most it may fill (an odd range, or the DNS listener not yet placed, gives an interval of a port or two).
  const max = client.connections.max;
  return max === null ? null : { portsPerDestination: Math.round(max / destinations), destinations };
}

/** Each filling client's expected time, when this engine has filled ports before. */
function fillEstimates(scenario: Scenario, prediction: Prediction, samples: FillSample[]): Record<string, FillEstimate> {
  const estimates: Record<string, FillEstimate> = {};
  for (const client of prediction.clients) {
    const fill = portFill(scenario, client);
    const estimate = fill ? estimateFill(fill.portsPerDestination, fill.destinations, samples) : null;
    if (estimate) estimates[client.name] = estimate;
  }
  return estimates;
}

/** What a passed run teaches about this engine: each filling client's ports and time. */
function fillSamples(scenario: Scenario, result: RunResult): FillSample[] {
  return result.prediction.measured.clients.flatMap((client) => {
    const fill = portFill(scenario, client);
    const observed = result.clients.find((entry) => entry.name === client.name);
    if (!fill || !observed || observed.verdict !== 'pass' || observed.stoppedAfterMs === null || observed.stoppedAfterMs <= 0) return [];
    // What it filled: its count per destination, where the prediction was an interval.
    return [{ ...fill, portsPerDestination: Math.round(observed.observed / fill.destinations), seconds: observed.stoppedAfterMs / 1000 }];
  });
}

/** What a passed run teaches about this engine's speed: each unpaced churning client's connections per second. */
function churnRates(scenario: Scenario, result: RunResult): number[] {
  return result.clients.flatMap((client) => {
    const group = scenario.clients.find((candidate) => containerNames(candidate).includes(client.name));
    if (
      !group ||
      group.mode !== 'churn' ||
      group.rate !== undefined ||
      group.phases ||
      client.stoppedAfterMs === null ||
      client.stoppedAfterMs <= 0
    )
      return [];
    return [Math.round(client.observed / (client.stoppedAfterMs / 1000))];
  });
}

const mostNofileAsked = (scenario: Scenario) =>
  Math.max(scenario.server.ulimits.nofile?.hard ?? 0, ...scenario.clients.map((group) => group.ulimits.nofile?.hard ?? 0));

export function environmentOf(engine: EngineFacts, network: Environment['network'] = 'bridge'): Environment {
  return {
    ...ASSUMED_ENVIRONMENT,
    network,
    engineNofileCeiling: engine.nofileCeiling,
    engineDefaultNofile: engine.defaultNofile,
    conntrackMax: engine.conntrack?.max ?? ASSUMED_ENVIRONMENT.conntrackMax,
    conntrackInUse: engine.conntrack?.inUse ?? ASSUMED_ENVIRONMENT.conntrackInUse,
    ...(engine.conntrack?.established === undefined ? {} : { conntrackEstablished: engine.conntrack.established }),
  };
}

/** The environment as every probe reported it at start (and, for churning clients, the TIME_WAITs they saw). */
export function withContainerFacts(env: Environment, observations: Record<string, ContainerObservation>): Environment {
  const containers = { ...env.containers };
  const timeWaits = { ...env.timeWaits };
  const paceBehind = { ...env.paceBehind };
  for (const [name, observation] of Object.entries(observations)) {
    if (observation.paceBehind !== undefined) paceBehind[name] = observation.paceBehind;
    if (observation.timeWaitEntered !== undefined && observation.timeWaitEntered !== null && observation.timeWait !== null) {
      timeWaits[name] = { entered: observation.timeWaitEntered, atEnd: observation.timeWait };
    }
  }
  for (const [name, observation] of Object.entries(observations)) {
    const ready = observation.ready;
    // A phase's observation (client-1/phase-2) repeats its container's ready line; the container's is enough.
    if (!ready || isPhaseKey(name)) continue;
    containers[name] = {
      nofile: ready.nofile,
      fdsOpen: ready.fdsOpen,
      portRange: ready.portRange,
      boundPorts: ready.boundPorts,
      reservedPorts: ready.reservedPorts,
      somaxconn: ready.somaxconn,
      sysctls: ready.sysctls,
      workers: { processes: ready.processes, fdBudget: ready.fdBudget },
    };
  }
  return {
    ...env,
    containers,
    ...(Object.keys(timeWaits).length > 0 ? { timeWaits } : {}),
    ...(Object.keys(paceBehind).length > 0 ? { paceBehind } : {}),
  };
}
