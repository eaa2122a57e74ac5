import { REMOVE_RUN } from '../orchestrator/engine/run-owner.ts';
import { randomBytes } from 'node:crypto';
import type { DockerEngine } from '../orchestrator/engine/docker/engine.ts';
import { LocalBackend } from '../orchestrator/engine/local/local-backend.ts';
import { runScenario } from '../orchestrator/run/run-scenario.ts';

/** Runs a scenario on the local engine as `npm run scenario` does, printing nothing: a benchmark prints its figures. */
export async function quietRun(scenario: string, engine: DockerEngine) {
  const { result } = await runScenario(scenario, {
    backend: new LocalBackend(engine),
    runId: randomBytes(3).toString('hex'),
    afterRun: REMOVE_RUN,
    signal: new AbortController().signal,
    now: () => new Date(),
    onStatus: () => {},
    onProgress: () => {},
  });
  return result;
}
