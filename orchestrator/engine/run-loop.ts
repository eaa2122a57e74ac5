import createDebug from 'debug';
import type { ContainerObservation } from '../observe/observation.ts';
import type { Deployment, EndReason, RunFailure, RunOptions, RunRecord, RunTimeline } from './run-record.ts';
import { classifyFailure, RunWatch, TICK_MS } from './run-watch.ts';

const debug = createDebug('portlab:engine');

/** After every client stopped, how long the server's accepted count must stay still before the run ends. */
const SERVER_SETTLE_MS = 2_500;
const PROGRESS_EVERY_MS = 2_000;
/** How long to wait for a stopped container's last log lines before giving up on them. */
const LOG_DRAIN_TIMEOUT_MS = 15_000;
/** How often a running experiment checks that the engine still answers (the probes' logs alone cannot tell). */
const ENGINE_CHECK_EVERY_MS = 5_000;

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
  const watch = new RunWatch(deployment, options.signal, now);
  let endReason: EndReason;
  let failedBecause: RunFailure | null = null;
  try {
    const { clientsPrepared } = await startServer(deployment, watch, timeline, options);
    await startClients(deployment, watch, timeline, options, clientsPrepared);
    endReason = await watchUntilDone(deployment, watch, options, timeline.clientsStarted!);
    timeline.clientsDone = now();
    debug('run ended (%s) after %d ms; stopping the server, then the clients', endReason, now() - timeline.clientsStarted!);
    await stopInOrder(deployment, watch, options, endReason);
    timeline.stopped = now();
  } catch (error) {
    failedBecause = await classifyFailure(error, options.signal, deployment);
    endReason = failedBecause.kind === 'interrupted' ? 'interrupted' : 'failed';
    await deployment.settle();
    await deployment.stopAll(LOG_DRAIN_TIMEOUT_MS).catch((stopError) => debug('stopping after failure: %s', stopError));
  }
  // What was measured is kept whatever removal does: its errors are recorded with the run, never thrown over it.
  // Removal goes on while the caller works on the record (the engine tears down, the report renders).
  const removal = options.afterRun.end(deployment).then(
    () => ({ cleanupErrors: [], removedAt: now() }),
    (error: Error) => ({ cleanupErrors: [error.message], removedAt: now() }),
  );
  const record = {
    observations: watch.observations(),
    series: watch.series(),
    nodes: deployment.nodes(),
    endReason,
    failure: failedBecause?.cause ?? null,
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

/** The network and the server, until it listens; the clients are prepared meanwhile (their preparation returned). */
async function startServer(
  deployment: Deployment,
  watch: RunWatch,
  timeline: RunTimeline,
  options: RunOptions,
): Promise<{ clientsPrepared: Promise<void> }> {
  const clientsPrepared = deployment.prepareClients(watch.sink);
  clientsPrepared.catch(() => undefined);
  await deployment.startServer(watch.sink);
  timeline.serverStarted = options.now();
  await watch.waitFor([deployment.containers.server], (name) => Boolean(watch.observations()[name]?.ready), 'ready');
  timeline.serverReady = options.now();
  return { clientsPrepared };
}

/** Every client at once, once the server listens and what must come first (preflight's last reading) is in. */
async function startClients(
  deployment: Deployment,
  watch: RunWatch,
  timeline: RunTimeline,
  options: RunOptions,
  clientsPrepared: Promise<void>,
): Promise<void> {
  await Promise.all([clientsPrepared, options.beforeClients?.()]);
  const { clients } = deployment.containers;
  const waiting = clients.filter((client) => deployment.waitsForGo(client));
  if (waiting.length > 0) await watch.waitFor(waiting, (name) => watch.logs.get(name)?.waiting() ?? false, 'waiting for its go');
  await deployment.startClients(watch.sink);
  timeline.clientsStarted = options.now();
  debug('clients started');
}

/**
 * Follows the run until every client has stopped and the server has accepted what they hold (or has stopped
 * counting), or until the time limit; reports progress, checks the engine still answers, and fails on a probe's
 * fatal error or a container that ended.
 */
async function watchUntilDone(deployment: Deployment, watch: RunWatch, options: RunOptions, clientsStartedAt: number): Promise<EndReason> {
  const { now } = options;
  const { server, clients } = deployment.containers;
  let lastProgress = 0;
  let lastEngineCheck = now();
  let settled: { count: number; since: number } | undefined;
  let moved = { total: -1, at: now() };
  for (;;) {
    watch.checkInterrupt('the run was going on');
    if (now() - lastEngineCheck >= ENGINE_CHECK_EVERY_MS) {
      if (!(await deployment.ping())) throw watch.lostEngine('it stopped answering while the run was going on');
      lastEngineCheck = now();
    }
    const snapshot = watch.observations();
    if (now() - lastProgress >= PROGRESS_EVERY_MS) {
      options.onProgress(snapshot, now() - clientsStartedAt);
      lastProgress = now();
    }
    const fatal = Object.values(snapshot).find((observation) => observation.fatal.length > 0);
    if (fatal) throw watch.probeFailed(fatal);
    // Probes hold their connections until they are stopped, so any exit now is a failure: the container's, or the
    // engine's when its log stream ended because the daemon went away.
    const gone = [...watch.exited.keys()][0];
    if (gone) {
      if (!(await deployment.ping())) throw watch.lostEngine(`the log stream of ${gone} ended and the engine does not answer`);
      throw watch.exitedEarly(gone, 'while the run was going on');
    }
    // portlab signals no client before the run ends: a client stopped by a signal was stopped by someone else, and
    // its count is no limit's.
    const signalled = clients.find((client) => watch.logs.get(client)?.stoppedBySignal());
    if (signalled) throw watch.stoppedOutside(signalled);
    if (clients.every((client) => watch.logs.get(client)?.finished())) {
      const accepted = snapshot[server]?.count ?? 0;
      if (accepted === heldBy(clients, watch)) return 'clients-done';
      if (!settled || settled.count !== accepted) settled = { count: accepted, since: now() };
      else if (now() - settled.since >= SERVER_SETTLE_MS) return 'clients-done';
    } else {
      // Clients still going: a stall limit ends the run only once no count has moved for that long.
      const total = Object.values(snapshot).reduce((sum, observation) => sum + observation.count, 0);
      if (total !== moved.total) moved = { total, at: now() };
      else if (options.stallLimitMs !== undefined && now() - moved.at > options.stallLimitMs) return 'stalled';
    }
    if (now() - clientsStartedAt > options.limitMs) return 'duration';
    await watch.wakeup.wait(TICK_MS);
  }
}

/** What the clients hold, over all their phases' observations. */
function heldBy(clients: string[], watch: RunWatch): number {
  const counted: ContainerObservation[] = clients.flatMap((client) => watch.logs.get(client)?.counted() ?? []);
  return counted.reduce((sum, observation) => sum + observation.count, 0);
}

/**
 * Server first: its workers print their final counts while the clients still hold their connections. When every
 * client finished, their last lines came before the run could end, so once the server's are in nothing waits for
 * a graceful stop: removal kills what is left. Clients cut by the time limit are stopped, and their last lines (how
 * far each got) read.
 */
async function stopInOrder(deployment: Deployment, watch: RunWatch, options: RunOptions, endReason: EndReason): Promise<void> {
  const { server } = deployment.containers;
  const serverLog = watch.logs.get(server);
  const cut = endReason === 'duration' || endReason === 'stalled';
  // A kept run whose clients all finished stays up: the server prints its counts and goes on holding.
  const staysUp = options.afterRun.staysUp && deployment.staysUp && !cut;
  await deployment.signalServer(staysUp);
  const finalLinesBy = options.now() + LOG_DRAIN_TIMEOUT_MS;
  while (!serverLog?.allDone() && !watch.exited.has(server) && options.now() < finalLinesBy) await watch.wakeup.wait(TICK_MS);
  if (!staysUp && (options.afterRun.kept || cut)) await deployment.stopAll(LOG_DRAIN_TIMEOUT_MS);
}

/** Waits for `work`, or `timeoutMs`, whichever is first. */
export async function within(work: Promise<unknown>, timeoutMs: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise((resolve) => (timer = setTimeout(resolve, timeoutMs)));
  await Promise.race([work, timeout]);
  clearTimeout(timer);
}
