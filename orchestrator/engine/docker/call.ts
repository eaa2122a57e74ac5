import createDebug from 'debug';
import type Docker from 'dockerode';
import { EngineHungError, InterruptedError, removalFailure } from '../errors.ts';

export const debug = createDebug('portlab:engine');

/** How long one engine call may take before portlab gives up on the daemon (override: PORTLAB_ENGINE_TIMEOUT_MS). */
export const ENGINE_CALL_TIMEOUT_MS =
  Number(process.env.PORTLAB_ENGINE_TIMEOUT_MS) > 0 ? Number(process.env.PORTLAB_ENGINE_TIMEOUT_MS) : 30_000;

export type Signalled = { abortSignal: AbortSignal };

/**
 * The calls portlab makes, as dockerode runs them: every one takes an abortSignal option, which it turns into the
 * HTTP request's signal (docker-modem), though dockerode's typings do not list it. The one cast from dockerode's
 * own types is in `signalled`.
 */
export interface SignalledDocker {
  version(opts: Signalled): Promise<Docker.DockerVersion>;
  info(opts: Signalled): Promise<RawInfo>;
  ping(opts: Signalled): Promise<unknown>;
  listContainers(opts: Docker.ContainerListOptions & Signalled): Promise<Docker.ContainerInfo[]>;
  createContainer(opts: Docker.ContainerCreateOptions & Signalled): Promise<{ id: string }>;
  listNetworks(opts: Docker.NetworkListOptions & Signalled): Promise<Docker.NetworkInspectInfo[]>;
  createNetwork(opts: Docker.NetworkCreateOptions & Signalled): Promise<{ id: string }>;
  buildImage(context: { context: string; src: string[] }, opts: Docker.ImageBuildOptions & Signalled): Promise<NodeJS.ReadableStream>;
  pull(reference: string, opts: Signalled): Promise<NodeJS.ReadableStream>;
  listImages(opts: Docker.ListImagesOptions & Signalled): Promise<Docker.ImageInfo[]>;
  getImage(name: string): {
    inspect(opts: Signalled): Promise<Docker.ImageInspectInfo>;
    tag(opts: { repo: string; tag: string } & Signalled): Promise<unknown>;
    push(opts: { authconfig: Record<string, never> } & Signalled): Promise<NodeJS.ReadableStream>;
  };
  getNetwork(id: string): { remove(opts: Signalled): Promise<unknown> };
  listNodes(opts: Signalled): Promise<RawNode[]>;
  createConfig(opts: { Name: string; Labels: Record<string, string>; Data: string } & Signalled): Promise<{ id: string }>;
  listConfigs(opts: { filters: Record<string, string[]> } & Signalled): Promise<RawConfig[]>;
  getConfig(id: string): { remove(opts: Signalled): Promise<unknown> };
  listServices(opts: { filters: Record<string, string[]> } & Signalled): Promise<RawService[]>;
  listTasks(opts: { filters: Record<string, string[]> } & Signalled): Promise<RawTask[]>;
  createService(opts: Record<string, unknown> & Signalled): Promise<{ id: string }>;
  getService(id: string): {
    remove(opts: Signalled): Promise<unknown>;
    inspect(opts: Signalled): Promise<{ Version: { Index: number }; Spec: Record<string, unknown> }>;
    update(opts: Record<string, unknown> & Signalled): Promise<unknown>;
    logs(opts: ServiceLogOptions & { follow: true }): Promise<NodeJS.ReadableStream>;
    logs(opts: ServiceLogOptions & { follow: false }): Promise<Buffer>;
  };
  getContainer(id: string): {
    inspect(opts: Signalled): Promise<Docker.ContainerInspectInfo>;
    start(opts: Signalled): Promise<unknown>;
    kill(opts: { signal: string } & Signalled): Promise<unknown>;
    stop(opts: { t: number } & Signalled): Promise<unknown>;
    wait(opts: Signalled): Promise<{ StatusCode: number }>;
    remove(opts: { force: boolean; v: boolean } & Signalled): Promise<unknown>;
    logs(opts: { stdout: boolean; stderr: boolean; follow: false } & Signalled): Promise<Buffer>;
    logs(opts: { stdout: boolean; stderr: boolean; follow: true; timestamps: boolean }): Promise<NodeJS.ReadableStream>;
  };
  modem: Docker['modem'];
}

type ServiceLogOptions = { stdout: boolean; stderr: boolean; details: boolean } & Signalled;
export type RawInfo = {
  ID: string;
  ServerVersion: string;
  KernelVersion: string;
  Swarm?: { LocalNodeState?: string; ControlAvailable?: boolean; NodeID?: string; Cluster?: { ID?: string } };
};
export type RawNode = {
  ID: string;
  Description?: { Hostname?: string };
  Spec?: { Role?: string; Availability?: string; Labels?: Record<string, string> };
  Status?: { State?: string };
};
export type RawConfig = { ID: string; Spec?: { Name?: string; Labels?: Record<string, string> } };
export type RawService = { ID: string; Spec?: { Name?: string; Labels?: Record<string, string> } };
export type RawTask = {
  ID: string;
  ServiceID: string;
  Slot?: number;
  NodeID?: string;
  DesiredState?: string;
  Status?: { State?: string; Err?: string; ContainerStatus?: { ContainerID?: string; ExitCode?: number } };
};

/** dockerode, typed with the abortSignal option every call takes. */
export const signalled = (docker: Docker): SignalledDocker => docker as unknown as SignalledDocker;

export type CallOptions = { timeoutMs?: number; interrupt?: AbortSignal };

/**
 * One engine call with a deadline: the request is aborted after the timeout (a hung daemon is one line, exit 3), or
 * when `interrupt` fires (Ctrl-C before the run started). Any other failure goes to `onError`. The one call wrapper
 * every client uses.
 */
export type EngineCall = <T>(
  what: string,
  run: (signal: AbortSignal) => Promise<T>,
  onError: (error: unknown) => T | Promise<T>,
  options?: CallOptions,
) => Promise<T>;

/**
 * How an engine has answered so far: its slowest answered call. An engine that is slow but answers (a VM under
 * QEMU's TCG starts a container in seconds, and in tens of seconds beside another) is waited for in proportion: a
 * call's deadline is the default or SLOW_ENGINE_FACTOR times that slowest answer, whichever is longer.
 */
export type EnginePace = { slowestMs: number; slowestWhat: string };

/** How many times its slowest answer so far a call of a slow engine is waited for, and at most how long. */
export const SLOW_ENGINE_FACTOR = 10;
const SLOW_ENGINE_MOST_MS = 600_000;

/** The deadline of a call with no deadline of its own, on an engine that has answered at `pace`. */
export const paceDeadlineMs = (defaultTimeoutMs: number, pace: EnginePace): number =>
  Math.max(defaultTimeoutMs, Math.min(SLOW_ENGINE_MOST_MS, SLOW_ENGINE_FACTOR * pace.slowestMs));

export function engineCall(
  describe: () => string,
  defaultTimeoutMs: number,
  pace: EnginePace = { slowestMs: 0, slowestWhat: '' },
): EngineCall {
  return async (what, run, onError, options = {}) => {
    const timeoutMs = options.timeoutMs ?? paceDeadlineMs(defaultTimeoutMs, pace);
    const deadline = AbortSignal.timeout(timeoutMs);
    const signal = options.interrupt ? AbortSignal.any([deadline, options.interrupt]) : deadline;
    const started = Date.now();
    try {
      const answered = await run(signal);
      // Calls with a deadline of their own (a build, a stop's grace) wait on purpose: not the engine's pace.
      const took = Date.now() - started;
      if (options.timeoutMs === undefined && took > pace.slowestMs) Object.assign(pace, { slowestMs: took, slowestWhat: what });
      return answered;
    } catch (error) {
      if (options.interrupt?.aborted) throw new InterruptedError(what);
      if (deadline.aborted) {
        const slow =
          timeoutMs > defaultTimeoutMs
            ? `, ${SLOW_ENGINE_FACTOR} times its slowest answer so far (${pace.slowestWhat}: ${(pace.slowestMs / 1000).toFixed(1)} s)`
            : '';
        throw new EngineHungError(
          `${describe()} did not answer ${what} within ${Math.round(timeoutMs / 1000)} s${slow} (is dockerd hung?)`,
        );
      }
      return onError(error);
    }
  };
}

/** The HTTP status the daemon answered a failed call with, if it did. */
export const statusOf = (error: unknown): number | undefined => (error as { statusCode?: number }).statusCode;

export type LabelFilter = Record<string, string>;
export const labelFilters = (labels: LabelFilter): string[] => Object.entries(labels).map(([key, value]) => `${key}=${value}`);

/** What a list of labelled things gives back (a container's state and creation time, in seconds since the epoch, too). */
export type Labelled = { id: string; name: string; labels: Record<string, string>; state?: string; created?: number };

/** The parts of the engine every client shares: the typed API, the call wrapper, and what it is for messages. */
export type ClientContext = { api: SignalledDocker; call: EngineCall; timeoutMs: number };

/** A removal: one already gone (404) is fine. */
export async function removal(
  { call }: ClientContext,
  kind: string,
  name: string,
  remove: (abortSignal: AbortSignal) => Promise<unknown>,
): Promise<void> {
  return call(
    `the removal of ${kind} ${name}`,
    async (abortSignal) => {
      await remove(abortSignal);
      debug('removed %s %s', kind, name);
    },
    (error) => {
      if (statusOf(error) === 404) return;
      throw removalFailure(`removing ${kind} ${name}`, error);
    },
  );
}
