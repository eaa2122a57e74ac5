import Docker from 'dockerode';
import { DOCKER_ENDPOINT, onThisMachine, type EngineEndpoint } from '../endpoint.ts';
import { EngineUnavailableError } from '../errors.ts';
import { ENGINE_CALL_TIMEOUT_MS, engineCall, paceDeadlineMs, signalled, type ClientContext, type EnginePace } from './call.ts';
import { Configs } from './configs.ts';
import { Containers } from './containers.ts';
import { Images } from './images.ts';
import { Logs } from './logs.ts';
import { Networks } from './networks.ts';
import { Services } from './services.ts';
import { Swarm } from './swarm.ts';

export type EngineVersion = { dockerVersion: string; apiVersion: string; kernelVersion: string; os: string };

/**
 * One Docker engine, as the narrow clients portlab uses (containers, images, networks, services and tasks, configs, the
 * swarm, log streams), sharing one call wrapper with a deadline and abort. Each failure is an EngineError that names
 * the operation and its target. The one place that imports dockerode.
 */
export class DockerEngine {
  readonly containers: Containers;
  readonly images: Images;
  readonly networks: Networks;
  readonly services: Services;
  readonly configs: Configs;
  readonly swarm: Swarm;
  readonly logs: Logs;
  private readonly context: ClientContext;
  /** Its slowest answer so far, which a slow engine's deadlines follow (call.ts). */
  private readonly answered: EnginePace = { slowestMs: 0, slowestWhat: '' };
  private identityAsked: Promise<string> | undefined;

  /** Where it answers: Docker's socket unless said (engine/endpoint.ts). */
  readonly endpoint: EngineEndpoint;

  constructor(docker = new Docker(), options: { timeoutMs?: number; endpoint?: EngineEndpoint } = {}) {
    this.endpoint = options.endpoint ?? DOCKER_ENDPOINT;
    const timeoutMs = options.timeoutMs ?? ENGINE_CALL_TIMEOUT_MS;
    this.context = { api: signalled(docker), call: engineCall(() => this.describe(), timeoutMs, this.answered), timeoutMs };
    this.containers = new Containers(this.context);
    this.images = new Images(this.context);
    this.networks = new Networks(this.context);
    this.services = new Services(this.context);
    this.configs = new Configs(this.context);
    this.swarm = new Swarm(this.context, () => this.describe());
    this.logs = new Logs(this.context);
  }

  /**
   * Whether this engine answers slowly (its slowest call past a sixth of the default deadline): that call and how long
   * each call is now waited for; null for an engine of ordinary speed.
   */
  slowness(): { what: string; seconds: number; deadlineSeconds: number } | null {
    if (this.answered.slowestMs * 6 < this.context.timeoutMs) return null;
    const deadlineSeconds = Math.round(paceDeadlineMs(this.context.timeoutMs, this.answered) / 1000);
    return { what: this.answered.slowestWhat, seconds: this.answered.slowestMs / 1000, deadlineSeconds };
  }

  /** "the Docker engine at /var/run/docker.sock": the variable's value as given, else the kind's own socket. */
  describe(): string {
    const { product, variable } = this.endpoint;
    const named = process.env[variable];
    return `the ${product} engine at ${named || this.endpoint.address().replace(/^unix:\/\//, '')}`;
  }

  /** Whether the engine runs on this machine (its address a unix socket): its /proc is this machine's. */
  get onThisMachine(): boolean {
    return onThisMachine(this.endpoint.address());
  }

  /** The engine an endpoint names, reached with a client of its own. */
  static at(endpoint: EngineEndpoint, options: { timeoutMs?: number } = {}): DockerEngine {
    return new DockerEngine(clientFor(endpoint), { ...options, endpoint });
  }

  /** Whether the daemon answers at all, within a few seconds. */
  async ping(): Promise<boolean> {
    return this.context
      .call(
        'a ping',
        async (abortSignal) => {
          await this.context.api.ping({ abortSignal });
          return true;
        },
        () => false,
        { timeoutMs: Math.min(this.context.timeoutMs, 10_000) },
      )
      .catch(() => false);
  }

  async version(): Promise<EngineVersion> {
    return this.context.call(
      'a version request',
      async (abortSignal) => {
        const version = await this.context.api.version({ abortSignal });
        return { dockerVersion: version.Version, apiVersion: version.ApiVersion, kernelVersion: version.KernelVersion, os: version.Os };
      },
      (error) => this.unreachable(error),
    );
  }

  /** Which engine this is, as far as its limits go: the daemon's id, its version and the host's kernel (asked once). */
  identity(): Promise<string> {
    this.identityAsked ??= this.context
      .call(
        'an info request',
        async (abortSignal) => {
          const info = await this.context.api.info({ abortSignal });
          return `${info.ID} docker ${info.ServerVersion} kernel ${info.KernelVersion}`;
        },
        (error) => this.unreachable(error),
      )
      .catch((error: unknown) => {
        this.identityAsked = undefined;
        throw error;
      });
    return this.identityAsked;
  }

  private unreachable(error: unknown): never {
    throw new EngineUnavailableError(`cannot reach ${this.describe()} (is dockerd running?)`, { cause: error });
  }
}

/**
 * A dockerode client for an endpoint's address: a unix socket, or tcp://HOST:PORT. DOCKER_HOST's other forms (ssh://,
 * DOCKER_TLS_VERIFY) dockerode reads itself; Podman's ssh:// remotes speak Podman's own API, not Docker's.
 */
export function clientFor(endpoint: EngineEndpoint): Docker {
  const address = endpoint.address();
  if (address.startsWith('unix://')) return new Docker({ socketPath: address.slice('unix://'.length) });
  if (endpoint.variable === 'DOCKER_HOST') return new Docker();
  const url = new URL(address);
  if (url.protocol !== 'tcp:')
    throw new EngineUnavailableError(
      `portlab reaches ${endpoint.product} through a unix socket or tcp://: ${endpoint.variable}=${address} is neither`,
    );
  return new Docker({ protocol: 'http', host: url.hostname, port: url.port });
}
