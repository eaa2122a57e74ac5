import { createHash } from 'node:crypto';
import createDebug from 'debug';
import type { ComposeProject, ComposeService } from '../compile/compose-schema.ts';
import { ProbeLog, type ContainerObservation } from '../observe/observation.ts';
import type { ContainerSeries } from '../observe/series.ts';
import { SERVER_NAME } from '../predict/predict.ts';
import { EngineError, InterruptedError, type DockerEngine } from './docker-engine.ts';
import { runLabels, type RunOwner } from './run-owner.ts';

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

export type RunRecord = {
  /** What removing the run's containers and network left behind (empty when all went). */
  cleanupErrors: string[];
  observations: Record<string, ContainerObservation>;
  /** How each observation's count moved, under the same names. */
  series: Record<string, ContainerSeries>;
  endReason: EndReason;
  failure: string | null;
  startedAt: Date;
  endedAt: Date;
  /** When each step of the run ended (ms on the run's clock); null for a step it never reached. */
  timeline: RunTimeline;
};

/** Labels `docker compose -p <project> ps|logs|down` recognises, plus portlab's own for cleanup. */
export function composeLabels(project: ComposeProject, service: string, definition: ComposeService, run: Record<string, string>): Record<string, string> {
  return {
    ...definition.labels,
    'com.docker.compose.project': project.name,
    'com.docker.compose.service': service,
    'com.docker.compose.container-number': '1',
    'com.docker.compose.oneoff': 'False',
    'com.docker.compose.config-hash': createHash('sha256').update(JSON.stringify(definition)).digest('hex'),
    ...run,
  };
}

const SERVER_READY_TIMEOUT_MS = 30_000;
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
 * Runs a compiled compose project on the engine: network, server, then clients; follows every container's
 * probe lines; ends when every client has stopped (or at the time limit, on a failure or an interrupt);
 * stops the server first so its final counts are recorded while the clients still hold their connections;
 * removes everything it created unless told to keep it. Returns what was observed as soon as the run is over, and
 * `removed`, the same record once removal has finished (with what it failed to remove).
 */
export async function runProject(
  engine: DockerEngine,
  project: ComposeProject,
  options: RunOptions,
): Promise<{ record: Omit<RunRecord, 'cleanupErrors'>; removed: Promise<RunRecord> }> {
  const { now } = options;
  const startedAt = new Date(now());
  const timeline: RunTimeline = { serverStarted: null, serverReady: null, clientsStarted: null, clientsDone: null, stopped: null, removed: null };
  const logs = new Map<string, ProbeLog>();
  const created: Array<{ id: string; name: string; service: string }> = [];
  /** Per container id: resolves once its log stream has ended (the container exited and every line was read). */
  const following = new Map<string, Promise<void>>();
  const exited = new Set<string>();
  const networkName = `${project.name}_portlab`;
  let networkId: string | undefined;
  const labels = runLabels({ runId: options.runId, owner: options.owner, keep: options.keep });
  const observations = () => Object.assign({}, ...[...logs.values()].map((log) => log.snapshots())) as Record<string, ContainerObservation>;
  // Every probe line (and an abort) wakes the loops below: they react at once instead of on a fixed tick.
  const wakeup = new Wakeup();
  options.signal.addEventListener('abort', wakeup.notify, { once: true });

  const create = async (service: string) => {
    const definition = project.services[service];
    if (!definition) throw new EngineError(`the compose project has no service ${service}`);
    const name = `${project.name}-${service}-1`;
    const nofile = definition.ulimits?.nofile;
    const id = await engine.createContainer({
      name,
      image: definition.image,
      command: definition.command,
      labels: composeLabels(project, service, definition, labels),
      network: networkName,
      alias: service,
      nofile,
      sysctls: definition.sysctls,
      capAdd: definition.cap_add,
    });
    const entry = { id, name, service };
    created.push(entry);
    logs.set(service, new ProbeLog(service));
    return entry;
  };
  const begin = async ({ id, name, service }: { id: string; name: string; service: string }) => {
    const log = logs.get(service)!;
    await engine.startContainer(id, name, options.signal);
    following.set(
      id,
      engine
        .followLogs(
          id,
          name,
          (line) => {
            log.addLine(line);
            wakeup.notify();
          },
          (line) => debug('%s stderr: %s', service, line),
        )
        .catch((error) => debug('log stream of %s: %s', name, error))
        .finally(() => {
          exited.add(service);
          wakeup.notify();
        }),
    );
  };

  /** Containers still being created: whatever happens, cleanup waits for them, or one could be left behind. */
  let pendingCreates: Promise<unknown> = Promise.resolve();
  let endReason: EndReason = 'failed';
  let failure: string | null = null;
  try {
    networkId = await engine.createNetwork(networkName, {
      'com.docker.compose.project': project.name,
      'com.docker.compose.network': 'portlab',
      ...labels,
    });

    // Client containers are created while the server starts (creating one starts nothing); they start only once it
    // listens.
    const clients = Object.keys(project.services).filter((service) => service !== SERVER_NAME);
    const clientsCreated = Promise.all(clients.map(create));
    pendingCreates = clientsCreated.catch(() => undefined);
    await begin(await create(SERVER_NAME));
    timeline.serverStarted = now();
    const serverReadyBy = now() + SERVER_READY_TIMEOUT_MS;
    while (!observations()[SERVER_NAME]?.ready) {
      if (options.signal.aborted) throw new Interrupted();
      const server = observations()[SERVER_NAME];
      if (server?.fatal.length) throw new EngineError(`the server probe failed: ${server.fatal.join('; ')}`);
      if (exited.has(SERVER_NAME)) throw new EngineError('the server container exited before it was ready');
      if (now() > serverReadyBy) throw new EngineError(`the server was not ready after ${SERVER_READY_TIMEOUT_MS / 1000}s`);
      await wakeup.wait(TICK_MS);
    }

    // Clients need nothing of each other, only the server listening: created together, started together.
    timeline.serverReady = now();
    const [clientContainers] = await Promise.all([clientsCreated, options.beforeClients?.()]);
    await Promise.all(clientContainers.map(begin));
    const clientsStartedAt = now();
    timeline.clientsStarted = clientsStartedAt;
    debug('clients started');
    let lastProgress = 0;
    let lastEngineCheck = now();
    let settled: { count: number; since: number } | undefined;
    for (;;) {
      if (options.signal.aborted) throw new Interrupted();
      if (now() - lastEngineCheck >= ENGINE_CHECK_EVERY_MS) {
        if (!(await engine.ping())) throw new EngineError(`lost ${engine.describe()}: it stopped answering while the run was going on`);
        lastEngineCheck = now();
      }
      const snapshot = observations();
      if (now() - lastProgress >= PROGRESS_EVERY_MS) {
        options.onProgress(snapshot, now() - clientsStartedAt);
        lastProgress = now();
      }
      const fatal = Object.values(snapshot).find((observation) => observation.fatal.length > 0);
      if (fatal) throw new EngineError(`the probe in ${fatal.name} failed: ${fatal.fatal.join('; ')}`);
      // Probes hold their connections until they are stopped, so any exit now is a failure: the container's, or the
      // engine's when its log stream ended because the daemon went away.
      const gone = [...exited][0];
      if (gone) {
        if (!(await engine.ping())) throw new EngineError(`lost ${engine.describe()}: the log stream of ${gone} ended and the engine does not answer`);
        throw new EngineError(`container ${gone} exited while the run was going on`);
      }
      if (clients.every((client) => logs.get(client)?.finished())) {
        const accepted = snapshot[SERVER_NAME]?.count ?? 0;
        const held = clients.flatMap((client) => logs.get(client)?.counted() ?? []).reduce((sum, observation) => sum + observation.count, 0);
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
    const server = created.find((entry) => entry.service === SERVER_NAME)!;
    const serverLog = logs.get(SERVER_NAME);
    await engine.signalContainer(server.id, server.name, 'SIGTERM');
    const finalLinesBy = now() + LOG_DRAIN_TIMEOUT_MS;
    while (!serverLog?.allDone() && !exited.has(SERVER_NAME) && now() < finalLinesBy) await wakeup.wait(TICK_MS);
    if (options.keep || endReason === 'duration') await stopAndDrain(engine, created, following);
    timeline.stopped = now();
  } catch (error) {
    const interrupted = error instanceof Interrupted || error instanceof InterruptedError || options.signal.aborted;
    endReason = interrupted ? 'interrupted' : 'failed';
    failure = interrupted ? 'interrupted' : (error as Error).message;
    await pendingCreates;
    await stopAndDrain(engine, created, following).catch((stopError) => debug('stopping after failure: %s', stopError));
  }
  // What was measured is kept whatever removal does: its errors are recorded with the run, never thrown over it.
  // Removal goes on while the caller works on the record (the engine tears down, the report renders).
  const networks = networkId === undefined ? [] : [{ id: networkId, name: networkName }];
  const removal = (options.keep ? Promise.resolve() : removeAll(engine, created, networks)).then(
    () => ({ cleanupErrors: [], removedAt: now() }),
    (error: Error) => ({ cleanupErrors: [error.message], removedAt: now() }),
  );
  const series = Object.assign({}, ...[...logs.values()].map((log) => log.series())) as Record<string, ContainerSeries>;
  const record = { observations: observations(), series, endReason, failure, startedAt, endedAt: new Date(now()), timeline };
  return {
    record,
    removed: removal.then(({ cleanupErrors, removedAt }) => ({ ...record, cleanupErrors, timeline: { ...timeline, removed: removedAt } })),
  };
}

class Interrupted extends Error {}

async function stopAndDrain(engine: DockerEngine, containers: Array<{ id: string; name: string }>, following: Map<string, Promise<void>>) {
  await Promise.all(containers.map((container) => engine.stopContainer(container.id, container.name)));
  debug('stopped %s', containers.map((container) => container.name).join(', '));
  // A log stream ends once its container has exited; by then every `done` line has been read.
  const drained = Promise.all(containers.map((container) => following.get(container.id)));
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise((resolve) => (timer = setTimeout(resolve, LOG_DRAIN_TIMEOUT_MS)));
  await Promise.race([drained, timeout]);
  clearTimeout(timer);
}

/** Removes containers and networks; tries every one even if some fail, then reports the failures together. */
export async function removeAll(engine: DockerEngine, containers: Array<{ id: string; name: string }>, networks: Array<{ id: string; name: string }>) {
  const failures: string[] = [];
  await Promise.all(
    containers.map((container) => engine.removeContainer(container.id, container.name).catch((error: Error) => failures.push(error.message))),
  );
  for (const network of networks) await engine.removeNetwork(network.id, network.name).catch((error: Error) => failures.push(error.message));
  if (failures.length > 0) throw new EngineError(`cleanup left something behind: ${failures.join('; ')}`);
}
