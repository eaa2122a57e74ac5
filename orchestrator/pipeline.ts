import { compileCompose, type CompiledProject } from './compile/compile-compose.ts';
import { loadComposeBase } from './compile/load-compose-base.ts';
import { probeImageTag } from './engine/probe-source.ts';
import type { Environment } from './predict/environment.ts';
import { predict } from './predict/predict.ts';
import type { Prediction } from './predict/prediction-schema.ts';
import { loadScenario, type LoadedScenario } from './scenario/load-scenario.ts';

export type Plan = LoadedScenario & { prediction: Prediction; compiled: CompiledProject; image: string };

/** load -> predict -> compile, for a scenario and what is known of the environment. Touches no engine. */
export async function planScenario(nameOrPath: string, env: Environment): Promise<Plan> {
  const loaded = await loadScenario(nameOrPath);
  return replan(loaded, env, `portlab-${loaded.scenario.name}`, await probeImageTag());
}

/** Predicts and compiles again, e.g. once the engine's grants are known, for the probe image `image`. */
export async function replan(loaded: LoadedScenario, env: Environment, projectName: string, image: string): Promise<Plan> {
  const prediction = predict(loaded.scenario, env);
  const compiled = compileCompose({ scenario: loaded.scenario, prediction, base: await loadComposeBase(), image, projectName });
  return { ...loaded, prediction, compiled, image };
}
