import { compileCompose, type CompiledProject } from './compile/compile-compose.ts';
import { compileStack, type CompiledStack } from './compile/compile-stack.ts';
import { loadComposeBase } from './engine/compose-base.ts';
import { probeImageTag } from './engine/probe-source.ts';
import type { Environment } from './predict/environment.ts';
import { predict } from './predict/predict.ts';
import type { Prediction } from './predict/prediction-schema.ts';
import { loadScenario, shownPath, type LoadedScenario } from './scenario/load-scenario.ts';
import { SHIPPED_SYSCTLS } from './scenario/shipped-sysctls.ts';
import { checkSysctlNames } from './scenario/sysctl-names.ts';

/** Where a scenario runs: the local engine (containers, a bridge), or a swarm (services, an overlay network). */
export type EngineKind = 'local' | 'swarm';

export type Plan = LoadedScenario & { prediction: Prediction; compiled: CompiledProject; image: string };
/** A swarm's plan: its compose file is a stack, whose services hold the client groups' containers as replicas. */
export type StackPlan = LoadedScenario & { prediction: Prediction; compiled: CompiledStack; image: string };

/** A scenario that cannot run where it was asked to (exit 2: the input, not the engine). */
export class EngineMismatchError extends Error {
  override name = 'EngineMismatchError';
}

/**
 * What a scenario needs that an engine cannot give, said before anything is created. On a swarm's overlay network a
 * container's extra source addresses get no answer: the overlay resolves and forwards only each task's own address
 * (measured: every connection from the second address timed out).
 */
export function checkRunsOn(loaded: LoadedScenario, engine: EngineKind): void {
  if (engine !== 'swarm') return;
  const group = loaded.scenario.clients.find((candidate) => candidate.sourceAddresses > 1);
  if (group) {
    throw new EngineMismatchError(
      `${loaded.scenario.name}: client group ${group.name} connects from ${group.sourceAddresses} source addresses, which a swarm's overlay network does not route (it answers only each task's own address); run it on the local engine`,
    );
  }
}

/** load -> predict -> compile, for a scenario and what is known of the environment. Touches no engine. */
export async function planScenario(nameOrPath: string, env: Environment, engine: EngineKind = 'local'): Promise<Plan> {
  const loaded = await loadScenario(nameOrPath);
  checkRunsOn(loaded, engine);
  checkSysctlNames(loaded.text, shownPath(loaded.file), SHIPPED_SYSCTLS);
  const image = await probeImageTag();
  return engine === 'swarm'
    ? replanStack(loaded, env, `portlab-${loaded.scenario.name}`, image)
    : replan(loaded, env, `portlab-${loaded.scenario.name}`, image);
}

/** Predicts and compiles again, e.g. once the engine's grants are known, for the probe image `image`. */
export async function replan(loaded: LoadedScenario, env: Environment, projectName: string, image: string): Promise<Plan> {
  const prediction = predict(loaded.scenario, env);
  const compiled = compileCompose({ scenario: loaded.scenario, prediction, base: await loadComposeBase(), image, projectName });
  return { ...loaded, prediction, compiled, image };
}

/** The same for a swarm: the prediction for an overlay network, compiled to a stack named `namespace`. */
export async function replanStack(loaded: LoadedScenario, env: Environment, namespace: string, image: string): Promise<StackPlan> {
  const prediction = predict(loaded.scenario, env);
  const compiled = compileStack({ scenario: loaded.scenario, prediction, base: await loadComposeBase(), image, projectName: namespace });
  return { ...loaded, prediction, compiled, image };
}
