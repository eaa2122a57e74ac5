import type { Backend, BackendPlan } from './backend.ts';
import type { DockerEngine } from './docker/engine.ts';
import { DOCKER_ENDPOINT, PODMAN_ENDPOINT, type EngineEndpoint } from './endpoint.ts';
import { LocalBackend } from './local/local-backend.ts';
import { PodmanBackend } from './podman/podman-backend.ts';
import { localRuns } from './local/remove-all.ts';
import { SwarmBackend } from './swarm/swarm-backend.ts';
import { swarmRuns } from './swarm/stack-removal.ts';
import type { RunTarget } from './run-target.ts';

/** What a backend is made with: the engine it talks to, and where a swarm pushes the probe image. */
export type BackendOptions = { pushTo?: string };

/**
 * Every kind of engine portlab runs on, one line each: its name (what `--engine` takes and a result records), how
 * its backend is made, how its runs are found and removed on an engine, and where that engine answers. A new backend
 * is a folder under engine/ and a line here.
 */
export const BACKENDS = {
  local: {
    make: (engine: DockerEngine) => new LocalBackend(engine),
    runs: localRuns,
    endpoint: DOCKER_ENDPOINT,
    summary: 'containers on this Docker engine (the default)',
  },
  swarm: {
    make: (engine: DockerEngine, options: BackendOptions) => new SwarmBackend(engine, options),
    runs: swarmRuns,
    endpoint: DOCKER_ENDPOINT,
    summary:
      "services on the swarm this Docker engine manages (an overlay network, clients spread by each group's placement; the plan shows each node's load)",
  },
  podman: {
    make: (engine: DockerEngine) => new PodmanBackend(engine),
    runs: localRuns,
    endpoint: PODMAN_ENDPOINT,
    summary: "containers on Podman, through its Docker-compatible service (root's, or the user's own: rootless)",
  },
} as const satisfies Record<
  string,
  {
    make: (engine: DockerEngine, options: BackendOptions) => Backend<BackendPlan>;
    runs: RunTarget;
    endpoint: EngineEndpoint;
    summary: string;
  }
>;

export type EngineKind = keyof typeof BACKENDS;
export const ENGINE_KINDS = Object.keys(BACKENDS) as [EngineKind, ...EngineKind[]];

/** "local|swarm|podman": the kinds as a usage line writes them. */
export const ENGINE_CHOICES = ENGINE_KINDS.join('|');

/** Each kind and what it runs on, one per line, indented as a usage text's option descriptions are. */
export const engineKindsHelp = (indent: string): string =>
  ENGINE_KINDS.map((kind) => `${indent}${kind}: ${BACKENDS[kind].summary}`).join('\n');

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
