import { causeText, EngineError, NofileRefusedError, nofileRefusal, NprocRefusedError, nprocRefusal } from '../errors.ts';
import { debug, labelFilters, removal, statusOf, type ClientContext, type LabelFilter, type Labelled } from './call.ts';
import { demuxBuffer } from './logs.ts';

/** A container's stop signal, and how long it may take before it is killed. */
export type StopSettings = { signal: string; graceSeconds: number };

export type ContainerSpec = {
  name: string;
  image: string;
  /** Absent: the image's own command. */
  command?: string[];
  labels: Record<string, string>;
  network: string;
  /** The name other containers resolve it by on the network (its compose service name). */
  alias: string;
  nofile?: { soft: number; hard: number };
  /** Given only beside nofile: an engine that adds its own otherwise (Podman) is given the one it grants (preflight). */
  nproc?: { soft: number; hard: number };
  sysctls?: Record<string, string>;
  capAdd?: string[];
  /**
   * 'host' to share the host's network namespace (preflight reads the host's conntrack there); 'none' for a new one
   * with only lo; 'container:<id>' to share another container's (an observer).
   */
  networkMode?: 'host' | 'none' | `container:${string}`;
  /** 'container:<id>': share another container's PID namespace (an observer sees the application's processes). */
  pidMode?: `container:${string}`;
  /** Files from the host, HOST:CONTAINER:ro. */
  binds?: string[];
  /** How it is stopped (compose.base.yml's stop_signal and stop_grace_period); the engine's own default without. */
  stop?: StopSettings;
  /** Environment variables, NAME=value. */
  env?: string[];
};

/** Containers on one engine: create, start, signal, stop, wait, remove, list. */
export class Containers {
  constructor(private readonly context: ClientContext) {}

  async create(spec: ContainerSpec, interrupt?: AbortSignal): Promise<string> {
    return this.context.call(
      `the creation of container ${spec.name}`,
      async (abortSignal) => {
        const container = await this.context.api.createContainer({ ...createBody(spec), abortSignal });
        debug('created %s (%s)', spec.name, container.id.slice(0, 12));
        return container.id;
      },
      (error) => {
        throw new EngineError(`creating container ${spec.name}`, { cause: error });
      },
      { interrupt },
    );
  }

  async start(id: string, name: string, interrupt?: AbortSignal): Promise<void> {
    return this.context.call(
      `the start of container ${name}`,
      async (abortSignal) => {
        await this.context.api.getContainer(id).start({ abortSignal });
      },
      (error) => {
        const said = causeText(error);
        const refusal = nprocRefusal(said) ? NprocRefusedError : nofileRefusal(said) ? NofileRefusedError : EngineError;
        throw new refusal(`starting container ${name}`, { cause: error });
      },
      { interrupt },
    );
  }

  /** Its stop signal, then SIGKILL after `graceSeconds`; a container already stopped is fine. */
  async stop(id: string, name: string, graceSeconds: number): Promise<void> {
    return this.context.call(
      `the stop of container ${name}`,
      async (abortSignal) => {
        await this.context.api.getContainer(id).stop({ t: graceSeconds, abortSignal });
      },
      (error) => {
        const status = statusOf(error);
        if (status === 304 || status === 404) return;
        throw new EngineError(`stopping container ${name}`, { cause: error });
      },
      { timeoutMs: graceSeconds * 1000 + this.context.timeoutMs },
    );
  }

  /** Sends a signal to a container's main process (the probe passes SIGTERM on to its workers); one already gone is fine. */
  async signal(id: string, name: string, signal: 'SIGTERM' | 'SIGKILL' | 'SIGUSR2'): Promise<void> {
    return this.context.call(
      `a ${signal} to container ${name}`,
      async (abortSignal) => {
        await this.context.api.getContainer(id).kill({ signal, abortSignal });
      },
      (error) => {
        const status = statusOf(error);
        if (status === 404 || status === 409) return;
        throw new EngineError(`signalling container ${name}`, { cause: error });
      },
    );
  }

  /** Waits for a container that exits by itself (preflight's probes take milliseconds). */
  async wait(id: string, name: string, interrupt?: AbortSignal): Promise<number> {
    return this.context.call(
      `the end of container ${name}`,
      async (abortSignal) => (await this.context.api.getContainer(id).wait({ abortSignal })).StatusCode,
      (error) => {
        throw new EngineError(`waiting for container ${name}`, { cause: error });
      },
      { interrupt },
    );
  }

  /** What a container printed on stdout so far. */
  async output(id: string, name: string, interrupt?: AbortSignal): Promise<string> {
    return this.context.call(
      `the output of container ${name}`,
      async (abortSignal) =>
        demuxBuffer(await this.context.api.getContainer(id).logs({ stdout: true, stderr: false, follow: false, abortSignal })),
      (error) => {
        throw new EngineError(`reading the output of ${name}`, { cause: error });
      },
      { interrupt },
    );
  }

  /**
   * A container by name or id: its id, name, state and first process's pid as the engine's machine numbers it; null
   * when the engine has none of that name.
   */
  async find(nameOrId: string): Promise<{ id: string; name: string; running: boolean; status: string; pid: number } | null> {
    return this.context.call(
      `the container ${nameOrId}`,
      async (abortSignal) => {
        const found = await this.context.api.getContainer(nameOrId).inspect({ abortSignal });
        return {
          id: found.Id,
          name: found.Name.replace(/^\//, ''),
          running: found.State.Running,
          status: found.State.Status,
          pid: found.State.Pid,
        };
      },
      (error) => {
        if (statusOf(error) === 404) return null;
        throw new EngineError(`looking up container ${nameOrId}`, { cause: error });
      },
    );
  }

  /** Runs a container to completion and returns its stdout; the container is removed either way. */
  async runToCompletion(spec: ContainerSpec, interrupt?: AbortSignal): Promise<string> {
    const id = await this.create(spec, interrupt);
    try {
      await this.start(id, spec.name, interrupt);
      await this.wait(id, spec.name, interrupt);
      return await this.output(id, spec.name, interrupt);
    } finally {
      await this.remove(id, spec.name);
    }
  }

  async remove(id: string, name: string): Promise<void> {
    return removal(this.context, 'container', name, (abortSignal) =>
      this.context.api.getContainer(id).remove({ force: true, v: true, abortSignal }),
    );
  }

  /** The addresses of the engine's running containers on its networks (IPv4 and IPv6), each once. */
  async addresses(): Promise<string[]> {
    return this.context.call(
      "the running containers' addresses",
      async (abortSignal) => {
        const found = await this.context.api.listContainers({ abortSignal });
        const networks = found.flatMap((entry) => Object.values(entry.NetworkSettings?.Networks ?? {}));
        return [...new Set(networks.flatMap((network) => [network.IPAddress, network.GlobalIPv6Address]).filter(Boolean))];
      },
      (error) => {
        throw new EngineError("listing the running containers' addresses", { cause: error });
      },
    );
  }

  async list(labels: LabelFilter): Promise<Labelled[]> {
    return this.context.call(
      'a list of containers',
      async (abortSignal) => {
        const found = await this.context.api.listContainers({ all: true, filters: { label: labelFilters(labels) }, abortSignal });
        return found.map((entry) => ({
          id: entry.Id,
          name: (entry.Names[0] ?? entry.Id).replace(/^\//, ''),
          labels: entry.Labels,
          state: entry.State,
          created: entry.Created,
        }));
      },
      (error) => {
        throw new EngineError(`listing containers labelled ${labelFilters(labels).join(', ')}`, { cause: error });
      },
    );
  }
}

/** The Engine API's create body for a portlab container. */
function createBody(spec: ContainerSpec) {
  return {
    name: spec.name,
    Image: spec.image,
    Cmd: spec.command,
    Env: spec.env,
    Labels: spec.labels,
    HostConfig: {
      NetworkMode: spec.networkMode ?? spec.network,
      Ulimits: spec.nofile
        ? [
            { Name: 'nofile', Soft: spec.nofile.soft, Hard: spec.nofile.hard },
            ...(spec.nproc ? [{ Name: 'nproc', Soft: spec.nproc.soft, Hard: spec.nproc.hard }] : []),
          ]
        : undefined,
      Sysctls: spec.sysctls,
      CapAdd: spec.capAdd,
      PidMode: spec.pidMode,
      Binds: spec.binds,
      LogConfig: { Type: 'json-file', Config: {} },
    },
    NetworkingConfig: spec.networkMode ? undefined : { EndpointsConfig: { [spec.network]: { Aliases: [spec.alias] } } },
    ...(spec.stop ? { StopSignal: spec.stop.signal, StopTimeout: spec.stop.graceSeconds } : {}),
  };
}
