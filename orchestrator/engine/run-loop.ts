import createDebug from 'debug';
import { ProbeLog, type ContainerObservation } from '../observe/observation.ts';
import type { ContainerSeries } from '../observe/series.ts';
import { EngineError, InterruptedError } from './errors.ts';
import type { RunOwner } from './run-owner.ts';

const debug = createDebug('portlab:engine');

export type RunOptions = {
  runId: string;
  /** The orchestrator process this run belongs to; its labels let cleanup tell live runs from orphans. */
  owner: RunOwner;
  /** Upper bound on the run once the clients have started. */
  limitMs: number;
  /** Leave containers and network in place. */
  keep: boolean;
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

export type EndReason = 'clients-done' | 'duration' | 'failed' | 'interrupted';

/**
 * Why a run stopped short, typed where it was seen: a probe that reported a fatal error, a container that ended
 * early, one not ready in time, the engine lost, an engine call that failed, or the user's interrupt.
 */
export type RunFailure = {
  kind: 'probe-failed' | 'exited' | 'not-ready' | 'lost-engine' | 'engine-call' | 'interrupted';
  /** The container it concerns, when one does. */
  container: string | null;
  /** What happened, in words: the record's `failure` text. */
  cause: string;
};

/** A failure the loop itself detects, carried to its one catch as a type. */
class RunFailed extends EngineError {
  constructor(readonly failure: RunFailure) {
    super(failure.cause);
    this.name = 'RunFailed';
  }
}

export type RunRecord = {
  /** What removing the run's containers and network left behind (empty when all went). */
  cleanupErrors: string[];
  observations: Record<string, ContainerObservation>;
  /** How each observation's count moved, under the same names. */
  series: Record<string, ContainerSeries>;
  /** Where each container ran (a swarm node's hostname); empty on the local engine, where all run on its host. */
  nodes: Record<string, string>;
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
  /** The container's probe has ended and every line it printed was passed to `line`; `why` when the engine said. */
  exited(container: string, why?: string): void;
};

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
   * probes that wait for their go (`clientsWaitForGo`).
   */
  prepareClients(sink: ContainerSink): Promise<void>;
  /** Prepared clients' probes print `waiting` and start only when `startClients` tells them to. */
  readonly clientsWaitForGo: boolean;
  /** Every client, started (or, when they wait for it, given its go). */
  startClients(sink: ContainerSink): Promise<void>;
  /** Asks the server's probe to print its final counts and end (SIGTERM). */
  signalServer(): Promise<void>;
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
  nodes(): Record<string, string>;
}

/** How long the server may take to listen, and the clients to say they wait for their go. */
const READY_TIMEOUT_MS = 30_000;
/** After every client stopped, how long the server's accepted count must stay still before the run ends. */
const SERVER_SETTLE_MS = 2_500;
const TICK_MS = 250;
const PROGRESS_EVERY_MS = 2_000;
/** How long to wait for a stopped container's last log lines before giving up on them. */
const LOG_DRAIN_TIMEOUT_MS = 15_000;
/** How often a running experiment checks that the engine still answers (the probes' logs alone cannot tell). */
const ENGINE_CHECK_EVERY_MS = 5_000;

/** Lets a loop sleep until something happens (a probe line, an abort) or `ms` pass, whichever is first. */
class Wakeup {
  private wake: (() => void) | undefined;

  notify = (): void => {
    this.wake?.();
    this.wake = undefined;
  };

  wait(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => this.notify(), ms);
      this.wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }
}

/**
 * Runs a deployment: server, then clients; follows every container's probe lines; ends when every client has
 * stopped (or at the time limit, on a failure or an interrupt); stops the server first so its final counts are
 * recorded while the clients still hold their connections; removes everything unless told to keep it. Returns
 * what was observed as soon as the run is over, and `removed`, the same record once removal has finished (with
 * what it failed to remove).
 */
export async function runExperiment(
  deployment: Deployment,
  options: RunOptions,
): Promise<{ record: Omit<RunRecord, 'cleanupErrors'>; removed: Promise<RunRecord> }> {
  const { now } = options;
  const startedAt = new Date(now());
  const timeline: RunTimeline = {
    serverStarted: null,
    serverReady: null,
    clientsStarted: null,
    clientsDone: null,
    stopped: null,
    removed: null,
  };
  const { server: serverName, clients } = deployment.containers;
  const logs = new Map<string, ProbeLog>();
  /** Containers that ended, with what the engine said of it ('' when nothing). */
  const exited = new Map<string, string>();
  const ending = (container: string) => {
    const why = exited.get(container);
    return why ? ` (${why})` : '';
  };
  const observations = () => Object.assign({}, ...[...logs.values()].map((log) => log.snapshots())) as Record<string, ContainerObservation>;
  // Every probe line (and an abort) wakes the loops below: they react at once instead of on a fixed tick.
  const wakeup = new Wakeup();
  options.signal.addEventListener('abort', wakeup.notify, { once: true });
  const logOf = (container: string) => {
    let log = logs.get(container);
    if (!log) logs.set(container, (log = new ProbeLog(container)));
    return log;
  };
  const sink: ContainerSink = {
    created(container) {
      logOf(container);
    },
    line(container, line) {
      logOf(container).addLine(line);
      wakeup.notify();
    },
    exited(container, why) {
      exited.set(container, why ?? '');
      wakeup.notify();
    },
  };

  /** Waits until every named probe is `what`; one whose probe failed or whose container ended first fails the run. */
  const waitFor = async (names: string[], reached: (name: string) => boolean, what: string) => {
    const by = now() + READY_TIMEOUT_MS;
    for (;;) {
      if (options.signal.aborted) throw new InterruptedError(`waiting for ${names.join(', ')} to be ${what}`);
      const pending = names.filter((name) => !reached(name));
      if (pending.length === 0) return;
      const failed = pending.map((name) => observations()[name]).find((observation) => observation?.fatal.length);
      if (failed) throw probeFailed(failed);
      const gone = pending.find((name) => exited.has(name));
      if (gone)
        throw new RunFailed({ kind: 'exited', container: gone, cause: `container ${gone} exited before it was ${what}${ending(gone)}` });
      if (now() > by)
        throw new RunFailed({
          kind: 'not-ready',
          container: pending[0]!,
          cause: `${pending.join(', ')}: not ${what} after ${READY_TIMEOUT_MS / 1000}s`,
        });
      await wakeup.wait(TICK_MS);
    }
  };

  const probeFailed = (observation: ContainerObservation) =>
    new RunFailed({
      kind: 'probe-failed',
      container: observation.name,
      cause: `the probe in ${observation.name} failed: ${observation.fatal.join('; ')}`,
    });
  const lostEngine = (cause: string) =>
    new RunFailed({ kind: 'lost-engine', container: null, cause: `lost ${deployment.describe()}: ${cause}` });

  let endReason: EndReason = 'failed';
  let failedBecause: RunFailure | null = null;
  try {
    // Clients are prepared while the server starts; they start only once it listens.
    const clientsPrepared = deployment.prepareClients(sink);
    clientsPrepared.catch(() => undefined);
    await deployment.startServer(sink);
    timeline.serverStarted = now();
    await waitFor([serverName], (name) => Boolean(observations()[name]?.ready), 'ready');

    // Clients need nothing of each other, only the server listening: started together.
    timeline.serverReady = now();
    await Promise.all([clientsPrepared, options.beforeClients?.()]);
    if (deployment.clientsWaitForGo) await waitFor(clients, (name) => logs.get(name)?.waiting() ?? false, 'waiting for its go');
    await deployment.startClients(sink);
    const clientsStartedAt = now();
    timeline.clientsStarted = clientsStartedAt;
    debug('clients started');
    let lastProgress = 0;
    let lastEngineCheck = now();
    let settled: { count: number; since: number } | undefined;
    for (;;) {
      if (options.signal.aborted) throw new InterruptedError('the run was going on');
      if (now() - lastEngineCheck >= ENGINE_CHECK_EVERY_MS) {
        if (!(await deployment.ping())) throw lostEngine('it stopped answering while the run was going on');
        lastEngineCheck = now();
      }
      const snapshot = observations();
      if (now() - lastProgress >= PROGRESS_EVERY_MS) {
        options.onProgress(snapshot, now() - clientsStartedAt);
        lastProgress = now();
      }
      const fatal = Object.values(snapshot).find((observation) => observation.fatal.length > 0);
      if (fatal) throw probeFailed(fatal);
      // Probes hold their connections until they are stopped, so any exit now is a failure: the container's, or the
      // engine's when its log stream ended because the daemon went away.
      const gone = [...exited.keys()][0];
      if (gone) {
        if (!(await deployment.ping())) throw lostEngine(`the log stream of ${gone} ended and the engine does not answer`);
        throw new RunFailed({
          kind: 'exited',
          container: gone,
          cause: `container ${gone} exited while the run was going on${ending(gone)}`,
        });
      }
      if (clients.every((client) => logs.get(client)?.finished())) {
        const accepted = snapshot[serverName]?.count ?? 0;
        const held = clients
          .flatMap((client) => logs.get(client)?.counted() ?? [])
          .reduce((sum, observation) => sum + observation.count, 0);
        if (accepted === held) break;
        if (!settled || settled.count !== accepted) settled = { count: accepted, since: now() };
        else if (now() - settled.since >= SERVER_SETTLE_MS) break;
      }
      if (now() - clientsStartedAt > options.limitMs) {
        endReason = 'duration';
        break;
      }
      await wakeup.wait(TICK_MS);
    }
    if (endReason !== 'duration') endReason = 'clients-done';
    timeline.clientsDone = now();
    debug('run ended (%s) after %d ms; stopping the server, then the clients', endReason, now() - clientsStartedAt);

    // Server first: its workers print their final counts while the clients still hold their connections. When every
    // client finished, their last lines came before the run could end, so once the server's are in nothing waits for
    // a graceful stop: removal kills what is left. Clients cut by the time limit are stopped, and their last lines
    // (how far each got) read.
    const serverLog = logs.get(serverName);
    await deployment.signalServer();
    const finalLinesBy = now() + LOG_DRAIN_TIMEOUT_MS;
    while (!serverLog?.allDone() && !exited.has(serverName) && now() < finalLinesBy) await wakeup.wait(TICK_MS);
    if (options.keep || endReason === 'duration') await deployment.stopAll(LOG_DRAIN_TIMEOUT_MS);
    timeline.stopped = now();
  } catch (error) {
    failedBecause = await classifyFailure(error, options.signal, deployment);
    endReason = failedBecause.kind === 'interrupted' ? 'interrupted' : 'failed';
    await deployment.settle();
    await deployment.stopAll(LOG_DRAIN_TIMEOUT_MS).catch((stopError) => debug('stopping after failure: %s', stopError));
  }
  // What was measured is kept whatever removal does: its errors are recorded with the run, never thrown over it.
  // Removal goes on while the caller works on the record (the engine tears down, the report renders).
  const nodes = deployment.nodes();
  const removal = (options.keep ? Promise.resolve() : deployment.remove()).then(
    () => ({ cleanupErrors: [], removedAt: now() }),
    (error: Error) => ({ cleanupErrors: [error.message], removedAt: now() }),
  );
  const series = Object.assign({}, ...[...logs.values()].map((log) => log.series())) as Record<string, ContainerSeries>;
  const failure = failedBecause?.cause ?? null;
  const record = {
    observations: observations(),
    series,
    nodes,
    endReason,
    failure,
    failedBecause,
    startedAt,
    endedAt: new Date(now()),
    timeline,
  };
  return {
    record,
    removed: removal.then(({ cleanupErrors, removedAt }) => ({ ...record, cleanupErrors, timeline: { ...timeline, removed: removedAt } })),
  };
}

/**
 * What stopped a run, typed: the loop's own failures as they were thrown; an interrupt (or an abort whatever was
 * thrown then); an engine call that failed because the daemon went away (a hang-up, a refused socket) is the
 * engine lost; any other engine error an engine call's.
 */
async function classifyFailure(
  error: unknown,
  signal: AbortSignal,
  deployment: Pick<Deployment, 'ping' | 'describe'>,
): Promise<RunFailure> {
  if (error instanceof InterruptedError || signal.aborted) return { kind: 'interrupted', container: null, cause: 'interrupted' };
  const seen: RunFailure =
    error instanceof RunFailed ? error.failure : { kind: 'engine-call', container: null, cause: (error as Error).message };
  if (seen.kind !== 'lost-engine' && error instanceof EngineError && !(await deployment.ping())) {
    return { kind: 'lost-engine', container: seen.container, cause: `lost ${deployment.describe()}: ${seen.cause}` };
  }
  return seen;
}

/** Waits for `work`, or `timeoutMs`, whichever is first. */
export async function within(work: Promise<unknown>, timeoutMs: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise((resolve) => (timer = setTimeout(resolve, timeoutMs)));
  await Promise.race([work, timeout]);
  clearTimeout(timer);
}
