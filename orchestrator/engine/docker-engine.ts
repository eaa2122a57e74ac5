import { PassThrough } from 'node:stream';
import createDebug from 'debug';
import Docker from 'dockerode';
import { EngineError, EngineHungError, EngineUnavailableError, InterruptedError } from './errors.ts';

const debug = createDebug('portlab:engine');

/** How long one engine call may take before portlab gives up on the daemon (override: PORTLAB_ENGINE_TIMEOUT_MS). */
export const ENGINE_CALL_TIMEOUT_MS =
  Number(process.env.PORTLAB_ENGINE_TIMEOUT_MS) > 0 ? Number(process.env.PORTLAB_ENGINE_TIMEOUT_MS) : 30_000;
/** An image build compiles nothing in the daemon (the probe is compiled before), but sends a context. */
const BUILD_TIMEOUT_MS = 5 * 60_000;

export type EngineVersion = { dockerVersion: string; apiVersion: string; kernelVersion: string; os: string };

export type ContainerSpec = {
  name: string;
  image: string;
  command: string[];
  labels: Record<string, string>;
  network: string;
  /** The name other containers resolve it by on the network (its compose service name). */
  alias: string;
  nofile?: { soft: number; hard: number };
  sysctls?: Record<string, string>;
  capAdd?: string[];
  /** 'host' to share the host's network namespace (preflight reads the host's conntrack there); 'none' for a new one with only lo. */
  networkMode?: 'host' | 'none';
  /** How it is stopped (compose.base.yml's stop_signal and stop_grace_period); the engine's own default without. */
  stop?: StopSettings;
  /** Environment variables, NAME=value. */
  env?: string[];
};

export type LabelFilter = Record<string, string>;

/** A swarm service as portlab deploys one: a probe, run once, on an overlay network (or the host's, for preflight). */
export type ServiceSpec = {
  name: string;
  image: string;
  command: string[];
  /** On the service (what `docker service ls` and cleanup filter by). */
  labels: Record<string, string>;
  /** On its containers. */
  containerLabels: Record<string, string>;
  /** The overlay network's id, and the name the service has there; or 'host' to run in each node's own namespace. */
  network: { id: string; alias: string } | 'host';
  /**
   * replicas: that many tasks; 'global': one task on every node (preflight). Either way a task runs once. (Not a
   * global job: Docker 20.10 leaves a removed job's containers behind.)
   */
  mode: { replicas: number } | 'global';
  nofile?: { soft: number; hard: number };
  sysctls?: Record<string, string>;
  capAdd?: string[];
  constraints?: string[];
  maxPerNode?: number;
  /** How its tasks are stopped: compose.base.yml's stop_signal and stop_grace_period. */
  stop?: StopSettings;
};

/** A container's stop signal, and how long it may take before it is killed. */
export type StopSettings = { signal: string; graceSeconds: number };

/** The states a swarm task does not leave: it ran and ended, or never will run (the one list of them). */
export const TASK_ENDED_STATES: ReadonlySet<string> = new Set(['complete', 'failed', 'shutdown', 'rejected', 'orphaned', 'remove']);

/** One task of a service, as the swarm reports it. */
export type SwarmTask = {
  id: string;
  serviceId: string;
  /** The replica's number (1, 2, ...); null for a global service's tasks. */
  slot: number | null;
  nodeId: string;
  /** new, pending, assigned, ..., running, complete, failed, shutdown, rejected, orphaned, remove */
  state: string;
  desiredState: string;
  /** What went wrong, when it did (e.g. "No such image: ..."). */
  error: string | null;
  containerId: string | null;
  /** The container's exit code once it has exited. */
  exitCode: number | null;
};

export type SwarmNode = { id: string; hostname: string; role: string; ready: boolean; active: boolean; labels: Record<string, string> };

/** Whether this engine is in a swarm, and can manage it. */
export type SwarmState = { active: boolean; manager: boolean; nodeId: string; clusterId: string | null };

type Signalled = { abortSignal: AbortSignal };
/**
 * The calls portlab makes, as dockerode runs them: every one takes an abortSignal option, which it turns into the
 * HTTP request's signal (docker-modem), though dockerode's typings do not list it.
 */
interface SignalledDocker {
  version(opts: Signalled): Promise<Docker.DockerVersion>;
  info(opts: Signalled): Promise<{ ID: string; ServerVersion: string; KernelVersion: string }>;
  ping(opts: Signalled): Promise<unknown>;
  listContainers(opts: Docker.ContainerListOptions & Signalled): Promise<Docker.ContainerInfo[]>;
  listNetworks(opts: Docker.NetworkListOptions & Signalled): Promise<Docker.NetworkInspectInfo[]>;
  createNetwork(opts: Docker.NetworkCreateOptions & Signalled): Promise<Docker.Network>;
  getImage(name: string): { inspect(opts: Signalled): Promise<Docker.ImageInspectInfo> };
  getNetwork(id: string): { remove(opts: Signalled): Promise<unknown> };
  listNodes(opts: Signalled): Promise<
    Array<{
      ID: string;
      Description?: { Hostname?: string };
      Spec?: { Role?: string; Availability?: string; Labels?: Record<string, string> };
      Status?: { State?: string };
    }>
  >;
  listServices(
    opts: { filters: Record<string, string[]> } & Signalled,
  ): Promise<Array<{ ID: string; Spec?: { Name?: string; Labels?: Record<string, string> } }>>;
  listTasks(opts: { filters: Record<string, string[]> } & Signalled): Promise<RawTask[]>;
  createService(opts: Record<string, unknown> & Signalled): Promise<{ id: string }>;
  getService(id: string): {
    remove(opts: Signalled): Promise<unknown>;
    inspect(opts: Signalled): Promise<{ Version: { Index: number }; Spec: Record<string, unknown> }>;
    update(opts: Record<string, unknown> & Signalled): Promise<unknown>;
  };
  getContainer(id: string): {
    start(opts: Signalled): Promise<unknown>;
    kill(opts: { signal: string } & Signalled): Promise<unknown>;
    stop(opts: { t: number } & Signalled): Promise<unknown>;
    wait(opts: Signalled): Promise<{ StatusCode: number }>;
    remove(opts: { force: boolean; v: boolean } & Signalled): Promise<unknown>;
    logs(opts: { stdout: boolean; stderr: boolean; follow: false } & Signalled): Promise<Buffer>;
  };
}

type RawTask = {
  ID: string;
  ServiceID: string;
  Slot?: number;
  NodeID?: string;
  DesiredState?: string;
  Status?: { State?: string; Err?: string; ContainerStatus?: { ContainerID?: string; ExitCode?: number } };
};

/**
 * The one place that talks to the Docker Engine API. One method per operation, each failure an EngineError
 * that names the operation and its target.
 */
export class DockerEngine {
  private readonly docker: Docker;
  /** The same client, typed with the abortSignal option every call takes. */
  private readonly api: SignalledDocker;
  private readonly timeoutMs: number;

  constructor(docker = new Docker(), options: { timeoutMs?: number } = {}) {
    this.docker = docker;
    this.api = docker as unknown as SignalledDocker;
    this.timeoutMs = options.timeoutMs ?? ENGINE_CALL_TIMEOUT_MS;
  }

  /**
   * One engine call with a deadline: the request is aborted after `timeoutMs` (a hung daemon is one line, exit 3),
   * or when `interrupt` fires (Ctrl-C before the run started). Any other failure goes to `onError`.
   */
  private async call<T>(
    what: string,
    run: (signal: AbortSignal) => Promise<T>,
    onError: (error: unknown) => T | Promise<T>,
    options: { timeoutMs?: number; interrupt?: AbortSignal } = {},
  ): Promise<T> {
    const timeoutMs = options.timeoutMs ?? this.timeoutMs;
    const deadline = AbortSignal.timeout(timeoutMs);
    const signal = options.interrupt ? AbortSignal.any([deadline, options.interrupt]) : deadline;
    try {
      return await run(signal);
    } catch (error) {
      if (options.interrupt?.aborted) throw new InterruptedError(what);
      if (deadline.aborted) {
        throw new EngineHungError(`${this.describe()} did not answer ${what} within ${Math.round(timeoutMs / 1000)} s (is dockerd hung?)`);
      }
      return onError(error);
    }
  }

  /** Whether the daemon answers at all, within a few seconds. */
  async ping(): Promise<boolean> {
    return this.call(
      'a ping',
      async (abortSignal) => {
        await this.api.ping({ abortSignal });
        return true;
      },
      () => false,
      { timeoutMs: Math.min(this.timeoutMs, 10_000) },
    ).catch(() => false);
  }

  describe(): string {
    const host = process.env.DOCKER_HOST;
    return host ? `the Docker engine at ${host}` : 'the Docker engine at /var/run/docker.sock';
  }

  async version(): Promise<EngineVersion> {
    return this.call(
      'a version request',
      async (abortSignal) => {
        const version = await this.api.version({ abortSignal });
        return { dockerVersion: version.Version, apiVersion: version.ApiVersion, kernelVersion: version.KernelVersion, os: version.Os };
      },
      (error) => {
        throw new EngineUnavailableError(`cannot reach ${this.describe()} (is dockerd running?)`, { cause: error });
      },
    );
  }

  /** Which engine this is, as far as its limits go: the daemon's id, its version and the host's kernel (asked once). */
  identity(): Promise<string> {
    this.identityAsked ??= this.askIdentity().catch((error: unknown) => {
      this.identityAsked = undefined;
      throw error;
    });
    return this.identityAsked;
  }

  private identityAsked: Promise<string> | undefined;

  private async askIdentity(): Promise<string> {
    return this.call(
      'an info request',
      async (abortSignal) => {
        const info = await this.api.info({ abortSignal });
        return `${info.ID} docker ${info.ServerVersion} kernel ${info.KernelVersion}`;
      },
      (error) => {
        throw new EngineUnavailableError(`cannot reach ${this.describe()} (is dockerd running?)`, { cause: error });
      },
    );
  }

  async imageExists(tag: string, interrupt?: AbortSignal): Promise<boolean> {
    return this.call(
      `an inspection of image ${tag}`,
      async (abortSignal) => {
        await this.api.getImage(tag).inspect({ abortSignal });
        return true;
      },
      (error) => {
        if ((error as { statusCode?: number }).statusCode === 404) return false;
        throw new EngineError(`inspecting image ${tag}`, { cause: error });
      },
      { interrupt },
    );
  }

  /** Builds an image from files in `context`; no base image is pulled (the Dockerfile starts FROM scratch). */
  async buildImage(context: string, files: string[], tag: string, labels: Record<string, string>, interrupt?: AbortSignal): Promise<void> {
    return this.call(
      `the build of image ${tag}`,
      async (abortSignal) => {
        const options = { t: tag, labels, rm: true, forcerm: true, abortSignal } as Docker.ImageBuildOptions;
        const stream = await this.docker.buildImage({ context, src: files }, options);
        const output = await new Promise<Array<{ error?: string; stream?: string }>>((resolve, reject) => {
          abortSignal.addEventListener('abort', () => reject(abortSignal.reason), { once: true });
          this.docker.modem.followProgress(stream, (error: Error | null, result: Array<{ error?: string }>) =>
            error ? reject(error) : resolve(result),
          );
        });
        const failure = output.find((entry) => entry.error);
        if (failure) throw new Error(failure.error);
      },
      (error) => {
        throw new EngineError(`building image ${tag} from ${context}`, { cause: error });
      },
      { timeoutMs: BUILD_TIMEOUT_MS, interrupt },
    );
  }

  /** A bridge network on this engine, or an attachable overlay network across a swarm. */
  /**
   * Tags a local image as `<registry>/<name>:<tag>` and pushes it there (no credentials: a registry every node can
   * pull from without login, or one the daemon is already logged in to). Returns the pushed reference.
   */
  async pushImage(image: string, registry: string, interrupt?: AbortSignal): Promise<string> {
    const [name, tag = 'latest'] = image.split(':');
    const repo = `${registry}/${name}`;
    return this.call(
      `the push of ${image} to ${registry}`,
      async (abortSignal) => {
        await this.docker.getImage(image).tag({ repo, tag, abortSignal } as unknown as { repo: string; tag: string });
        // The daemon wants an X-Registry-Auth header even with no credentials: an empty one, as the docker CLI sends.
        const stream = await this.docker
          .getImage(`${repo}:${tag}`)
          .push({ authconfig: {}, abortSignal } as unknown as Record<string, unknown>);
        const output = await new Promise<Array<{ error?: string }>>((resolve, reject) => {
          abortSignal.addEventListener('abort', () => reject(abortSignal.reason), { once: true });
          this.docker.modem.followProgress(stream, (error: Error | null, result: Array<{ error?: string }>) =>
            error ? reject(error) : resolve(result),
          );
        });
        const failure = output.find((entry) => entry.error);
        if (failure) throw new Error(failure.error);
        return `${repo}:${tag}`;
      },
      (error) => {
        throw new EngineError(`pushing ${image} to ${registry}`, { cause: error });
      },
      { timeoutMs: BUILD_TIMEOUT_MS, interrupt },
    );
  }

  async createNetwork(
    name: string,
    labels: Record<string, string>,
    driver: 'bridge' | 'overlay' = 'bridge',
    internal = false,
  ): Promise<string> {
    return this.call(
      `the creation of network ${name}`,
      async (abortSignal) =>
        (
          await this.api.createNetwork({
            Name: name,
            Driver: driver,
            Internal: internal,
            Attachable: driver === 'overlay',
            Labels: labels,
            CheckDuplicate: true,
            abortSignal,
          })
        ).id,
      (error) => {
        throw new EngineError(`creating network ${name}`, { cause: error });
      },
    );
  }

  async createContainer(spec: ContainerSpec, interrupt?: AbortSignal): Promise<string> {
    return this.call(
      `the creation of container ${spec.name}`,
      (abortSignal) => this.createContainerNow(spec, abortSignal),
      (error) => {
        throw new EngineError(`creating container ${spec.name}`, { cause: error });
      },
      { interrupt },
    );
  }

  private async createContainerNow(spec: ContainerSpec, abortSignal: AbortSignal): Promise<string> {
    const container = await this.docker.createContainer({
      abortSignal,
      name: spec.name,
      Image: spec.image,
      Cmd: spec.command,
      Env: spec.env,
      Labels: spec.labels,
      HostConfig: {
        NetworkMode: spec.networkMode ?? spec.network,
        Ulimits: spec.nofile ? [{ Name: 'nofile', Soft: spec.nofile.soft, Hard: spec.nofile.hard }] : undefined,
        Sysctls: spec.sysctls,
        CapAdd: spec.capAdd,
        LogConfig: { Type: 'json-file', Config: {} },
      },
      NetworkingConfig: spec.networkMode ? undefined : { EndpointsConfig: { [spec.network]: { Aliases: [spec.alias] } } },
      ...(spec.stop ? { StopSignal: spec.stop.signal, StopTimeout: spec.stop.graceSeconds } : {}),
    });
    debug('created %s (%s)', spec.name, container.id.slice(0, 12));
    return container.id;
  }

  async startContainer(id: string, name: string, interrupt?: AbortSignal): Promise<void> {
    return this.call(
      `the start of container ${name}`,
      async (abortSignal) => {
        await this.api.getContainer(id).start({ abortSignal });
      },
      (error) => {
        throw new EngineError(`starting container ${name}`, { cause: error });
      },
      { interrupt },
    );
  }

  /** Its stop signal, then SIGKILL after `graceSeconds`; a container already stopped is fine. */
  async stopContainer(id: string, name: string, graceSeconds: number): Promise<void> {
    return this.call(
      `the stop of container ${name}`,
      async (abortSignal) => {
        await this.api.getContainer(id).stop({ t: graceSeconds, abortSignal });
      },
      (error) => {
        const status = (error as { statusCode?: number }).statusCode;
        if (status === 304 || status === 404) return;
        throw new EngineError(`stopping container ${name}`, { cause: error });
      },
      { timeoutMs: graceSeconds * 1000 + this.timeoutMs },
    );
  }

  /** Sends a signal to a container's main process (the probe passes SIGTERM on to its workers); one already gone is fine. */
  async signalContainer(id: string, name: string, signal: 'SIGTERM' | 'SIGKILL' | 'SIGUSR2'): Promise<void> {
    return this.call(
      `a ${signal} to container ${name}`,
      async (abortSignal) => {
        await this.api.getContainer(id).kill({ signal, abortSignal });
      },
      (error) => {
        const status = (error as { statusCode?: number }).statusCode;
        if (status === 404 || status === 409) return;
        throw new EngineError(`signalling container ${name}`, { cause: error });
      },
    );
  }

  /** Waits for a container that exits by itself (preflight's probes take milliseconds). */
  async waitContainer(id: string, name: string, interrupt?: AbortSignal): Promise<number> {
    return this.call(
      `the end of container ${name}`,
      async (abortSignal) => (await this.api.getContainer(id).wait({ abortSignal })).StatusCode,
      (error) => {
        throw new EngineError(`waiting for container ${name}`, { cause: error });
      },
      { interrupt },
    );
  }

  /**
   * Follows a container's output from its start, calling `onLine` with each complete stdout line; resolves
   * when the container's output ends (it exited). stderr lines go to `onStderr`.
   */
  async followLogs(id: string, name: string, onLine: (line: string) => void, onStderr: (line: string) => void = () => {}): Promise<void> {
    let stream: NodeJS.ReadableStream;
    try {
      stream = await this.docker.getContainer(id).logs({ follow: true, stdout: true, stderr: true, timestamps: false });
    } catch (error) {
      throw new EngineError(`following the logs of ${name}`, { cause: error });
    }
    const stdout = new PassThrough();
    const stderr = new PassThrough();
    this.docker.modem.demuxStream(stream, stdout, stderr);
    const lines = (sink: (line: string) => void) => {
      let rest = '';
      return (chunk: Buffer) => {
        rest += chunk.toString('utf8');
        const parts = rest.split('\n');
        rest = parts.pop() ?? '';
        for (const part of parts) if (part) sink(part);
      };
    };
    stdout.on('data', lines(onLine));
    stderr.on('data', lines(onStderr));
    await new Promise<void>((resolve, reject) => {
      stream.on('end', resolve);
      stream.on('close', resolve);
      stream.on('error', (error) => reject(new EngineError(`reading the logs of ${name}`, { cause: error })));
    });
  }

  /** Runs a container to completion and returns its stdout; the container is removed either way. */
  async runToCompletion(spec: ContainerSpec, interrupt?: AbortSignal): Promise<string> {
    const id = await this.createContainer(spec, interrupt);
    try {
      await this.startContainer(id, spec.name, interrupt);
      await this.waitContainer(id, spec.name, interrupt);
      return await this.call(
        `the output of container ${spec.name}`,
        async (abortSignal) =>
          demuxBuffer(await this.api.getContainer(id).logs({ stdout: true, stderr: false, follow: false, abortSignal })),
        (error) => {
          throw new EngineError(`reading the output of ${spec.name}`, { cause: error });
        },
        { interrupt },
      );
    } finally {
      await this.removeContainer(id, spec.name);
    }
  }

  async removeContainer(id: string, name: string): Promise<void> {
    return this.removal('container', name, (abortSignal) => this.api.getContainer(id).remove({ force: true, v: true, abortSignal }));
  }

  async removeNetwork(id: string, name: string): Promise<void> {
    return this.removal('network', name, (abortSignal) => this.api.getNetwork(id).remove({ abortSignal }));
  }

  /** A removal: one already gone (404) is fine. */
  private async removal(kind: string, name: string, remove: (abortSignal: AbortSignal) => Promise<unknown>): Promise<void> {
    return this.call(
      `the removal of ${kind} ${name}`,
      async (abortSignal) => {
        await remove(abortSignal);
        debug('removed %s %s', kind, name);
      },
      (error) => {
        if ((error as { statusCode?: number }).statusCode === 404) return;
        throw new EngineError(`removing ${kind} ${name}`, { cause: error });
      },
    );
  }

  /** Whether this engine is a swarm node, and a manager (services are created through managers only). */
  async swarmState(): Promise<SwarmState> {
    return this.call(
      'an info request',
      async (abortSignal) => {
        const info = (await this.api.info({ abortSignal })) as unknown as {
          Swarm?: { LocalNodeState?: string; ControlAvailable?: boolean; NodeID?: string; Cluster?: { ID?: string } };
        };
        const swarm = info.Swarm ?? {};
        return {
          active: swarm.LocalNodeState === 'active',
          manager: swarm.ControlAvailable === true,
          nodeId: swarm.NodeID ?? '',
          clusterId: swarm.Cluster?.ID ?? null,
        };
      },
      (error) => {
        throw new EngineUnavailableError(`cannot reach ${this.describe()} (is dockerd running?)`, { cause: error });
      },
    );
  }

  async listNodes(): Promise<SwarmNode[]> {
    return this.call(
      'a list of swarm nodes',
      async (abortSignal) =>
        (await this.api.listNodes({ abortSignal })).map((node) => ({
          id: node.ID,
          hostname: node.Description?.Hostname ?? node.ID,
          role: node.Spec?.Role ?? 'worker',
          ready: node.Status?.State === 'ready',
          active: (node.Spec?.Availability ?? 'active') === 'active',
          labels: node.Spec?.Labels ?? {},
        })),
      (error) => {
        throw new EngineError("listing the swarm's nodes", { cause: error });
      },
    );
  }

  async createService(spec: ServiceSpec, interrupt?: AbortSignal): Promise<string> {
    return this.call(
      `the creation of service ${spec.name}`,
      async (abortSignal) => {
        const service = await this.api.createService({ ...serviceSpecBody(spec), abortSignal });
        debug('created service %s (%s)', spec.name, service.id.slice(0, 12));
        return service.id;
      },
      (error) => {
        throw new EngineError(`creating service ${spec.name}`, { cause: error });
      },
      { interrupt },
    );
  }

  /** Sets a replicated service's replicas; 0 stops its tasks the swarm's way (stop signal, then the grace period). */
  async scaleService(id: string, name: string, replicas: number): Promise<void> {
    return this.call(
      `the scaling of service ${name}`,
      async (abortSignal) => {
        const service = this.api.getService(id);
        const current = await service.inspect({ abortSignal });
        await service.update({
          ...current.Spec,
          version: current.Version.Index,
          Mode: { Replicated: { Replicas: replicas } },
          abortSignal,
        });
      },
      (error) => {
        if ((error as { statusCode?: number }).statusCode === 404) return;
        throw new EngineError(`scaling service ${name}`, { cause: error });
      },
    );
  }

  async removeService(id: string, name: string): Promise<void> {
    return this.removal('service', name, (abortSignal) => this.api.getService(id).remove({ abortSignal }));
  }

  async listServices(labels: LabelFilter): Promise<Array<{ id: string; name: string; labels: Record<string, string> }>> {
    return this.call(
      'a list of services',
      async (abortSignal) =>
        (await this.api.listServices({ filters: { label: labelFilters(labels) }, abortSignal })).map((service) => ({
          id: service.ID,
          name: service.Spec?.Name ?? service.ID,
          labels: service.Spec?.Labels ?? {},
        })),
      (error) => {
        throw new EngineError(`listing services labelled ${labelFilters(labels).join(', ')}`, { cause: error });
      },
    );
  }

  /** What a finished service printed on stdout, per task (its lines, in order). */
  async serviceOutput(id: string, name: string): Promise<Map<string, string[]>> {
    return this.call(
      `the output of service ${name}`,
      async (abortSignal) => {
        const raw = (await this.docker.getService(id).logs({
          follow: false,
          stdout: true,
          stderr: false,
          details: true,
          abortSignal,
        } as unknown as Docker.ContainerLogsOptions)) as unknown as Buffer;
        const byTask = new Map<string, string[]>();
        for (const line of demuxBuffer(Buffer.from(raw)).split('\n')) {
          const parsed = taskLine(line);
          if (parsed) byTask.set(parsed.task, [...(byTask.get(parsed.task) ?? []), parsed.text]);
        }
        return byTask;
      },
      (error) => {
        throw new EngineError(`reading the output of service ${name}`, { cause: error });
      },
    );
  }

  /**
   * The tasks of the services named by id. Every task is listed and the services' picked out: a filter naming a
   * service that was just removed fails, while its tasks are still going down.
   */
  async listTasks(services: string[]): Promise<SwarmTask[]> {
    if (services.length === 0) return [];
    const wanted = new Set(services);
    return this.call(
      'a list of tasks',
      async (abortSignal) =>
        (await this.api.listTasks({ filters: {}, abortSignal }))
          .filter((task) => wanted.has(task.ServiceID))
          .map((task) => ({
            id: task.ID,
            serviceId: task.ServiceID,
            slot: task.Slot ?? null,
            nodeId: task.NodeID ?? '',
            state: task.Status?.State ?? 'new',
            desiredState: task.DesiredState ?? '',
            error: task.Status?.Err || null,
            containerId: task.Status?.ContainerStatus?.ContainerID || null,
            exitCode: task.Status?.ContainerStatus?.ExitCode ?? null,
          })),
      (error) => {
        throw new EngineError("listing the swarm's tasks", { cause: error });
      },
    );
  }

  /**
   * Follows a service's output through the swarm's log API, from every task on every node: `onLine(taskId, line)`
   * for each complete stdout line. Returns a function that stops following. The stream does not end when a task
   * does: the swarm's task states tell that.
   */
  async followServiceLogs(id: string, name: string, onLine: (task: string, line: string) => void): Promise<() => void> {
    const abort = new AbortController();
    let stream: NodeJS.ReadableStream;
    try {
      stream = (await this.docker.getService(id).logs({
        follow: true,
        stdout: true,
        stderr: false,
        details: true,
        abortSignal: abort.signal,
      } as unknown as Docker.ContainerLogsOptions)) as unknown as NodeJS.ReadableStream;
    } catch (error) {
      throw new EngineError(`following the logs of service ${name}`, { cause: error });
    }
    const stdout = new PassThrough();
    this.docker.modem.demuxStream(stream, stdout, new PassThrough());
    // With details, each line starts with the task's attributes: com.docker.swarm.node.id=...,...task.id=<id> <line>
    let partial = '';
    stdout.on('data', (chunk: Buffer) => {
      partial += chunk.toString('utf8');
      const lines = partial.split('\n');
      partial = lines.pop() ?? '';
      for (const line of lines) {
        const parsed = taskLine(line);
        if (parsed) onLine(parsed.task, parsed.text);
      }
    });
    stream.on('error', (error) => debug('log stream of service %s: %s', name, error));
    return () => {
      abort.abort();
      (stream as unknown as { destroy?: () => void }).destroy?.();
    };
  }

  async listContainers(labels: LabelFilter): Promise<Array<{ id: string; name: string; labels: Record<string, string> }>> {
    return this.call(
      'a list of containers',
      async (abortSignal) => {
        const found = await this.api.listContainers({ all: true, filters: { label: labelFilters(labels) }, abortSignal });
        return found.map((entry) => ({ id: entry.Id, name: (entry.Names[0] ?? entry.Id).replace(/^\//, ''), labels: entry.Labels }));
      },
      (error) => {
        throw new EngineError(`listing containers labelled ${labelFilters(labels).join(', ')}`, { cause: error });
      },
    );
  }

  async listNetworks(labels: LabelFilter): Promise<Array<{ id: string; name: string; labels: Record<string, string> }>> {
    return this.call(
      'a list of networks',
      async (abortSignal) => {
        const found = await this.api.listNetworks({ filters: { label: labelFilters(labels) }, abortSignal });
        return found.map((entry) => ({ id: entry.Id, name: entry.Name, labels: entry.Labels ?? {} }));
      },
      (error) => {
        throw new EngineError(`listing networks labelled ${labelFilters(labels).join(', ')}`, { cause: error });
      },
    );
  }
}

/** The Engine API's ServiceSpec for a portlab service (Engine API 1.41: sysctls, ulimits and capabilities on services). */
export function serviceSpecBody(spec: ServiceSpec): Record<string, unknown> {
  const placement =
    (spec.constraints?.length ?? 0) > 0 || spec.maxPerNode !== undefined
      ? {
          ...(spec.constraints?.length ? { Constraints: spec.constraints } : {}),
          ...(spec.maxPerNode !== undefined ? { MaxReplicas: spec.maxPerNode } : {}),
        }
      : undefined;
  return {
    Name: spec.name,
    Labels: spec.labels,
    TaskTemplate: {
      ContainerSpec: {
        Image: spec.image,
        Args: spec.command,
        Labels: spec.containerLabels,
        ...(spec.stop ? { StopSignal: spec.stop.signal, StopGracePeriod: spec.stop.graceSeconds * 1_000_000_000 } : {}),
        ...(spec.nofile ? { Ulimits: [{ Name: 'nofile', Soft: spec.nofile.soft, Hard: spec.nofile.hard }] } : {}),
        ...(spec.sysctls && Object.keys(spec.sysctls).length > 0 ? { Sysctls: spec.sysctls } : {}),
        ...(spec.capAdd?.length ? { CapabilityAdd: spec.capAdd.map((cap) => (cap.startsWith('CAP_') ? cap : `CAP_${cap}`)) } : {}),
      },
      // A probe runs once: the swarm never starts a finished or failed task again.
      RestartPolicy: { Condition: 'none', MaxAttempts: 0 },
      ...(placement ? { Placement: placement } : {}),
      Networks: spec.network === 'host' ? [{ Target: 'host' }] : [{ Target: spec.network.id, Aliases: [spec.network.alias] }],
      LogDriver: { Name: 'json-file' },
    },
    Mode: spec.mode === 'global' ? { Global: {} } : { Replicated: { Replicas: spec.mode.replicas } },
    // dnsrr: the service's name resolves to its tasks' own addresses. The default (VIP) sends every connection
    // through IPVS, which masquerades the clients behind one address: never measured through by accident.
    ...(spec.network === 'host' ? {} : { EndpointSpec: { Mode: 'dnsrr' } }),
  };
}

/** A line of a service's logs with details: "<attributes> <text>", the attributes naming the task. */
export function taskLine(line: string): { task: string; text: string } | null {
  const space = line.indexOf(' ');
  if (space < 0) return null;
  const task = /com\.docker\.swarm\.task\.id=([a-z0-9]+)/.exec(line.slice(0, space))?.[1];
  const text = line.slice(space + 1);
  return task && text ? { task, text } : null;
}

const labelFilters = (labels: LabelFilter) => Object.entries(labels).map(([key, value]) => `${key}=${value}`);

/** Non-follow logs of a container without a TTY come as one multiplexed buffer: 8-byte frame headers. */
function demuxBuffer(buffer: Buffer): string {
  let out = '';
  for (let at = 0; at + 8 <= buffer.length;) {
    const size = buffer.readUInt32BE(at + 4);
    if (buffer[at] === 1) out += buffer.subarray(at + 8, at + 8 + size).toString('utf8');
    at += 8 + size;
  }
  return out;
}
