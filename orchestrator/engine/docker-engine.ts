import { PassThrough } from 'node:stream';
import createDebug from 'debug';
import Docker from 'dockerode';
import { EXIT } from '../cli/exit-codes.ts';

const debug = createDebug('portlab:engine');

/** An engine call that failed; keeps its cause and says which call, on what. */
export class EngineError extends Error {
  readonly exitCode = EXIT.runError;
  constructor(message: string, options?: { cause?: unknown }) {
    super(options?.cause ? `${message}: ${causeText(options.cause)}` : message, options);
    this.name = 'EngineError';
  }
}

/** The daemon cannot be reached at all, or stopped answering. */
export class EngineUnavailableError extends EngineError {
  override name = 'EngineUnavailableError';
}

/** The daemon is there but did not answer a call in time (hung): it is not started again, or second-guessed. */
export class EngineHungError extends EngineUnavailableError {
  override name = 'EngineHungError';
}

/** The user interrupted (Ctrl-C) while an engine call was under way. */
export class InterruptedError extends Error {
  readonly exitCode = 130;
  constructor(what: string) {
    super(`interrupted while ${what}`);
    this.name = 'InterruptedError';
  }
}

/** How long one engine call may take before portlab gives up on the daemon (override: PORTLAB_ENGINE_TIMEOUT_MS). */
export const ENGINE_CALL_TIMEOUT_MS = Number(process.env.PORTLAB_ENGINE_TIMEOUT_MS) > 0 ? Number(process.env.PORTLAB_ENGINE_TIMEOUT_MS) : 30_000;
/** An image build compiles nothing in the daemon (the probe is compiled before), but sends a context. */
const BUILD_TIMEOUT_MS = 5 * 60_000;

function causeText(cause: unknown): string {
  const error = cause as { json?: { message?: string }; message?: string };
  return (error?.json?.message ?? error?.message ?? String(cause)).trim();
}

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
  /** 'host' to share the host's network namespace (preflight reads the host's conntrack there). */
  networkMode?: 'host';
};

export type LabelFilter = Record<string, string>;

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
  getContainer(id: string): {
    start(opts: Signalled): Promise<unknown>;
    kill(opts: { signal: string } & Signalled): Promise<unknown>;
    stop(opts: { t: number } & Signalled): Promise<unknown>;
    wait(opts: Signalled): Promise<{ StatusCode: number }>;
    remove(opts: { force: boolean; v: boolean } & Signalled): Promise<unknown>;
    logs(opts: { stdout: boolean; stderr: boolean; follow: false } & Signalled): Promise<Buffer>;
  };
}

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

  /** Which engine this is, as far as its limits go: the daemon's id, its version and the host's kernel. */
  async identity(): Promise<string> {
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
          this.docker.modem.followProgress(stream, (error: Error | null, result: Array<{ error?: string }>) => (error ? reject(error) : resolve(result)));
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

  async createNetwork(name: string, labels: Record<string, string>): Promise<string> {
    return this.call(
      `the creation of network ${name}`,
      async (abortSignal) => (await this.api.createNetwork({ Name: name, Driver: 'bridge', Labels: labels, CheckDuplicate: true, abortSignal })).id,
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
      Labels: spec.labels,
      HostConfig: {
        NetworkMode: spec.networkMode ?? spec.network,
        Ulimits: spec.nofile ? [{ Name: 'nofile', Soft: spec.nofile.soft, Hard: spec.nofile.hard }] : undefined,
        Sysctls: spec.sysctls,
        CapAdd: spec.capAdd,
        LogConfig: { Type: 'json-file', Config: {} },
      },
      NetworkingConfig: spec.networkMode ? undefined : { EndpointsConfig: { [spec.network]: { Aliases: [spec.alias] } } },
      StopSignal: 'SIGTERM',
      StopTimeout: 10,
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

  /** SIGTERM, then SIGKILL after `graceSeconds`; a container already stopped is fine. */
  async stopContainer(id: string, name: string, graceSeconds = 10): Promise<void> {
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
  async signalContainer(id: string, name: string, signal: 'SIGTERM' | 'SIGKILL'): Promise<void> {
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
        async (abortSignal) => demuxBuffer(await this.api.getContainer(id).logs({ stdout: true, stderr: false, follow: false, abortSignal })),
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
    return this.call(
      `the removal of container ${name}`,
      async (abortSignal) => {
        await this.api.getContainer(id).remove({ force: true, v: true, abortSignal });
        debug('removed %s', name);
      },
      (error) => {
        if ((error as { statusCode?: number }).statusCode === 404) return;
        throw new EngineError(`removing container ${name}`, { cause: error });
      },
    );
  }

  async removeNetwork(id: string, name: string): Promise<void> {
    return this.call(
      `the removal of network ${name}`,
      async (abortSignal) => {
        await this.api.getNetwork(id).remove({ abortSignal });
        debug('removed network %s', name);
      },
      (error) => {
        if ((error as { statusCode?: number }).statusCode === 404) return;
        throw new EngineError(`removing network ${name}`, { cause: error });
      },
    );
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

const labelFilters = (labels: LabelFilter) => Object.entries(labels).map(([key, value]) => `${key}=${value}`);

/** Non-follow logs of a container without a TTY come as one multiplexed buffer: 8-byte frame headers. */
function demuxBuffer(buffer: Buffer): string {
  let out = '';
  for (let at = 0; at + 8 <= buffer.length; ) {
    const size = buffer.readUInt32BE(at + 4);
    if (buffer[at] === 1) out += buffer.subarray(at + 8, at + 8 + size).toString('utf8');
    at += 8 + size;
  }
  return out;
}
