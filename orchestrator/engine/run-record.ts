import type { ApplicationEnd } from '../observe/application-end.ts';
import type { ContainerObservation } from '../observe/observation.ts';
import type { ContainerSeries } from '../observe/series.ts';
import type { AfterRun, RunOwner } from './run-owner.ts';

/* What a run on the engine is given and what it gives back, and what a deployment must do for it: the types the
   run loop (run-loop.ts), its watch (run-watch.ts) and the two deployments (run-project.ts, run-stack.ts) share. */

export type RunOptions = {
  runId: string;
  /** The orchestrator process this run belongs to; its labels let cleanup tell live runs from orphans. */
  owner: RunOwner;
  /** Upper bound on the run once the clients have started (Infinity: none; a stall limit ends it instead). */
  limitMs: number;
  /**
   * Ends the run when no container's count has moved for this long while clients are still going: for holds with
   * no duration of their own, so a fill that makes progress is never cut, however slow the machine.
   */
  stallLimitMs?: number;
  /** What becomes of the containers and network once the run ends: removed, or left in place (--keep). */
  afterRun: AfterRun;
  /** Aborted on Ctrl-C / SIGTERM. */
  signal: AbortSignal;
  /** Called about every PROGRESS_EVERY_MS with every container's observation so far. */
  onProgress: (observations: Record<string, ContainerObservation>, elapsedMs: number) => void;
  /** The run's clock (ms), the same one that stamps its result files. */
  now: () => number;
  /** Awaited once the server listens and before any client starts (preflight's conntrack reading). */
  beforeClients?: () => Promise<void>;
};

/** The steps of a run on the engine, in order; each entry is when the step ended. */
export type RunTimeline = {
  /** The network and the server container exist and the server runs. */
  serverStarted: number | null;
  /** The server listens (its ready line). */
  serverReady: number | null;
  /** Every client container runs. */
  clientsStarted: number | null;
  /** Every client finished (or the run was cut). */
  clientsDone: number | null;
  /** Every container stopped and its last lines were read. */
  stopped: number | null;
  /** Every container and the network removed (or kept). */
  removed: number | null;
};

export type EndReason = 'clients-done' | 'duration' | 'stalled' | 'failed' | 'interrupted';

/**
 * Why a run stopped short, typed where it was seen: a probe that reported a fatal error, a container that ended
 * early, one not ready in time, the engine lost, an engine call that failed, or the user's interrupt.
 */
export type RunFailure = {
  kind:
    | 'probe-failed'
    | 'exited'
    | 'nofile-refused'
    | 'lost-node'
    | 'stopped-outside'
    | 'not-ready'
    | 'lost-engine'
    | 'engine-call'
    | 'interrupted';
  /** The container it concerns, when one does. */
  container: string | null;
  /** What happened, in words: the record's `failure` text. */
  cause: string;
};

/** A swarm node: its id, which names it, and its hostname, which shows it (nodes may share one). */
export type NodeName = { id: string; hostname: string };

export type RunRecord = {
  /** What removing the run's containers and network left behind (empty when all went). */
  cleanupErrors: string[];
  observations: Record<string, ContainerObservation>;
  /** How each observation's count moved, under the same names. */
  series: Record<string, ContainerSeries>;
  /** Where each container ran (a swarm node); empty on the local engine, where all run on its host. */
  nodes: Record<string, NodeName>;
  endReason: EndReason;
  /** The failure's text, as the result shows it; null unless the run failed or was interrupted. */
  failure: string | null;
  /** The same, typed. */
  failedBecause: RunFailure | null;
  startedAt: Date;
  endedAt: Date;
  /** When each step of the run ended (ms on the run's clock); null for a step it never reached. */
  timeline: RunTimeline;
};

/** Where a deployment sends what its containers print, and when one of them has ended. */
export type ContainerSink = {
  /** The container exists (or is scheduled): it appears in the run's observations from now on. */
  created(container: string): void;
  /** A complete stdout line of the container named `container` (server, client-1, ...). */
  line(container: string, line: string): void;
  /**
   * The container's probe (or its application of the user's own) has ended and every line it printed was passed to
   * `line`; `end` when the engine said how, `application` when an application's end was the container's.
   */
  exited(container: string, end?: ContainerEnd, application?: ApplicationEnd): void;
};

/**
 * How a container ended, typed where the backend saw it: it exited, runc refused its nofile (a swarm task's error
 * says so in Docker's words, read by nofileRefusal), or the node it ran on was lost; `why` in words.
 */
export type ContainerEnd = { kind: 'exited' | 'nofile-refused' | 'lost-node'; why: string };

/**
 * How a compiled project gets onto an engine: containers on the local engine, services on a swarm. The run itself
 * (when the clients start, when it ends, what it records) is the same for both: `runExperiment`.
 */
export interface Deployment {
  /** The server and every client, by the names the prediction uses. */
  readonly containers: { server: string; clients: string[] };
  /** The network and the server, started; its lines go to the sink. */
  startServer(sink: ContainerSink): Promise<void>;
  /**
   * What can be done for the clients before the server listens: creating their containers, or starting them with
   * probes that wait for their go (`waitsForGo`).
   */
  prepareClients(sink: ContainerSink): Promise<void>;
  /** Whether a prepared client's probe prints `waiting` and starts only when `startClients` tells it to. */
  waitsForGo(client: string): boolean;
  /** Whether a container runs an application of the user's own (observed), whose end is its own and no failure. */
  runsApplication(container: string): boolean;
  /** Every client, started (or, when they wait for it, given its go). */
  startClients(sink: ContainerSink): Promise<void>;
  /**
   * Asks the server's probe to print its final counts and end (SIGTERM), or, `keep`, to print them and go on holding
   * (SIGUSR2; an application's observer says it is done and goes on looking). Only where `staysUp`.
   */
  signalServer(keep?: boolean): Promise<void>;
  /** Whether a kept run's containers can go on running after the run (the local engine's; a swarm's are stopped). */
  readonly staysUp: boolean;
  /** Stops following the containers' output and leaves them as they are (a kept run). */
  detach(): void;
  /** Stops everything gracefully; resolves once every last line was read, or after `timeoutMs`. */
  stopAll(timeoutMs: number): Promise<void>;
  /** Removes all it created; throws an EngineError naming what it could not remove. */
  remove(): Promise<void>;
  /** Waits for anything still being created, so that removal misses nothing. */
  settle(): Promise<void>;
  /** Whether the engine still answers, and how to name it. */
  ping(): Promise<boolean>;
  describe(): string;
  /** Where each container ran, once known. */
  nodes(): Record<string, NodeName>;
}
