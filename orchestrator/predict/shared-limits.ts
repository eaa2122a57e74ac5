/** Limits all clients share: the server's descriptors and accept queues, the conntrack table (docs/model.md, "The server", "Conntrack"). */

import { SERVER_NAME } from '../scenario/names.ts';
import { serverClosesFirst } from '../scenario/scenario-steps.ts';
import { type Scenario } from '../scenario/scenario-schema.ts';
import type { Environment } from './environment.ts';
import { exactCount, formatCount, showCount } from './count-range.ts';
import { HEADROOM, planWorkers, totalBudget, workersTakeTurns } from './plan-workers.ts';
import { targetsOf } from './ports.ts';
import { fileRoom, filesBindLines, filesLine, filesNextLine } from './host-limits.ts';
import { helperBindsLine, helperRoom, type HelperRoom } from './network-helper.ts';
import {
  eitherStop,
  NO_STOP,
  stopsWith,
  type ClientPrediction,
  type CountRange,
  type Limit,
  type PredictedStop,
  type Prediction,
} from './prediction-schema.ts';

type SharedLimits = {
  server: Omit<Prediction['server'], 'accepted'>;
  accepted: CountRange;
  /** Set when a limit shared by all clients (server descriptors, conntrack) caps the total. */
  total: CountRange | undefined;
  limit: Limit;
  /** What clients see once the shared limit binds. */
  error: PredictedStop;
  /** False when the shared limit may bind or not (room that comes back in time): either error, the clients' own too. */
  certain: boolean;
  reasoning: string[];
};

const clientCountOf = (scenario: Scenario) => scenario.clients.reduce((sum, group) => sum + group.count, 0);

/** The server's side: its workers and descriptors, and the completed connections its listening sockets queue. */
function serverSide(scenario: Scenario, env: Environment, load: CountRange, churning: boolean) {
  const facts = env.containers[SERVER_NAME];
  const listenPorts = scenario.server.ports;
  const demand = churning ? clientCountOf(scenario) * 2 : (load.max ?? load.min);
  const workers = planWorkers({
    requested: scenario.server.ulimits.nofile,
    processes: scenario.server.processes,
    fdsOpen: facts?.fdsOpen ?? env.probeFdsOpen + listenPorts.length,
    demand: demand + HEADROOM(demand),
    grantedNofile: facts?.nofile,
    ran: facts?.workers,
    env,
  });
  const fds = totalBudget(workers);
  const somaxconn = Number(scenario.server.sysctls['net.core.somaxconn'] ?? facts?.somaxconn ?? env.somaxconn);
  const queuePerSocket = Math.min(scenario.server.backlog, somaxconn) + 1;
  const targeted = new Set(scenario.clients.flatMap((group) => targetsOf(scenario, group))).size;
  const acceptQueue = targeted * queuePerSocket;
  const reasoning = [
    `server: ${workers.processes} worker${workers.processes > 1 ? 's' : ''} accept on ${listenPorts.length} listening port${listenPorts.length > 1 ? 's' : ''} with a budget of ${formatCount(fds)} descriptors; each targeted listening socket queues min(backlog ${scenario.server.backlog}, somaxconn ${somaxconn}) + 1 = ${formatCount(queuePerSocket)} completed connections`,
    ...(workers.note ? [`server note: ${workers.note}`] : []),
  ];
  return { fds, acceptQueue, targeted, server: { workers, listenPorts, acceptQueue, reasoning } };
}

/**
 * Connections clients may count beyond what a server accepted and queued once a full accept queue stops it: a client
 * whose SYN found room gets its SYN-ACK and counts the connection, but if the queue filled before its final ACK
 * arrived, `tcp_v4_syn_recv_sock` finds `sk_acceptq_is_full` and `tcp_check_req` drops the ACK (with
 * net.ipv4.tcp_abort_on_overflow 0, no reset): the server keeps only a SYN-RECV request. At most one per connecting
 * worker other than the one whose connection filled the queue, on each listening socket that fills.
 */
export const handshakesPastFullQueue = (connectingAtOnce: number, listeningSockets: number): number =>
  Math.max(0, connectingAtOnce - 1) * listeningSockets;

/**
 * How many connects may be in flight at the same moment across the client containers: a probe's one per container
 * whose workers take turns, one per worker otherwise; an application client's own concurrency (wrk -c,
 * redis-benchmark -c) is its own, not portlab's to know, so each of its connections up to its own ceiling (its ports,
 * its descriptors: what it could hold alone) may be one. Unbounded (null) where such a ceiling is.
 */
export function connectingAtOnce(scenario: Scenario, clients: ClientPrediction[]): number | null {
  const perContainer = new Map<string, number | null>();
  for (const client of clients) {
    const group = scenario.clients.find((candidate) => candidate.name === client.group);
    if (!group) continue;
    const inFlight = group.image ? client.connections.max : workersTakeTurns(group) ? 1 : client.workers.processes;
    const before = perContainer.get(client.name);
    perContainer.set(client.name, before === null || inFlight === null ? null : Math.max(before ?? 0, inFlight));
  }
  const counts = [...perContainer.values()];
  return counts.includes(null) ? null : (counts as number[]).reduce((sum, count) => sum + count, 0);
}

/** Whether an application client connects: its in-flight connects are counted by its own ceiling. */
const applicationConnects = (scenario: Scenario) => scenario.clients.some((group) => group.image !== undefined);

/** Limits all clients share: the server's descriptors and accept queues, and the host's conntrack table. */
export function predictSharedLimits(scenario: Scenario, env: Environment, load: CountRange, clients: ClientPrediction[]): SharedLimits {
  const churning = scenario.clients.every((group) => group.mode === 'churn');
  const { fds, acceptQueue, targeted, server } = serverSide(scenario, env, load, churning);
  const verdictLines: string[] = [];
  const { conntrackFree, expiring, conntrackFreeLater } = conntrackRoom(env);
  // A network helper between the clients and a server on the host (rootless Podman) carries every connection.
  const helper = churning ? null : helperRoom(scenario, env);
  const files = churning ? null : fileRoom(env, clientCountOf(scenario) + 1, acceptQueue, helper ? 3 : 2);

  if (helper && load.min > helper.room && helper.room <= Math.min(fds, conntrackFree, files?.held.min ?? Infinity))
    return helperBinds(helper, server);
  verdictLines.push(...(helper?.lines ?? []));
  // The smallest of the server's descriptors (with its accept queues), the host's free files and the free conntrack
  // entries binds first. Held by the server's descriptors, the host has fds accepted and fds + queue connected.
  if (!churning && load.min > fds && fds + acceptQueue <= conntrackFree && (!files || 2 * fds + acceptQueue <= files.free)) {
    // accept() takes the descriptor before the connection (net/socket.c __sys_accept4_file: get_unused_fd_flags,
    // then do_accept), so on EMFILE the connection stays queued.
    const stalled = fds + acceptQueue;
    const connecting = connectingAtOnce(scenario, clients);
    const past = connecting === null ? null : handshakesPastFullQueue(connecting, targeted);
    const most = past === null ? load.max : Math.min(load.max ?? stalled + past, stalled + past);
    const total = { min: Math.min(load.min, stalled), max: most };
    verdictLines.push(
      `the server's descriptors bind: it accepts ${formatCount(fds)}, the kernel completes ${formatCount(acceptQueue)} more into the accept queue, then drops SYNs: clients stall at ${showCount(total)} and connect() times out (ETIMEDOUT)`,
      ...(past === null || past > 0
        ? [
            `${past === null ? 'any number' : `up to ${formatCount(past)}`} of those may be handshakes the server never queued: ${connecting === null ? 'an application client with no ceiling of its own connects' : `${formatCount(connecting)} ${applicationConnects(scenario) ? "connects may be in flight at once (an application client's up to its own ceiling: its concurrency is its own)" : 'workers connect at once'}`}, and one whose SYN found room but whose final ACK came after the queue filled counts a connection the server drops (tcp_v4_syn_recv_sock: the accept queue is full; tcp_abort_on_overflow 0 sends no reset), at most one per other connect in flight on each of ${formatCount(targeted)} listening socket${targeted > 1 ? 's' : ''}`,
          ]
        : []),
    );
    return {
      server,
      accepted: exactCount(fds),
      total,
      limit: 'server-nofile',
      error: stopsWith('ETIMEDOUT'),
      certain: true,
      reasoning: verdictLines,
    };
  }
  if (files && (load.max ?? load.min) > files.held.min && files.held.max <= conntrackFree) {
    const total = { min: Math.min(load.min, files.held.min), max: Math.min(load.max ?? files.held.max, files.held.max) };
    const accepted = { min: Math.min(total.min, files.accepted.min), max: Math.min(total.max, files.accepted.max) };
    return { server, accepted, total, limit: 'file-max', error: stopsWith('ENFILE'), certain: true, reasoning: filesBindLines(files) };
  }
  if (!churning && (load.max ?? load.min) > conntrackFree) {
    verdictLines.push(
      env.network === 'overlay'
        ? `conntrack binds on the server's node: on an overlay network the hosts' tables see only the VXLAN tunnel, and each container's own namespace tracks its connections against its node's nf_conntrack_max (${formatCount(env.conntrackMax)}); the server's namespace holds every connection, so once it is full new SYNs are dropped and connect() times out`
        : `conntrack binds: bridged traffic is tracked in the host's table, ${formatCount(env.conntrackMax)} entries with ${formatCount(env.conntrackInUse)} in use; once full, new SYNs are dropped and connect() times out`,
      conntrackLift(env, load, clientCountOf(scenario)),
      ...[filesNextLine(files, load)].filter((line) => line !== null),
    );
    if (expiring > 0) {
      verdictLines.push(
        `${formatCount(expiring)} of the ${formatCount(env.conntrackInUse)} entries in use are not established connections (closing, or UDP) and expire within minutes: the table has room for ${formatCount(conntrackFree)} now and up to ${formatCount(conntrackFreeLater)} once they have`,
      );
    }
    // Certain only when even the later room is too small; otherwise the clients may reach their own limits first.
    const certain = load.min > conntrackFreeLater;
    const total = {
      min: Math.min(load.min, Math.max(0, conntrackFree - clientCountOf(scenario))),
      max: Math.min(load.max ?? conntrackFreeLater, conntrackFreeLater),
    };
    return { server, accepted: total, total, limit: 'conntrack', error: stopsWith('ETIMEDOUT'), certain, reasoning: verdictLines };
  }
  verdictLines.push(
    churning
      ? serverClosesFirst(scenario)
        ? 'the server closes first, so the TIME_WAIT entries are its own (one per 4-tuple); it holds no connection open, so its descriptors do not bind'
        : 'the server closes its side after the client, so it holds no TIME_WAIT; its descriptors do not bind'
      : `the server and conntrack (${formatCount(conntrackFree)} free${env.network === 'overlay' ? " in the server's own namespace" : ''}) have room for every client's ${showCount(load)} connections`,
    ...[filesLine(files, load)].filter((line) => line !== null),
  );
  return { server, accepted: load, total: undefined, limit: 'none', error: NO_STOP, certain: true, reasoning: verdictLines };
}

/**
 * The host's conntrack room. On an overlay network the server's own namespace counts its connections, and it starts
 * empty. On a bridge the host's table does: what is in use now is taken, except the entries of connections already
 * closing (or UDP), which expire within minutes and may be free again before the clients need them.
 */
function conntrackRoom(env: Environment) {
  const overlay = env.network === 'overlay';
  const conntrackFree = overlay ? env.conntrackMax : env.conntrackMax - env.conntrackInUse;
  const expiring = overlay || env.conntrackEstablished === undefined ? 0 : Math.max(0, env.conntrackInUse - env.conntrackEstablished);
  return { conntrackFree, expiring, conntrackFreeLater: conntrackFree + expiring };
}

/** The network helper binds: every client's connections stop at its room, all together. */
function helperBinds(helper: HelperRoom, server: SharedLimits['server']): SharedLimits {
  const total = exactCount(helper.room);
  const reasoning = [...helper.lines, helperBindsLine(helper)];
  return { server, accepted: total, total, limit: helper.limit, error: stopsWith('ENETUNREACH'), certain: true, reasoning };
}

/** The conntrack table a run needs: every connection an entry, as many as are in use now, one more per client (its lookup of the server's name). */
export const conntrackNeeded = (env: Environment, load: CountRange, clients: number) =>
  (load.max ?? load.min) + (env.network === 'overlay' ? 0 : env.conntrackInUse) + clients;

/** The host setting that lifts the conntrack table, and to what. A child namespace cannot raise it; portlab never changes it. */
function conntrackLift(env: Environment, load: CountRange, clients: number): string {
  const needed = conntrackNeeded(env, load, clients);
  const where = env.network === 'overlay' ? "on the server's node" : 'on the host';
  return `to lift it, raise net.netfilter.nf_conntrack_max ${where} to at least ${formatCount(needed)} (sysctl -w net.netfilter.nf_conntrack_max=${needed}, as root; portlab does not change host settings)`;
}

/** When a shared limit caps the total, each client gets a share that depends on timing: bound it by the others' capacity. */
export function withSharedLimit(
  clients: ClientPrediction[],
  total: CountRange,
  limit: Limit,
  error: PredictedStop,
  certain: boolean,
): ClientPrediction[] {
  return clients.map((client, index) => {
    const othersMax = clients
      .filter((_, other) => other !== index)
      .reduce((sum, other) => sum + (other.connections.max ?? Number.POSITIVE_INFINITY), 0);
    const ownMax = client.connections.max ?? Number.POSITIVE_INFINITY;
    const min = Math.max(0, total.min - othersMax);
    const max = Math.min(ownMax, total.max ?? ownMax);
    const connections = { min: Math.min(min, max), max: Number.isFinite(max) ? max : null };
    const share = clients.length > 1 ? ` (its share depends on timing: ${showCount(connections)})` : '';
    return {
      ...client,
      connections,
      limit,
      error: certain ? error : eitherStop(error, client.error),
      reasoning: [
        ...client.reasoning,
        !certain
          ? `${limit} may bind before this client's own limit, depending on how soon the closing entries expire${share}`
          : `${limit} binds before this client's own limit${share}`,
      ],
    };
  });
}

export function mostCommonLimit(clients: ClientPrediction[]): Limit {
  const counts = new Map<Limit, number>();
  for (const client of clients) counts.set(client.limit, (counts.get(client.limit) ?? 0) + 1);
  return [...counts.entries()].sort((a, b) => b[1] - a[1])[0]?.[0] ?? 'none';
}
