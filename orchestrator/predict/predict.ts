import {
  containerNames,
  phaseKey,
  requestedPortRange,
  SERVER_NAME,
  serverClosesFirst,
  type ClientGroup,
  type Phase,
  type Scenario,
} from '../scenario/scenario-schema.ts';
import { formatPortRange, portCount, type PortRange } from '../scenario/port-range.ts';
import { durationMs } from '../scenario/duration.ts';
import type { ContainerFacts, Environment } from './environment.ts';
import { KERNEL_DEFAULT_PORT_RANGE, NAMESPACE_SYSCTL_DEFAULTS, TIME_WAIT_SECONDS } from './kernel-facts.ts';
import { addCounts, exactCount, formatCount, showCount } from './count-range.ts';
import { HEADROOM, planWorkers, totalBudget } from './plan-workers.ts';
import { scanLoss } from './port-scan.ts';
import type { ClientPrediction, CountRange, Limit, Prediction } from './prediction-schema.ts';

/**
 * What the engine's grants changed, once per container: [name, note] for the server and each client container
 * that got less nofile than it asked for (a phased client's phases share one note).
 */
export function engineNotes(prediction: Prediction): Array<[string, string]> {
  const notes = new Map<string, string | null>([[SERVER_NAME, prediction.server.workers.note]]);
  for (const client of prediction.clients) notes.set(client.name, client.workers.note);
  return [...notes].flatMap(([name, note]) => (note ? [[name, note] as [string, string]] : []));
}

/**
 * Each client (and phase) on its own, before the limits all clients share (server, conntrack) are applied: what its
 * own namespace, port range and descriptors allow.
 */
export function predictClientsAlone(scenario: Scenario, env: Environment): ClientPrediction[] {
  const members = scenario.clients.flatMap((group) =>
    containerNames(group).flatMap((name) => stepsOf(group).map((step) => ({ ...step, name, phases: group.phases ?? [] }))),
  );
  return members.map(({ group, name, phase, phases }) => {
    const key = phaseKey(name, phase);
    const prediction =
      group.mode === 'hold' ? predictHoldingClient(scenario, group, env, name) : predictChurningClient(scenario, group, env, name, key);
    if (phase === null) return prediction;
    const earlier = phases.slice(0, phase - 1);
    const note = phaseNote(phase, prediction.targets, earlier);
    return { ...prediction, phase, reasoning: [note, ...prediction.reasoning] };
  });
}

/** Predicts what each client and the server end up with, and why, from the scenario and what is known of the environment. */
export function predict(scenario: Scenario, env: Environment): Prediction {
  const clients = predictClientsAlone(scenario, env);
  const measured = clients.every(({ name }) => env.containers[name]) && env.containers[SERVER_NAME] !== undefined;
  const load = clients.map((client) => client.connections).reduce(addCounts, exactCount(0));
  const shared = predictSharedLimits(scenario, env, load);

  const final = shared.total ? withSharedLimit(clients, shared.total, shared.limit, shared.error, shared.certain) : clients;
  const total = shared.total ?? load;
  const limit: Limit = shared.total ? shared.limit : mostCommonLimit(final);
  return {
    basis: measured ? 'measured' : 'assumed',
    clients: final,
    server: { ...shared.server, accepted: shared.accepted },
    total,
    limit,
    reasoning: [
      ...(measured
        ? []
        : [
            "Environment not yet measured: documented defaults stand in (a new namespace's port range, Docker's DNS listener, an engine that grants the nofile asked for); a run replaces them with what the probes report.",
          ]),
      ...shared.reasoning,
      `All clients together: ${showCount(total)} connections; the limit that binds: ${limit}.`,
    ],
  };
}

/** A group runs as itself, or as its phases one after another (each predicted with the group's settings and one process). */
function stepsOf(group: ClientGroup): Array<{ group: ClientGroup; phase: number | null }> {
  if (!group.phases) return [{ group, phase: null }];
  return group.phases.map((phase, index) => ({
    group: { ...group, ...phase, targets: phase.targets, processes: 1, phases: undefined },
    phase: index + 1,
  }));
}

/** Ports are per destination: what an earlier phase left in TIME_WAIT only matters for the same target. */
function phaseNote(phase: number, targets: number[], earlier: Phase[]): string {
  if (earlier.length === 0) return `phase ${phase}: starts with the container's ports all free`;
  const before = new Set(earlier.flatMap((step) => step.targets ?? []));
  const shared = targets.filter((port) => before.has(port));
  return shared.length === 0
    ? `phase ${phase}: connects to port ${targets.join(', ')}, other destinations than phase ${earlier.length > 1 ? `1-${earlier.length}` : '1'}'s (${[...before].join(', ')}); the 5-tuple differs, so ports left in TIME_WAIT or held there do not count here`
    : `phase ${phase}: shares port ${shared.join(', ')} with an earlier phase; what that phase left behind is not modelled here`;
}

type PortCapacity = { range: PortRange; reserved: CountRange; perTarget: { min: number; max: number }; reasoning: string[] };

/** connect() without bind() picks a free local port per destination (__inet_hash_connect), skipping bound and reserved ports. */
function portCapacity(group: ClientGroup, env: Environment, facts: ContainerFacts | undefined): PortCapacity {
  const requested = requestedPortRange(group.sysctls);
  const range = facts?.portRange ?? requested ?? KERNEL_DEFAULT_PORT_RANGE;
  const size = portCount(range);
  const reasoning = [
    `ip_local_port_range ${formatPortRange(range)} = ${formatCount(size)} ports (${facts ? 'read back in the container' : requested ? 'set by the scenario' : "a new network namespace's default"})`,
  ];
  const reservedText = facts?.reservedPorts ?? group.sysctls['net.ipv4.ip_local_reserved_ports'] ?? '';
  const reservedList = expandPortList(reservedText).filter((port) => port >= range.low && port <= range.high);

  let reserved: CountRange;
  const skipped = new Set(reservedList);
  if (facts) {
    const bound = facts.boundPorts.filter((port) => port >= range.low && port <= range.high);
    for (const port of bound) skipped.add(port);
    reserved = exactCount(skipped.size);
    const outside = facts.boundPorts.filter((port) => !bound.includes(port));
    if (bound.length > 0)
      reasoning.push(
        `- ${bound.length} already bound in the namespace (port ${bound.join(', ')}: Docker's embedded DNS listener on 127.0.0.11)`,
      );
    if (outside.length > 0)
      reasoning.push(
        `- 0: the port${outside.length > 1 ? 's' : ''} already bound in the namespace (${outside.join(', ')}, Docker's embedded DNS listener) lie outside the range`,
      );
  } else {
    const dns = dnsListenerCost(env, range);
    reserved = { min: reservedList.length + dns.min, max: reservedList.length + (dns.max ?? 0) };
    reasoning.push(
      `- ${showCount(dns)} held by Docker's embedded DNS listener (127.0.0.11, bound in ${env.dnsListenerPortRange ? formatPortRange(env.dnsListenerPortRange) : 'no range'} before the scenario's sysctls apply${dns.min === dns.max ? '' : '; whether its port falls inside is known once measured'})`,
    );
  }
  if (reservedList.length > 0) reasoning.push(`- ${reservedList.length} in net.ipv4.ip_local_reserved_ports`);
  const scan = scanLoss(range, skipped);
  if (scan.why) reasoning.push(scan.why);
  const perTarget = { min: size - (reserved.max ?? 0) - scan.max, max: size - reserved.min - scan.min };
  return { range, reserved, perTarget, reasoning };
}

/** How many ports of `range` the embedded DNS listener can hold: its port is random within its own range. */
function dnsListenerCost(env: Environment, range: PortRange): CountRange {
  const dns = env.dnsListenerPortRange;
  if (!dns) return exactCount(0);
  const overlap = Math.min(dns.high, range.high) - Math.max(dns.low, range.low) + 1;
  if (overlap <= 0) return exactCount(0);
  if (overlap >= portCount(dns)) return exactCount(1);
  return { min: 0, max: 1 };
}

/** "1,2-4,10" -> [1, 2, 3, 4, 10] (the kernel's format for ip_local_reserved_ports). */
export function expandPortList(text: string): number[] {
  return text
    .split(',')
    .map((part) => part.trim())
    .filter(Boolean)
    .flatMap((part) => {
      const [low, high = low] = part.split('-').map(Number);
      if (low === undefined || high === undefined || Number.isNaN(low) || Number.isNaN(high)) return [];
      return Array.from({ length: Math.max(0, high - low + 1) }, (_, index) => low + index);
    });
}

const targetsOf = (scenario: Scenario, group: ClientGroup) => group.targets ?? scenario.server.ports;

function predictHoldingClient(scenario: Scenario, group: ClientGroup, env: Environment, name: string): ClientPrediction {
  const facts = env.containers[name];
  const targets = targetsOf(scenario, group);
  const ports = portCapacity(group, env, facts);
  const local = localPortLimit(group, ports, targets);
  const portLimit = local.connections;
  const workers = planWorkers({
    requested: group.ulimits.nofile,
    processes: group.processes,
    fdsOpen: facts?.fdsOpen ?? env.probeFdsOpen,
    demand: portLimit.max + HEADROOM(portLimit.max),
    grantedNofile: facts?.nofile,
    ran: facts?.workers,
    env,
  });
  const fds = totalBudget(workers);
  const reasoning = [
    ...local.reasoning,
    `descriptors: ${workers.processes} worker${workers.processes > 1 ? 's' : ''} x up to ${formatCount(workers.appliedNofile.soft - workers.fdsOpen)} (nofile ${formatCount(workers.appliedNofile.soft)} - ${workers.fdsOpen} open) = budget ${formatCount(fds)}`,
    ...(workers.note ? [`note: ${workers.note}`] : []),
  ];

  let connections: CountRange;
  let limit: Limit;
  let error: string | null;
  // socket() needs its descriptor before connect() picks a port, so on a tie the descriptor runs out first.
  if (fds <= portLimit.min) {
    connections = exactCount(fds);
    limit = 'nofile';
    error = 'EMFILE';
    reasoning.push(
      `nofile binds: ${formatCount(fds)} <= ${formatCount(portLimit.min)}, so socket() fails with EMFILE at ${formatCount(fds)}`,
    );
  } else if (fds > portLimit.max) {
    connections = portLimit;
    limit = local.limit;
    error = local.error;
    reasoning.push(local.conclusion);
  } else {
    connections = { min: portLimit.min, max: fds };
    limit = local.limit;
    error = `${local.error}|EMFILE`;
    reasoning.push(`the port range or nofile binds, whichever is smaller once the DNS listener's port is known`);
  }
  const ownTable = ownConntrackLimit(env, connections);
  if (ownTable) {
    reasoning.push(ownTable.why);
    return {
      name,
      group: group.name,
      phase: null,
      mode: group.mode,
      workers,
      targets,
      portRange: ports.range,
      reservedPorts: ports.reserved,
      connections: ownTable.connections,
      limit: 'conntrack',
      error: 'ETIMEDOUT',
      reasoning,
    };
  }
  return {
    name,
    group: group.name,
    phase: null,
    mode: group.mode,
    workers,
    targets,
    portRange: ports.range,
    reservedPorts: ports.reserved,
    connections,
    limit,
    error,
    reasoning,
  };
}

/**
 * On an overlay network a client's own namespace tracks its connections, plus the one UDP entry of its lookup of the
 * server's name (measured: 20,000 entries for 19,999 connections). More than its node's nf_conntrack_max allows, and
 * its SYNs are dropped: connect() times out.
 */
function ownConntrackLimit(env: Environment, connections: CountRange): { connections: CountRange; why: string } | null {
  if (env.network !== 'overlay') return null;
  const room = env.conntrackMax - 1;
  if ((connections.max ?? Number.POSITIVE_INFINITY) <= room) return null;
  return {
    connections: { min: room, max: env.conntrackMax },
    why: `conntrack binds first: on an overlay network the client's own namespace tracks its connections against nf_conntrack_max ${formatCount(env.conntrackMax)}, one entry going to its lookup of the server's name until that expires (nf_conntrack_udp_timeout, 30 s); past ${formatCount(room)} to ${formatCount(env.conntrackMax)} its SYNs are dropped and connect() times out`,
  };
}

type LocalPortLimit = { connections: { min: number; max: number }; limit: Limit; error: string; conclusion: string; reasoning: string[] };

/** How many connections the client's local ports allow, given what it does before connect(). */
function localPortLimit(group: ClientGroup, ports: PortCapacity, targets: number[]): LocalPortLimit {
  const { perTarget } = ports;
  const destinations = `${targets.length} target port${targets.length > 1 ? 's' : ''} (${targets.join(', ')})`;
  const { bind } = group;
  if (bind === 'port-zero') {
    // bind(0) picks a port no other socket is bound to (inet_csk_find_open_port): one port, one connection.
    return {
      connections: perTarget,
      limit: 'port-range',
      error: 'EADDRINUSE',
      conclusion: `the port range binds: bind() fails with EADDRINUSE after ${showCount(perTarget)}`,
      reasoning: [
        ...ports.reasoning,
        `= ${showCount(perTarget)} local ports; bind(0) before connect() takes each port exclusively, for every destination, so ${destinations} do not multiply it`,
      ],
    };
  }
  if (typeof bind === 'object') {
    // A fixed local port: one connection per destination with SO_REUSEADDR (the 4-tuples differ), else one in all.
    const count = bind.reuseAddr ? targets.length : 1;
    return {
      connections: { min: count, max: count },
      limit: 'bound-port',
      error: bind.reuseAddr ? 'EADDRNOTAVAIL' : 'EADDRINUSE',
      conclusion: bind.reuseAddr
        ? 'the fixed local port binds: one more connect() would repeat a 4-tuple and fails with EADDRNOTAVAIL'
        : 'the fixed local port binds: without SO_REUSEADDR a second bind() to it fails with EADDRINUSE',
      reasoning: [
        `every socket binds local port ${bind.port}${bind.reuseAddr ? ' with SO_REUSEADDR' : ''} before connect()`,
        bind.reuseAddr
          ? `= one connection per destination: ${destinations} give ${count} distinct 4-tuples on one local port`
          : '= one socket at most: the port is taken once it is bound',
      ],
    };
  }
  const noPort = bind === 'port-zero-no-reserve' ? ' (bind(0) with IP_BIND_ADDRESS_NO_PORT leaves the choice to connect())' : '';
  const sources = group.sourceAddresses;
  const pairs = targets.length * sources;
  const connections = { min: perTarget.min * pairs, max: perTarget.max * pairs };
  const fromSources =
    sources > 1
      ? ` x ${sources} source addresses (each bound with IP_BIND_ADDRESS_NO_PORT; the DNS listener's port is skipped for all of them)`
      : '';
  return {
    connections,
    limit: 'port-range',
    error: 'EADDRNOTAVAIL',
    conclusion: `the port range binds: connect() fails with EADDRNOTAVAIL after ${showCount(connections)}`,
    reasoning: [
      ...ports.reasoning,
      `= ${showCount(ports.perTarget)} local ports per destination${noPort}, x ${destinations}${fromSources}: the 4-tuple, not the local port, names a connection = ${showCount(connections)}`,
    ],
  };
}

/** Churn: connect, close, repeat. Whether the client runs out depends on who closes first and on tcp_tw_reuse. */
function predictChurningClient(scenario: Scenario, group: ClientGroup, env: Environment, name: string, key: string): ClientPrediction {
  const facts = env.containers[name];
  const targets = targetsOf(scenario, group);
  const ports = portCapacity(group, env, facts);
  const local = localPortLimit(group, ports, targets);
  const usable = local.connections;
  const workers = planWorkers({
    requested: group.ulimits.nofile,
    processes: group.processes === 'auto' ? 1 : group.processes,
    fdsOpen: facts?.fdsOpen ?? env.probeFdsOpen,
    demand: 1,
    grantedNofile: facts?.nofile,
    ran: facts?.workers,
    env,
  });
  const sysctl = (key: string, fallback: string) => facts?.sysctls?.[key] ?? group.sysctls[key] ?? fallback;
  const defaults = NAMESPACE_SYSCTL_DEFAULTS;
  const twReuse = sysctl('net.ipv4.tcp_tw_reuse', defaults['net.ipv4.tcp_tw_reuse']);
  // With tcp_tw_reuse=1 a TIME_WAIT port may be taken again once it is this old (tcp_twsk_unique).
  const reuseAgeSeconds = Number(sysctl('net.ipv4.tcp_tw_reuse_delay', defaults['net.ipv4.tcp_tw_reuse_delay'])) / 1000;
  const timestamps = sysctl('net.ipv4.tcp_timestamps', defaults['net.ipv4.tcp_timestamps']) !== '0';
  const seconds = durationMs(group.duration ?? '0s') / 1000;
  const rate = group.rate;
  // Without a rate the client churns as fast as this engine lets it: known once an earlier run here measured it.
  const speed = rate ?? env.churnRate;
  const speedText = rate
    ? `${formatCount(rate)}/s`
    : `${formatCount(speed ?? 0)}/s (the speed unpaced churns reached on this engine before)`;
  const paced = pacedCount(rate, seconds, workers.processes, env.paceBehind?.[key]);
  const pacedText = paced.text;
  const early = killedTimeWaits(env, key, seconds, sysctl('net.ipv4.tcp_rfc1337', defaults['net.ipv4.tcp_rfc1337']));
  // The kills the probe counted bound the extra connections: one that came after the failure freed a port no connect() used.
  const runsOut: CountRange = early.killed === null ? { min: usable.min, max: null } : { min: usable.min, max: usable.max + early.killed };
  const reasoning = [...local.reasoning];
  const result = (connections: CountRange, limit: Limit, error: string | null, why: string) => {
    reasoning.push(why);
    return {
      name,
      group: group.name,
      phase: null,
      mode: group.mode,
      workers,
      targets,
      portRange: ports.range,
      reservedPorts: ports.reserved,
      connections,
      limit,
      error,
      reasoning,
    };
  };

  if (group.close === 'server') {
    return result(
      paced.count,
      'none',
      null,
      `the server closes first, so TIME_WAIT stays on the server (one per 4-tuple there) and each local port is free again once the client has closed: no failure; ${pacedText}`,
    );
  }
  reasoning.push(
    `the client closes first: each closed connection keeps its local port for this destination in TIME_WAIT for ${TIME_WAIT_SECONDS} s (tcp_fin_timeout does not shorten it)`,
  );
  // Past net.ipv4.tcp_max_tw_buckets the kernel keeps no TIME_WAIT at all (inet_twsk_alloc fails: "time wait bucket
  // table overflow"), so a namespace allowed fewer than its usable ports can never fill them.
  const buckets = Number(sysctl('net.ipv4.tcp_max_tw_buckets', String(Number.MAX_SAFE_INTEGER)));
  if (buckets < usable.min) {
    return result(
      rate ? paced.count : { min: usable.min + 1, max: null },
      'none',
      null,
      `net.ipv4.tcp_max_tw_buckets=${formatCount(buckets)}, fewer than the ${formatCount(usable.min)} ports: past that many, a closed connection gets no TIME_WAIT (the bucket table overflows) and its port is free at once, so the client never runs out; ${pacedText}`,
    );
  }
  const reuse = twReuse === '1' && timestamps;
  const window = Math.min(seconds, TIME_WAIT_SECONDS);
  if (speed === undefined) {
    const threshold = reuse ? usable.max / reuseAgeSeconds : usable.min / window;
    return result(
      { min: 1, max: runsOut.max },
      'time-wait',
      'EADDRNOTAVAIL|none',
      `no rate is set and no unpaced churn has run on this engine yet, so its speed is not known: faster than ${formatCount(Math.ceil(threshold))}/s it runs out of ports (EADDRNOTAVAIL after ${showCount(usable)} ${early.why}), slower it churns for its whole duration; this run measures the speed for the next`,
    );
  }
  if (reuse) {
    const reusable = usable.max / reuseAgeSeconds;
    if (speed <= reusable) {
      return result(
        rate ? paced.count : { min: usable.max + 1, max: null },
        'none',
        null,
        `net.ipv4.tcp_tw_reuse=1 with timestamps: connect() takes a TIME_WAIT port once it is ${reuseAgeSeconds} s old (tcp_twsk_unique, net.ipv4.tcp_tw_reuse_delay); ${speedText} cycles the ${formatCount(usable.max)} ports more slowly than that, so no failure: ${pacedText}`,
      );
    }
    return result(
      runsOut,
      'time-wait',
      'EADDRNOTAVAIL',
      `net.ipv4.tcp_tw_reuse=1, but at ${speedText} the ${formatCount(usable.max)} ports are used up within ${reuseAgeSeconds} s (net.ipv4.tcp_tw_reuse_delay), before any TIME_WAIT is old enough to reuse: EADDRNOTAVAIL after ${showCount(usable)} ${early.why} = ${showCount(runsOut)}`,
    );
  }
  const reuseText =
    twReuse === '1'
      ? 'net.ipv4.tcp_tw_reuse=1 but timestamps are off, so no reuse'
      : `net.ipv4.tcp_tw_reuse=${twReuse}${twReuse === '2' ? ' (loopback only; container traffic gets no reuse)' : ''}`;
  if (speed * window < usable.min) {
    return result(
      paced.count,
      'none',
      null,
      `${reuseText}, but ${speedText} over ${window} s puts fewer than ${formatCount(usable.min)} ports in TIME_WAIT at once: no failure; ${pacedText}`,
    );
  }
  return result(
    runsOut,
    'time-wait',
    'EADDRNOTAVAIL',
    `${reuseText}: at ${speedText} the ports fill with TIME_WAIT in about ${(usable.max / speed).toFixed(1)} s, and connect() fails with EADDRNOTAVAIL after ${showCount(usable)} ${early.why} = ${showCount(runsOut)}`,
  );
}

/**
 * A TIME_WAIT socket that receives an RST is killed at once (tcp_timewait_state_process; RFC 1337 calls it TIME_WAIT
 * assassination), unless net.ipv4.tcp_rfc1337=1: its port is free again, for one more connection. Measured here,
 * churning through 1,000 ports at full speed: 0 to 43 of the client's TIME_WAITs were killed by RSTs from the server
 * per run, exactly the count past 1,000; with tcp_rfc1337=1 the RSTs still came and the count was 1,000 every time.
 * The probe reports how many sockets entered TIME_WAIT (TcpExt TW) and how many are left when it stops: within 60 s
 * none can have expired, so the difference is the number killed. A kill after the failure (RSTs keep coming) freed a
 * port no connect() used, so the count lies between the usable ports and that many more (exact when none were killed).
 */
/**
 * A paced churn connects k at k x processes / rate seconds for every such time before the duration (the probe's
 * schedule), so it makes processes x ceil(rate x duration / processes) connections if it keeps its pace. A worker that
 * falls behind (the CPU) makes fewer; the probe says by how many.
 */
function pacedCount(
  rate: number | undefined,
  seconds: number,
  processes: number,
  behind: number | undefined,
): { count: CountRange; text: string } {
  if (!rate) return { count: { min: 1, max: null }, text: 'as many as it can in the duration' };
  const scheduled = processes * Math.ceil((Math.round(seconds * 1000) * rate) / (1000 * processes));
  const schedule = `${formatCount(rate)}/s for ${seconds} s: connect k at k/${formatCount(rate)} s while that is before the end = ${formatCount(scheduled)}`;
  if (behind === undefined) return { count: exactCount(scheduled), text: `${schedule} if the probe keeps its pace` };
  return {
    count: exactCount(scheduled - behind),
    text:
      behind === 0
        ? `${schedule} (it kept its pace)`
        : `${schedule} - ${formatCount(behind)} it fell behind its schedule (the CPU) = ${formatCount(scheduled - behind)}`,
  };
}

function killedTimeWaits(env: Environment, key: string, seconds: number, rfc1337: string): { killed: number | null; why: string } {
  if (rfc1337 === '1')
    return {
      killed: 0,
      why: `+ 0 (net.ipv4.tcp_rfc1337=1: a TIME_WAIT ignores RSTs, so every port stays taken for its ${TIME_WAIT_SECONDS} s)`,
    };
  const counts = env.timeWaits?.[key];
  if (counts && seconds < TIME_WAIT_SECONDS) {
    const killed = Math.max(0, counts.entered - counts.atEnd);
    return {
      killed,
      why:
        killed === 0
          ? `+ 0 (the namespace entered TIME_WAIT ${formatCount(counts.entered)} times and all ${formatCount(counts.atEnd)} were left at the end: no RST killed one)`
          : `+ 0 to ${formatCount(killed)} (the namespace entered TIME_WAIT ${formatCount(counts.entered)} times and ${formatCount(counts.atEnd)} were left when the probe looked; in ${seconds} s none can have expired, so ${formatCount(killed)} were killed by RSTs, each freeing its port for one more connection if it came before the failure: RFC 1337, net.ipv4.tcp_rfc1337=0)`,
    };
  }
  return {
    killed: null,
    why: '+ one for each TIME_WAIT an RST kills before it expires (RFC 1337 assassination, net.ipv4.tcp_rfc1337=0; the probe counts them)',
  };
}

type SharedLimits = {
  server: Omit<Prediction['server'], 'accepted'>;
  accepted: CountRange;
  /** Set when a limit shared by all clients (server descriptors, conntrack) caps the total. */
  total: CountRange | undefined;
  limit: Limit;
  /** What clients see once the shared limit binds. */
  error: string | null;
  /** False when the shared limit may bind or not (room that comes back in time): either error, the clients' own too. */
  certain: boolean;
  reasoning: string[];
};

/** Limits all clients share: the server's descriptors and accept queues, and the host's conntrack table. */
function predictSharedLimits(scenario: Scenario, env: Environment, load: CountRange): SharedLimits {
  const facts = env.containers[SERVER_NAME];
  const listenPorts = scenario.server.ports;
  const clientCount = scenario.clients.reduce((sum, group) => sum + group.count, 0);
  const churning = scenario.clients.every((group) => group.mode === 'churn');
  const demand = churning ? clientCount * 2 : (load.max ?? load.min);
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
  const server = { workers, listenPorts, acceptQueue, reasoning };
  const verdictLines: string[] = [];
  // On an overlay network the server's own namespace counts its connections, and it starts empty. On a bridge the
  // host's table does: what is in use now is taken, except the entries of connections already closing (or UDP),
  // which expire within minutes and may be free again before the clients need them.
  const overlay = env.network === 'overlay';
  const conntrackFree = overlay ? env.conntrackMax : env.conntrackMax - env.conntrackInUse;
  const expiring = overlay || env.conntrackEstablished === undefined ? 0 : Math.max(0, env.conntrackInUse - env.conntrackEstablished);
  const conntrackFreeLater = conntrackFree + expiring;

  // The smaller of the server's descriptors (with its accept queues) and the free conntrack entries binds first.
  if (!churning && load.min > fds && fds + acceptQueue <= conntrackFree) {
    // accept() takes the descriptor first, so on EMFILE the connection stays queued (inet_csk_accept).
    const stalled = fds + acceptQueue;
    const total =
      load.min >= stalled ? exactCount(stalled) : { min: Math.min(load.min, stalled), max: Math.min(load.max ?? stalled, stalled) };
    verdictLines.push(
      `the server's descriptors bind: it accepts ${formatCount(fds)}, the kernel completes ${formatCount(acceptQueue)} more into the accept queue, then drops SYNs: clients stall at ${showCount(total)} and connect() times out (ETIMEDOUT)`,
    );
    return { server, accepted: exactCount(fds), total, limit: 'server-nofile', error: 'ETIMEDOUT', certain: true, reasoning: verdictLines };
  }
  if (!churning && (load.max ?? load.min) > conntrackFree) {
    verdictLines.push(
      env.network === 'overlay'
        ? `conntrack binds on the server's node: on an overlay network the hosts' tables see only the VXLAN tunnel, and each container's own namespace tracks its connections against its node's nf_conntrack_max (${formatCount(env.conntrackMax)}); the server's namespace holds every connection, so once it is full new SYNs are dropped and connect() times out`
        : `conntrack binds: bridged traffic is tracked in the host's table, ${formatCount(env.conntrackMax)} entries with ${formatCount(env.conntrackInUse)} in use; once full, new SYNs are dropped and connect() times out`,
    );
    if (expiring > 0) {
      verdictLines.push(
        `${formatCount(expiring)} of the ${formatCount(env.conntrackInUse)} entries in use are not established connections (closing, or UDP) and expire within minutes: the table has room for ${formatCount(conntrackFree)} now and up to ${formatCount(conntrackFreeLater)} once they have`,
      );
    }
    // Certain only when even the later room is too small; otherwise the clients may reach their own limits first.
    const certain = load.min > conntrackFreeLater;
    const total = {
      min: Math.min(load.min, Math.max(0, conntrackFree - clientCount)),
      max: Math.min(load.max ?? conntrackFreeLater, conntrackFreeLater),
    };
    return { server, accepted: total, total, limit: 'conntrack', error: 'ETIMEDOUT', certain, reasoning: verdictLines };
  }
  verdictLines.push(
    churning
      ? serverClosesFirst(scenario)
        ? 'the server closes first, so the TIME_WAIT entries are its own (one per 4-tuple); it holds no connection open, so its descriptors do not bind'
        : 'the server closes its side after the client, so it holds no TIME_WAIT; its descriptors do not bind'
      : `the server and conntrack (${formatCount(conntrackFree)} free${env.network === 'overlay' ? " in the server's own namespace" : ''}) have room for every client's ${showCount(load)} connections`,
  );
  return { server, accepted: load, total: undefined, limit: 'none', error: null, certain: true, reasoning: verdictLines };
}

/** When a shared limit caps the total, each client gets a share that depends on timing: bound it by the others' capacity. */
function withSharedLimit(
  clients: ClientPrediction[],
  total: CountRange,
  limit: Limit,
  error: string | null,
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
      error: certain ? error : [...new Set([error, ...(client.error ?? '').split('|')].filter(Boolean))].join('|'),
      reasoning: [
        ...client.reasoning,
        !certain
          ? `${limit} may bind before this client's own limit, depending on how soon the closing entries expire${share}`
          : `${limit} binds before this client's own limit${share}`,
      ],
    };
  });
}

function mostCommonLimit(clients: ClientPrediction[]): Limit {
  const counts = new Map<Limit, number>();
  for (const client of clients) counts.set(client.limit, (counts.get(client.limit) ?? 0) + 1);
  return [...counts.entries()].sort((a, b) => b[1] - a[1])[0]?.[0] ?? 'none';
}
