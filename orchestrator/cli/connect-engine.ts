import { DockerEngine } from '../engine/docker/engine.ts';
import { EngineHungError, EngineUnavailableError } from '../engine/errors.ts';
import { BACKENDS, type EngineKind } from '../engine/registry.ts';

/**
 * The engine a run on `kind` needs, where the registry says that kind answers. When none answers there, portlab
 * starts one as its README's set-up does (the kind's start script: for Docker, scripts/start-engine.sh installs
 * Debian's docker.io if missing, then starts dockerd), so `npm run scenario` works on a fresh machine. An engine
 * named by its variable (DOCKER_HOST, CONTAINER_HOST), or one that is there but hung, is never second-guessed.
 */
export async function connectEngine(kind: EngineKind = 'local'): Promise<DockerEngine> {
  const { endpoint } = BACKENDS[kind];
  const engine = DockerEngine.at(endpoint);
  try {
    await engine.version();
    return engine;
  } catch (error) {
    const absent = error instanceof EngineUnavailableError && !(error instanceof EngineHungError);
    if (!absent || process.env[endpoint.variable] || process.env.PORTLAB_NO_ENGINE_START) throw error;
  }
  const script = endpoint.startScript.slice(endpoint.startScript.indexOf('scripts/'));
  process.stderr.write(`no ${endpoint.product} engine answers: starting one (${script})...\n`);
  // Its progress goes to our stderr (stdout is for results); its last stderr line is the reason if it fails.
  const { execa } = await import('execa');
  const started = await execa('bash', [endpoint.startScript], { reject: false, stdin: 'ignore', stdout: ['pipe', 2], stderr: ['pipe', 2] });
  if (started.exitCode !== 0) {
    const said = String(started.stderr).trim().split('\n').at(-1) || `${script} exited with ${started.exitCode}`;
    throw new EngineUnavailableError(said);
  }
  await engine.version();
  return engine;
}

/** Every engine of the registry's kinds that answers now, each once (local and swarm share Docker's): none is started. */
export async function answeringEngines(): Promise<DockerEngine[]> {
  const endpoints = [...new Set(Object.values(BACKENDS).map((backend) => backend.endpoint))];
  const engines = endpoints.map((endpoint) => DockerEngine.at(endpoint));
  const answers = await Promise.all(engines.map((engine) => engine.ping()));
  return engines.filter((_, index) => answers[index]);
}
