import type { Backend, BackendPlan } from '../engine/backend.ts';
import { DockerEngine } from '../engine/docker/engine.ts';
import { LocalBackend } from '../engine/local/local-backend.ts';
import { SwarmBackend } from '../engine/swarm/swarm-backend.ts';

/** `--engine local|swarm`, chosen here once: everything that runs a scenario or a sweep point gets the backend. */
export function backendFor(
  kind: 'local' | 'swarm',
  engine: DockerEngine = new DockerEngine(),
  options: { pushTo?: string } = {},
): Backend<BackendPlan> {
  return kind === 'swarm' ? new SwarmBackend(engine, options) : new LocalBackend(engine);
}
