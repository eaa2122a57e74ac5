import type { Backend, BackendPlan } from './engine/backend.ts';
import { probeImageTag } from './engine/probe-source.ts';
import type { Environment } from './predict/environment.ts';
import { loadScenario, shownPath } from './scenario/load-scenario.ts';
import { SHIPPED_SYSCTLS } from './scenario/shipped-sysctls.ts';
import { checkSysctlNames } from './scenario/sysctl-names.ts';
import { runProjectName } from './compile/compile-compose.ts';

/** A plan of either backend, as a dry run prints it. */
export type Plan = BackendPlan;

/** Which list a plan checks sysctl names against: portlab's shipped list (a dry run), or none yet (a run checks the engine's own). */
export type SysctlNameCheck = 'shipped-list' | 'on-the-engine';

/**
 * load -> predict -> compile, for a scenario and what is known of the environment (the backend's documented defaults
 * unless told), with every check a run makes before it asks the engine. Touches no engine.
 */
export async function planScenario(
  nameOrPath: string,
  backend: Backend<BackendPlan>,
  env: Environment = backend.assumed,
  names: SysctlNameCheck = 'shipped-list',
): Promise<Plan> {
  const loaded = await loadScenario(nameOrPath);
  backend.checkRuns(loaded);
  if (names === 'shipped-list') checkSysctlNames(loaded.text, shownPath(loaded.file), SHIPPED_SYSCTLS);
  return backend.plan(loaded, env, runProjectName(loaded.scenario.name), await probeImageTag());
}
