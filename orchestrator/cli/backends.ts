import { DockerEngine } from '../engine/docker/engine.ts';
import { BACKENDS, type BackendOptions, type EngineKind, type RegisteredBackend } from '../engine/registry.ts';

/** `--engine <kind>`, chosen here once: everything that runs a scenario or a sweep point gets the backend. */
export function backendFor(kind: EngineKind, engine?: DockerEngine, options: BackendOptions = {}): RegisteredBackend {
  return BACKENDS[kind].make(engine ?? DockerEngine.at(BACKENDS[kind].endpoint), options);
}
