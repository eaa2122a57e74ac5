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

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Runs a compiled compose project on the engine: network, server, then clients; follows every container's
 * probe lines; ends when every client has stopped (or at the time limit, on a failure or an interrupt);
 * stops the server first so its final counts are recorded while the clients still hold their connections;
 * removes everything it created unless told to keep it.
 */
export async function runProject(engine: DockerEngine, project: ComposeProject, options: RunOptions): Promise<RunRecord> {
  const { now } = options;
  const startedAt = new Date(now());
  const logs = new Map<string, ProbeLog>();
  const created: Array<{ id: string; name: string; service: string }> = [];
  /** Per container id: resolves once its log stream has ended (the container exited and every line was read). */
  const following = new Map<string, Promise<void>>();
  const exited = new Set<string>();
  const networkName = `${project.name}_portlab`;
  let networkId: string | undefined;
  const labels = runLabels({ runId: options.runId, owner: options.owner, keep: options.keep });
  const observations = () => Object.assign({}, ...[...logs.values()].map((log) => log.snapshots())) as Record<string, ContainerObservation>;

  const start = async (service: string) => {
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
    created.push({ id, name, service });
    const log = new ProbeLog(service);
    logs.set(service, log);
    await engine.startContainer(id, name, options.signal);
    following.set(
      id,
      engine
        .followLogs(id, name, (line) => log.addLine(line), (line) => debug('%s stderr: %s', service, line))
        .catch((error) => debug('log stream of %s: %s', name, error))
        .finally(() => exited.add(service)),
    );
  };

  let endReason: EndReason = 'failed';
  let failure: string | null = null;
  try {
    networkId = await engine.createNetwork(networkName, {
      'com.docker.compose.project': project.name,
      'com.docker.compose.network': 'portlab',
      ...labels,
    });

    await start(SERVER_NAME);
    const serverReadyBy = now() + SERVER_READY_TIMEOUT_MS;
    while (!observations()[SERVER_NAME]?.ready) {
      if (options.signal.aborted) throw new Interrupted();
      const server = observations()[SERVER_NAME];
      if (server?.fatal.length) throw new EngineError(`the server probe failed: ${server.fatal.join('; ')}`);
      if (exited.has(SERVER_NAME)) throw new EngineError('the server container exited before it was ready');
      if (now() > serverReadyBy) throw new EngineError(`the server was not ready after ${SERVER_READY_TIMEOUT_MS / 1000}s`);
      await sleep(TICK_MS);
    }

    const clients = Object.keys(project.services).filter((service) => service !== SERVER_NAME);
    for (const client of clients) await start(client);
    const clientsStartedAt = now();
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
      await sleep(TICK_MS);
    }
    if (endReason !== 'duration') endReason = 'clients-done';
    debug('run ended (%s) after %d ms; stopping the server, then the clients', endReason, now() - clientsStartedAt);

    // Server first: its workers print their final accepted counts while the clients still hold theirs.
    await stopAndDrain(engine, created.filter((entry) => entry.service === SERVER_NAME), following);
    await stopAndDrain(engine, created.filter((entry) => entry.service !== SERVER_NAME), following);
  } catch (error) {
    const interrupted = error instanceof Interrupted || error instanceof InterruptedError || options.signal.aborted;
    endReason = interrupted ? 'interrupted' : 'failed';
    failure = interrupted ? 'interrupted' : (error as Error).message;
    await stopAndDrain(engine, created, following).catch((stopError) => debug('stopping after failure: %s', stopError));
  }
  // What was measured is kept whatever removal does: its errors are recorded with the run, never thrown over it.
  const cleanupErrors: string[] = [];
  if (!options.keep) {
    await removeAll(engine, created, networkId === undefined ? [] : [{ id: networkId, name: networkName }]).catch((error: Error) =>
      cleanupErrors.push(error.message),
    );
  }
  const series = Object.assign({}, ...[...logs.values()].map((log) => log.series())) as Record<string, ContainerSeries>;
  return { observations: observations(), series, endReason, failure, cleanupErrors, startedAt, endedAt: new Date(now()) };
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
