import { DockerEngine } from '../orchestrator/engine/docker/engine.ts';

/** The vitest projects that run scenarios on the engine; the unit and browser ones need none. */
export const ENGINE_PROJECTS = ['engine-alone', 'engine', 'engine-last', 'scale'] as const;

/** Stands in for every engine file when no engine answers: its one skipped test says how to start one. */
export const NO_ENGINE_FILE = 'test/no-engine.skipped.ts';

/** What a person reads when the engine tests did not run. */
export const NO_ENGINE_LINE =
  'not run: the engine tests (no Docker engine answers; the suite never starts one: `npm test` does, through its pre-script scripts/start-engine.sh, or start dockerd yourself, or set DOCKER_HOST)';

/**
 * Whether a Docker engine answers (DOCKER_HOST, else the local socket), asked once with a short deadline. Nothing is
 * started or installed: the suite only asks.
 */
export async function engineAnswers(): Promise<boolean> {
  try {
    await new DockerEngine(undefined, { timeoutMs: 5_000 }).version();
    return true;
  } catch {
    return false;
  }
}
