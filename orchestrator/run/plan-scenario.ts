import type { Backend, BackendPlan } from '../engine/backend.ts';
import { probeImageTag } from '../engine/probe-source.ts';
import type { Environment } from '../predict/environment.ts';
import { loadScenario, shownPath, type LoadedScenario } from '../scenario/load-scenario.ts';
import { SHIPPED_SYSCTLS } from '../scenario/shipped-sysctls.ts';
import { checkSysctlNames } from '../scenario/sysctl-names.ts';
import { runProjectName } from '../compile/compile-compose.ts';

/** A plan of either backend, as a dry run prints it. */
export type Plan = BackendPlan;

/** Which list a plan checks sysctl names against: portlab's shipped list (a dry run), or none yet (a run checks the engine's own). */
export type SysctlNameCheck = 'shipped-list' | 'on-the-engine';

/** What a plan is made with: what is known of the environment, whose sysctl list, the project's name, the image. */
export type PlanInputs = { env?: Environment; names?: SysctlNameCheck; project?: string; image?: string };

/**
 * The one planning path, for a dry run, a run (its draft before the engine is asked, and its plan with what the
 * engine granted) and a sweep's points alike: the checks a run makes before it asks the engine (what the backend
 * cannot run, sysctl names), then predict -> compile for the backend. Touches no engine.
 */
export async function planLoaded(loaded: LoadedScenario, backend: Backend<BackendPlan>, inputs: PlanInputs = {}): Promise<Plan> {
  backend.checkRuns(loaded);
  if ((inputs.names ?? 'shipped-list') === 'shipped-list') checkSysctlNames(loaded.text, shownPath(loaded.file), SHIPPED_SYSCTLS);
  return backend.plan(
    loaded,
    inputs.env ?? backend.assumed,
    inputs.project ?? runProjectName(loaded.scenario.name),
    inputs.image ?? (await probeImageTag()),
  );
}

/** load -> plan, for a scenario named or at a path (a dry run, and every scenario of a command line before the first runs). */
export async function planScenario(nameOrPath: string, backend: Backend<BackendPlan>, inputs: PlanInputs = {}): Promise<Plan> {
  return planLoaded(await loadScenario(nameOrPath), backend, inputs);
}
