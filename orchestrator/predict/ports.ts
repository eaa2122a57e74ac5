/** Local ports: what a client's port range, ports already taken and what it does before connect() allow (docs/model.md, "Local ports"). */

import { requestedPortRange } from '../scenario/scenario-steps.ts';
import { type ClientGroup, type Scenario } from '../scenario/scenario-schema.ts';
import { formatPortRange, parsePortRange, portCount, type PortRange } from '../scenario/port-range.ts';
import { FAMILIES } from '../scenario/ip-family.ts';
import type { ContainerFacts, Environment } from './environment.ts';
import { KERNEL_DEFAULT_PORT_RANGE, KERNEL_FEATURES, kernelBefore } from './kernel-facts.ts';
import { exactCount, formatCount, showCount } from './count-range.ts';
import { scanLoss } from './port-scan.ts';
import type { CountRange, Limit } from './prediction-schema.ts';

export type PortCapacity = { range: PortRange; reserved: CountRange; perTarget: { min: number; max: number }; reasoning: string[] };

/**
 * The ports connect() searches for a socket with IP_LOCAL_PORT_RANGE (inet_sk_get_local_port_range,
 * net/ipv4/inet_connection_sock.c): each of the socket's bounds that lies inside the namespace's range replaces the
 * namespace's bound; one outside it is ignored.
 */
export function socketPortRange(namespace: PortRange, socket: PortRange): PortRange {
  const low = namespace.low <= socket.low && socket.low <= namespace.high ? socket.low : namespace.low;
  const high = low <= socket.high && socket.high <= namespace.high ? socket.high : namespace.high;
  return { low, high };
}

/** connect() without bind() picks a free local port per destination (__inet_hash_connect), skipping bound and reserved ports. */
export function portCapacity(group: ClientGroup, env: Environment, facts: ContainerFacts | undefined): PortCapacity {
  const requested = requestedPortRange(group.sysctls);
  const namespaceRange = facts?.portRange ?? requested ?? KERNEL_DEFAULT_PORT_RANGE;
  const reasoning = [
    `ip_local_port_range ${formatPortRange(namespaceRange)} = ${formatCount(portCount(namespaceRange))} ports (${facts ? 'read back in the container' : requested ? 'set by the scenario' : "a new network namespace's default"})`,
  ];
  const socket = group.socketPortRange === undefined ? undefined : parsePortRange(group.socketPortRange);
  const range = socket ? socketPortRange(namespaceRange, socket) : namespaceRange;
  const size = portCount(range);
  if (socket) {
    const ignored = [socket.low !== range.low ? `low ${socket.low}` : '', socket.high !== range.high ? `high ${socket.high}` : '']
      .filter(Boolean)
      .join(' and ');
    reasoning.push(
      `IP_LOCAL_PORT_RANGE ${formatPortRange(socket)} on each socket: connect() searches ${formatPortRange(range)} = ${formatCount(size)} ports${ignored ? ` (its ${ignored}: outside the namespace's range, so the namespace's bound stands; inet_sk_get_local_port_range)` : ''}, ${socketScanWhole(env) ? 'one port after another in one pass (__inet_hash_connect steps by 1 and keeps an odd count whole, Linux 6.8 and later)' : `as it searches the namespace's range (before Linux 6.8 __inet_hash_connect rounds a socket's range down to even too; the engine's kernel is ${env.kernel})`}`,
    );
    if (env.ipLocalPortRange === undefined && kernelBefore(env.kernel, KERNEL_FEATURES.socketPortRange.since)) {
      reasoning.push(
        `whether Linux ${env.kernel} has IP_LOCAL_PORT_RANGE (6.3 added it; 6.1.32 and later 6.1 kernels have it too) is known once a run's probe tries it`,
      );
    }
  }
  const reservedText = facts?.reservedPorts ?? group.sysctls['net.ipv4.ip_local_reserved_ports'] ?? '';
  const reservedList = expandPortList(reservedText).filter((port) => port >= range.low && port <= range.high);

  let reserved: CountRange;
  const skipped = new Set(reservedList);
  if (facts) {
    const bound = facts.boundPorts.filter((port) => port >= range.low && port <= range.high);
    for (const port of bound) skipped.add(port);
    reserved = exactCount(skipped.size);
    const outside = facts.boundPorts.filter((port) => !bound.includes(port));
    // Only Docker's embedded DNS binds in a container's namespace before its probe; on an engine without it, what is
    // bound there was bound by something else the container holds.
    const who = env.dnsListenerPortRange ? "Docker's embedded DNS listener on 127.0.0.11" : 'bound before the probe started';
    if (bound.length > 0) reasoning.push(`- ${bound.length} already bound in the namespace (port ${bound.join(', ')}: ${who})`);
    if (outside.length > 0)
      reasoning.push(
        `- 0: the port${outside.length > 1 ? 's' : ''} already bound in the namespace (${outside.join(', ')}, ${env.dnsListenerPortRange ? "Docker's embedded DNS listener" : 'bound before the probe started'}) lie outside the range`,
      );
  } else if (env.dnsListenerPortRange) {
    const dns = dnsListenerCost(env, range);
    reserved = { min: reservedList.length + dns.min, max: reservedList.length + (dns.max ?? 0) };
    reasoning.push(
      `- ${showCount(dns)} held by Docker's embedded DNS listener (127.0.0.11, bound in ${formatPortRange(env.dnsListenerPortRange)} before the scenario's sysctls apply${dns.min === dns.max ? '' : '; whether its port falls inside is known once measured'})`,
    );
  } else {
    reserved = exactCount(reservedList.length);
    reasoning.push(`- 0 held by a DNS listener: the engine's DNS server listens outside the container's namespace`);
  }
  if (reservedList.length > 0) reasoning.push(`- ${reservedList.length} in net.ipv4.ip_local_reserved_ports`);
  // From 6.8 a socket's own range is scanned whole, port by port: no parity pass leaves an end out.
  const scan = socket && socketScanWhole(env) ? { min: 0, max: 0, why: null } : scanLoss(range, skipped);
  if (scan.why) reasoning.push(scan.why);
  const perTarget = { min: size - (reserved.max ?? 0) - scan.max, max: size - reserved.min - scan.min };
  return { range, reserved, perTarget, reasoning };
}

/** Whether connect() scans a socket's own range whole on the engine's kernel (6.8 and later; an unknown kernel: as today's). */
const socketScanWhole = (env: Environment): boolean => !kernelBefore(env.kernel, KERNEL_FEATURES.socketRangeWholeScan.since);

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

export const targetsOf = (scenario: Scenario, group: ClientGroup) => group.targets ?? scenario.server.ports;

/**
 * How many destinations a group's connections spread over, each with the whole port range to itself: its target
 * ports, at each of the server's addresses it connects to (one per family), from each of its source addresses.
 */
export const destinationsOf = (group: Pick<ClientGroup, 'family' | 'sourceAddresses'>, targets: number): number =>
  targets * FAMILIES[group.family].length * group.sourceAddresses;

export type LocalPortLimit = {
  connections: { min: number; max: number };
  limit: Limit;
  error: string;
  conclusion: string;
  reasoning: string[];
};

/** How many connections the client's local ports allow, given what it does before connect(). */
export function localPortLimit(group: ClientGroup, ports: PortCapacity, targets: number[]): LocalPortLimit {
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
  const pairs = destinationsOf(group, targets.length);
  const families = FAMILIES[group.family];
  const atAddresses =
    families.length > 1
      ? " at both of the server's addresses, IPv4 and IPv6 (another destination address, another 4-tuple; net.ipv4.ip_local_port_range governs IPv6 connects too, and a port held in one family is held in both)"
      : families[0] === 'ipv6'
        ? " at the server's IPv6 address (net.ipv4.ip_local_port_range governs IPv6 connects too)"
        : '';
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
      `= ${showCount(ports.perTarget)} local ports per destination${noPort}, x ${destinations}${atAddresses}${families.length > 1 ? ' x 2' : ''}${fromSources}: the 4-tuple, not the local port, names a connection = ${showCount(connections)}`,
    ],
  };
}
