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

/** The daemon cannot be reached at all. */
export class EngineUnavailableError extends EngineError {
  override name = 'EngineUnavailableError';
}

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

/**
 * The one place that talks to the Docker Engine API. One method per operation, each failure an EngineError
 * that names the operation and its target.
 */
export class DockerEngine {
  private readonly docker: Docker;

  constructor(docker = new Docker()) {
    this.docker = docker;
  }

  describe(): string {
    const host = process.env.DOCKER_HOST;
    return host ? `the Docker engine at ${host}` : 'the Docker engine at /var/run/docker.sock';
  }

  async version(): Promise<EngineVersion> {
    try {
      const version = await this.docker.version();
      return { dockerVersion: version.Version, apiVersion: version.ApiVersion, kernelVersion: version.KernelVersion, os: version.Os };
    } catch (error) {
      throw new EngineUnavailableError(`cannot reach ${this.describe()} (is dockerd running?)`, { cause: error });
    }
  }

  async imageExists(tag: string): Promise<boolean> {
    try {
      await this.docker.getImage(tag).inspect();
      return true;
    } catch (error) {
      if ((error as { statusCode?: number }).statusCode === 404) return false;
      throw new EngineError(`inspecting image ${tag}`, { cause: error });
    }
  }

  /** Builds an image from files in `context`; no base image is pulled (the Dockerfile starts FROM scratch). */
  async buildImage(context: string, files: string[], tag: string, labels: Record<string, string>): Promise<void> {
    try {
      const stream = await this.docker.buildImage({ context, src: files }, { t: tag, labels, rm: true, forcerm: true });
      const output = await new Promise<Array<{ error?: string; stream?: string }>>((resolve, reject) =>
        this.docker.modem.followProgress(stream, (error: Error | null, result: Array<{ error?: string }>) => (error ? reject(error) : resolve(result))),
      );
      const failure = output.find((entry) => entry.error);
      if (failure) throw new Error(failure.error);
    } catch (error) {
      throw new EngineError(`building image ${tag} from ${context}`, { cause: error });
    }
  }

  async createNetwork(name: string, labels: Record<string, string>): Promise<string> {
    try {
      const network = await this.docker.createNetwork({ Name: name, Driver: 'bridge', Labels: labels, CheckDuplicate: true });
      return network.id;
    } catch (error) {
      throw new EngineError(`creating network ${name}`, { cause: error });
    }
  }

  async createContainer(spec: ContainerSpec): Promise<string> {
    try {
      const container = await this.docker.createContainer({
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
    } catch (error) {
      throw new EngineError(`creating container ${spec.name}`, { cause: error });
    }
  }

  async startContainer(id: string, name: string): Promise<void> {
    try {
      await this.docker.getContainer(id).start();
    } catch (error) {
      throw new EngineError(`starting container ${name}`, { cause: error });
    }
  }

  /** SIGTERM, then SIGKILL after `graceSeconds`; a container already stopped is fine. */
  async stopContainer(id: string, name: string, graceSeconds = 10): Promise<void> {
    try {
      await this.docker.getContainer(id).stop({ t: graceSeconds });
    } catch (error) {
      const status = (error as { statusCode?: number }).statusCode;
      if (status === 304 || status === 404) return;
      throw new EngineError(`stopping container ${name}`, { cause: error });
    }
  }

  async waitContainer(id: string, name: string): Promise<number> {
    try {
      const result = (await this.docker.getContainer(id).wait()) as { StatusCode: number };
      return result.StatusCode;
    } catch (error) {
      throw new EngineError(`waiting for container ${name}`, { cause: error });
    }
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
  async runToCompletion(spec: ContainerSpec): Promise<string> {
    const id = await this.createContainer(spec);
    try {
      await this.startContainer(id, spec.name);
      await this.waitContainer(id, spec.name);
      const output = await this.docker.getContainer(id).logs({ stdout: true, stderr: false, follow: false });
      return demuxBuffer(output);
    } finally {
      await this.removeContainer(id, spec.name);
    }
  }

  async removeContainer(id: string, name: string): Promise<void> {
    try {
      await this.docker.getContainer(id).remove({ force: true, v: true });
      debug('removed %s', name);
    } catch (error) {
      if ((error as { statusCode?: number }).statusCode === 404) return;
      throw new EngineError(`removing container ${name}`, { cause: error });
    }
  }

  async removeNetwork(id: string, name: string): Promise<void> {
    try {
      await this.docker.getNetwork(id).remove();
      debug('removed network %s', name);
    } catch (error) {
      if ((error as { statusCode?: number }).statusCode === 404) return;
      throw new EngineError(`removing network ${name}`, { cause: error });
    }
  }

  async listContainers(labels: LabelFilter): Promise<Array<{ id: string; name: string; labels: Record<string, string> }>> {
    try {
      const found = await this.docker.listContainers({ all: true, filters: { label: labelFilters(labels) } });
      return found.map((entry) => ({ id: entry.Id, name: (entry.Names[0] ?? entry.Id).replace(/^\//, ''), labels: entry.Labels }));
    } catch (error) {
      throw new EngineError(`listing containers labelled ${labelFilters(labels).join(', ')}`, { cause: error });
    }
  }

  async listNetworks(labels: LabelFilter): Promise<Array<{ id: string; name: string }>> {
    try {
      const found = await this.docker.listNetworks({ filters: { label: labelFilters(labels) } });
      return found.map((entry) => ({ id: entry.Id, name: entry.Name }));
    } catch (error) {
      throw new EngineError(`listing networks labelled ${labelFilters(labels).join(', ')}`, { cause: error });
    }
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
