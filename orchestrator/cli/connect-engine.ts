import path from 'node:path';
import { DockerEngine } from '../engine/docker/engine.ts';
import { EngineHungError, EngineUnavailableError } from '../engine/errors.ts';
import { PROJECT_ROOT } from '../common/project-root.ts';

const START_ENGINE = path.join(PROJECT_ROOT, 'scripts', 'start-engine.sh');

/**
 * The engine a run needs. When none answers on the default socket, portlab starts one as its README's set-up does
 * (scripts/start-engine.sh: Debian's docker.io, installed if missing, then dockerd), so `npm run scenario` works on
 * a fresh machine. An engine named by DOCKER_HOST, or one that is there but hung, is never second-guessed.
 */
export async function connectEngine(): Promise<DockerEngine> {
  const engine = new DockerEngine();
  try {
    await engine.version();
    return engine;
  } catch (error) {
    const absent = error instanceof EngineUnavailableError && !(error instanceof EngineHungError);
    if (!absent || process.env.DOCKER_HOST || process.env.PORTLAB_NO_ENGINE_START) throw error;
  }
  process.stderr.write('no Docker engine answers: starting one (scripts/start-engine.sh)...\n');
  // Its progress goes to our stderr (stdout is for results); its last stderr line is the reason if it fails.
  const { execa } = await import('execa');
  const started = await execa('bash', [START_ENGINE], { reject: false, stdin: 'ignore', stdout: ['pipe', 2], stderr: ['pipe', 2] });
  if (started.exitCode !== 0) {
    const said = String(started.stderr).trim().split('\n').at(-1) || `scripts/start-engine.sh exited with ${started.exitCode}`;
    throw new EngineUnavailableError(said);
  }
  await engine.version();
  return engine;
}
