import { parseProbeLine, type ReadyEvent } from '../../observe/probe-events.ts';
import { TASK_ENDED_STATES, type SwarmTask } from '../docker/services.ts';
import { type DockerEngine } from '../docker/engine.ts';
import { type SwarmNode, type SwarmState } from '../docker/swarm.ts';
import { EngineError, NofileRefusedError, nofileRefusal, noSuchImage, SwarmNotReadyError } from '../errors.ts';
import { GrantCache } from '../grant-cache.ts';
import { conntrackOf, type EngineFacts } from '../engine-facts.ts';
import { removeStackRemains } from './stack-removal.ts';
import { retryUntil } from '../poll.ts';
import { PORTLAB_LABEL } from '../../compile/compile-compose.ts';

/** How long a preflight probe may take on every node before portlab gives up on it. */
const JOB_TIMEOUT_MS = 60_000;

export type SwarmFacts = EngineFacts & {
  /** This engine's own node: its tasks' containers can be signalled directly. */
  localNodeId: string;
  /** Node id -> hostname, for every node of the swarm. */
  hostnames: Map<string, string>;
};

type Naming = { prefix: string; labels: Record<string, string>; signal?: AbortSignal };

/** The engine manages a swarm, or the run stops here, before anything is built, pushed or deployed. */
export async function managesSwarm(engine: DockerEngine): Promise<SwarmState> {
  const state = await engine.swarm.state();
  if (!state.active) {
    throw new SwarmNotReadyError(
      `${engine.describe()} is not part of a swarm: \`docker swarm init --advertise-addr <this host's address>\` makes it one (see docs/machines.md)`,
    );
  }
  if (!state.manager)
    throw new SwarmNotReadyError(
      `${engine.describe()} is a swarm worker: run portlab against a manager node (\`docker node ls\` lists them there)`,
    );
  return state;
}

/**
 * What a swarm run needs to know first: that this engine manages a swarm, that every node portlab may place a task on
 * has the probe image, what each node grants (nofile) and its conntrack table. A global service runs the probe's
 * `limits` command once on every node, in the node's own network namespace; a node without the image rejects its
 * task, and the run stops there with what to do.
 */
export async function swarmFacts(
  engine: DockerEngine,
  image: string,
  wantedNofile: number,
  naming: Naming,
  cache: GrantCache = new GrantCache(),
): Promise<SwarmFacts & { remembered: boolean }> {
  const state = await managesSwarm(engine);
  const [version, nodes] = await Promise.all([engine.version(), engine.swarm.nodes()]);
  const hostnames = new Map(nodes.map((node) => [node.id, node.hostname]));
  const usable = nodes.filter((node) => node.ready && node.active);
  if (usable.length === 0) throw new SwarmNotReadyError('the swarm has no node that is ready and active (`docker node ls`)');

  const defaults = await limitsEverywhere(engine, image, `${naming.prefix}-preflight-default`, naming, undefined, usable, state.nodeId);
  const readies = [...defaults.values()];
  const defaultNofile = readies.reduce((least, ready) => (ready.nofile.hard < least.hard ? ready.nofile : least), readies[0]!.nofile);
  // Whether every node can grant more than its default is a fact of the nodes' daemons: remembered per swarm and
  // node set, as the local engine's grants are per engine.
  const key = `swarm ${state.clusterId} nodes ${usable
    .map((node) => node.id)
    .sort()
    .join(',')} docker ${version.dockerVersion} nofile ${wantedNofile}`;
  const known = wantedNofile > defaultNofile.hard ? await cache.get(key) : undefined;
  let nofileCeiling: number | null = known?.nofileCeiling ?? null;
  if (wantedNofile > defaultNofile.hard && !known) {
    // A node whose daemon cannot grant the nofile asked for fails the task with runc's rlimit error; the swarm then
    // grants what the least of its nodes grants.
    try {
      const granted = await limitsEverywhere(
        engine,
        image,
        `${naming.prefix}-preflight-nofile`,
        naming,
        wantedNofile,
        usable,
        state.nodeId,
      );
      const least = Math.min(...[...granted.values()].map((ready) => ready.nofile.hard));
      nofileCeiling = least >= wantedNofile ? null : least;
    } catch (error) {
      if (!(error instanceof NofileRefusedError)) throw error;
      nofileCeiling = defaultNofile.hard;
    }
    await cache.set(key, { nofileCeiling, defaultNofile });
  }
  const perNode = usable.map((node) => ({
    id: node.id,
    hostname: node.hostname,
    role: node.role,
    labels: node.labels,
    conntrack: conntrackOf(defaults.get(node.id)!),
  }));
  // The prediction takes the smallest table: the server may be placed on any node.
  const tables = perNode.flatMap((node) => (node.conntrack ? [node.conntrack] : []));
  const conntrack = tables.length > 0 ? tables.reduce((least, table) => (table.max < least.max ? table : least)) : null;
  // For the fill's estimate: the fewest cores and the smallest established hash of any node, as if every client
  // filled on one node (the scheduler places them; the lab's nodes even share one host's cores).
  const readings = usable.map((node) => defaults.get(node.id)!);
  const least = (values: Array<number | undefined>) => {
    const known = values.filter((value): value is number => value !== undefined);
    return known.length === readings.length && known.length > 0 ? Math.min(...known) : undefined;
  };
  const cores = least(readings.map((ready) => ready.cores));
  const ehashEntries = least(readings.map((ready) => ready.ehashEntries));
  return {
    version,
    nofileCeiling,
    defaultNofile,
    conntrack,
    ...(cores && ehashEntries ? { host: { files: null, memoryAvailableKb: null, cores, ehashEntries } } : {}),
    nodes: perNode,
    localNodeId: state.nodeId,
    hostnames,
    remembered: known !== undefined,
  };
}

/** Runs `limits` once on every usable node (a global service in the host's network namespace) and reads each node's ready line. */
async function limitsEverywhere(
  engine: DockerEngine,
  image: string,
  name: string,
  naming: Naming,
  nofile: number | undefined,
  nodes: SwarmNode[],
  localNodeId: string,
): Promise<Map<string, ReadyEvent>> {
  const id = await engine.services.create(
    {
      name,
      image,
      command: ['limits'],
      labels: naming.labels,
      containerLabels: naming.labels,
      network: 'host',
      mode: 'global',
      nofile: nofile === undefined ? undefined : { soft: nofile, hard: nofile },
    },
    naming.signal,
  );
  try {
    const tasks = await tasksOnEveryNode(engine, id, name, nodes.length, naming.signal);
    const missing = tasks.filter((task) => task.error && noSuchImage(task.error));
    if (missing.length > 0) {
      const where = missing.map((task) => nodes.find((node) => node.id === task.nodeId)?.hostname ?? task.nodeId).join(', ');
      throw new SwarmNotReadyError(
        `the probe image ${image} is not on node${missing.length > 1 ? 's' : ''} ${where}: load it there (\`docker save ${image} | ssh <node> docker load\`) or pass --push <registry> to push it where every node can pull it`,
      );
    }
    const failed = tasks.find((task) => task.state !== 'complete');
    if (failed)
      throw new (failed.error && nofileRefusal(failed.error) ? NofileRefusedError : EngineError)(
        `the preflight probe ${name} failed on node ${nodes.find((node) => node.id === failed.nodeId)?.hostname ?? failed.nodeId}: ${failed.error ?? failed.state}`,
      );
    const output = await engine.logs.serviceOutput(id, name);
    const readies = new Map<string, ReadyEvent>();
    for (const task of tasks) {
      const ready = (output.get(task.id) ?? []).map(parseProbeLine).find((parsed) => parsed.ok && parsed.event.event === 'ready');
      if (!ready?.ok || ready.event.event !== 'ready')
        throw new EngineError(`the preflight probe ${name} printed no ready line on node ${task.nodeId}`);
      readies.set(task.nodeId, ready.event);
    }
    // This node's containers go at once (as a run's do); other nodes' go the swarm's way once the service is removed.
    await Promise.all(
      tasks
        .filter((task) => task.nodeId === localNodeId && task.containerId)
        .map((task) => engine.containers.remove(task.containerId!, task.id)),
    );
    await engine.services.remove(id, name);
    return readies;
  } catch (error) {
    // The run stops here: nothing of it may stay. (On success its containers go while the run goes on, and the
    // run's own removal waits for them.)
    await engine.services.remove(id, name).catch(() => undefined);
    await removeStackRemains(engine, { runId: naming.labels[PORTLAB_LABEL.runId] ?? '', services: [{ id }], networks: [] }).catch(
      () => undefined,
    );
    throw error;
  }
}

/** Waits until the service has a task on every node and all of them ended. */
async function tasksOnEveryNode(
  engine: DockerEngine,
  id: string,
  name: string,
  nodes: number,
  signal: AbortSignal | undefined,
): Promise<SwarmTask[]> {
  let ended: SwarmTask[] = [];
  const done = await retryUntil(
    async () => {
      const tasks = await engine.services.tasks([id]);
      ended = tasks.filter((task) => TASK_ENDED_STATES.has(task.state));
      return tasks.length >= nodes && ended.length === tasks.length ? tasks : undefined;
    },
    { timeoutMs: JOB_TIMEOUT_MS, intervalMs: 100, signal, what: `waiting for ${name}` },
  );
  if (done) return done;
  throw new EngineError(
    `the preflight service ${name} (a probe run once on every node) did not finish on every node within ${JOB_TIMEOUT_MS / 1000} s (${ended.length} of ${nodes} done)`,
  );
}
