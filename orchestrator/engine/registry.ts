import type { Backend, BackendPlan } from './backend.ts';
import type { DockerEngine } from './docker/engine.ts';
import { LocalBackend } from './local/local-backend.ts';
import { localRuns } from './local/remove-all.ts';
import { SwarmBackend } from './swarm/swarm-backend.ts';
import { swarmRuns } from './swarm/stack-removal.ts';
import type { RunTarget } from './run-target.ts';

/** What a backend is made with: the engine it talks to, and where a swarm pushes the probe image. */
export type BackendOptions = { pushTo?: string };

/**
 * Every kind of engine portlab runs on, one line each: its name (what `--engine` takes and a result records), how
 * its backend is made, and how its runs are found and removed on an engine. A new backend is a folder under engine/
 * and a line here.
 */
export const BACKENDS = {
  local: { make: (engine: DockerEngine) => new LocalBackend(engine), runs: localRuns },
  swarm: { make: (engine: DockerEngine, options: BackendOptions) => new SwarmBackend(engine, options), runs: swarmRuns },
} as const satisfies Record<string, { make: (engine: DockerEngine, options: BackendOptions) => Backend<BackendPlan>; runs: RunTarget }>;

export type EngineKind = keyof typeof BACKENDS;
export const ENGINE_KINDS = Object.keys(BACKENDS) as [EngineKind, ...EngineKind[]];

/** A backend made by the registry: its kind is one the registry names. */
export type RegisteredBackend = Backend<BackendPlan> & { readonly kind: EngineKind };

/**
 * How each kind's runs are found and removed. The local engine's target goes last: it removes the containers and
 * networks every kind leaves on this engine (a swarm's tasks are containers once their services are gone).
 */
export const RUN_TARGETS: RunTarget[] = [
  ...Object.values(BACKENDS)
    .map((backend) => backend.runs)
    .filter((target) => target !== BACKENDS.local.runs),
  BACKENDS.local.runs,
];
