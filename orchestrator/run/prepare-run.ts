import { rm } from 'node:fs/promises';
import { writeFileAtomic } from '../common/atomic-write.ts';
import type { BackendPlan, MeasuredEngine } from '../engine/backend.ts';
import type { EngineFacts } from '../engine/engine-facts.ts';
import { stopIfInterrupted } from '../engine/errors.ts';
import { runLabels, type RunOwner } from '../engine/run-owner.ts';
import { fillEstimates, fillHostOf } from '../learn/engine-lessons.ts';
import { FillCalibration, fillCostsIn } from '../learn/fill-calibration.ts';
import type { Environment } from '../predict/environment.ts';
import { aboutDuration, median, type FillEstimate } from '../predict/fill-time.ts';
import { engineNotes } from '../predict/predict.ts';
import { ensureWritable } from '../report/results-dir.ts';
import type { LoadedScenario } from '../scenario/load-scenario.ts';
import { type Scenario } from '../scenario/scenario-schema.ts';
import { planLoaded } from './plan-scenario.ts';
import { environmentOf } from './run-environment.ts';
import type { RunDeps } from './run-deps.ts';

/** Where a run's files go: every one carries the run's id, so two runs of one scenario in a second never share a name. */
export type RunFiles = { dir: string; compose: string; result: string };

/** A run measured and planned, ready to deploy. */
export type Prepared = {
  engine: MeasuredEngine<BackendPlan>;
  /** Its prediction, made with what earlier runs on this engine taught (the churn speed), is the result's `before`. */
  plan: BackendPlan;
  estimates: Record<string, FillEstimate>;
  calibration: FillCalibration;
  /** What the engine and its host were found to be (grants, tables), and the environment the plan predicted in. */
  facts: EngineFacts;
  env: Environment;
};

/**
 * check -> draft compose file -> probe image -> sysctl names -> the user's images -> measure the engine -> plan with
 * what it granted.
 */
export async function prepareRun(loaded: LoadedScenario, deps: RunDeps, files: RunFiles, owner: RunOwner): Promise<Prepared> {
  const { scenario } = loaded;
  const { backend } = deps;
  const project = backend.projectName(loaded, deps.runId);
  // The compose file comes first, before anything exists in Docker, from what is known without asking the engine;
  // it is written again below with what the engine grants. The engine's kernel checks the sysctl names.
  const draft = await planLoaded(loaded, backend, { names: 'on-the-engine', project });
  await ensureWritable(files.dir);
  await writeFileAtomic(files.compose, draft.compiled.yaml);
  stopIfInterrupted(deps.signal, 'preparing the run');
  const built = await backend.buildProbe(deps.signal, deps.onStatus);
  stopIfInterrupted(deps.signal, 'building the probe image');
  const preflight = { prefix: project, labels: runLabels({ runId: deps.runId, owner }), signal: deps.signal };
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
  const env = environmentOf(facts, backend.assumed);
  // What the engine's kernel lacks (a socket's own port range before 6.3) is refused here, with nothing of the run made.
  const plan = await planLoaded(loaded, backend, { env: { ...env, ...learnt }, names: 'on-the-engine', project, image }).catch(refused);
  const fillHost = fillHostOf(facts.host, backend.assumed.network);
  const estimates = fillEstimates(scenario, plan.prediction, fillCostsIn(learned), fillHost);
  for (const [container, estimate] of Object.entries(estimates))
    deps.onStatus(`${container}: ${aboutDuration(estimate.seconds)} to fill its ports (${estimate.basis})`);
  await writeFileAtomic(files.compose, plan.compiled.yaml);
  for (const [container, note] of engineNotes(plan.prediction)) deps.onStatus(`${container}: ${note}`);
  return { engine, plan, estimates, calibration, facts, env };
}

const mostNofileAsked = (scenario: Scenario) =>
  Math.max(scenario.server.ulimits.nofile?.hard ?? 0, ...scenario.clients.map((group) => group.ulimits.nofile?.hard ?? 0));
