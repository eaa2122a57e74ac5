/**
 * Headroom: the model pointed at a namespace that is already running (`portlab inspect`). From one look at what the
 * kernel holds there (its port range and sysctls, its sockets by destination and state, its listeners, its
 * processes' descriptors) and the host's tables, how many more connections each destination and listener can take,
 * and the limit that stops them first, with the arithmetic (docs/model.md: the same limits a scenario is predicted by).
 */
import { formatPortRange, portCount } from '../scenario/port-range.ts';
import type { Headroom, HostRoom, NamespaceLook } from './inspection-schema.ts';
import { formatCount } from './count-range.ts';
import { expandPortList } from './ports.ts';
import { TIME_WAIT_SECONDS } from './kernel-facts.ts';
import { reuseAgeOf, twReuseApplies } from './time-wait-reuse.ts';

/** Where Docker's embedded DNS listens in every container of a user-defined network. */
const DOCKER_DNS_ADDRESS = '127.0.0.11';

/** The process that holds the most descriptors: whose nofile a new connection counts against. */
function busiest(look: NamespaceLook): NamespaceLook['processes'][number] | null {
  const known = look.processes.filter((process) => process.fds >= 0 && process.nofile > 0);
  return known.reduce<NamespaceLook['processes'][number] | null>(
    (most, process) => (most === null || process.fds > most.fds ? process : most),
    null,
  );
}

/** How long a TIME_WAIT keeps its port from one destination, as the namespace's sysctls say. */
function reuseOf(sysctls: Record<string, string>): { seconds: number; text: string } {
  const reuse = sysctls['net.ipv4.tcp_tw_reuse'];
  if (twReuseApplies(reuse, sysctls['net.ipv4.tcp_timestamps'])) {
    // As a churn's prediction has it: the namespace's delay, or (0, 1] s where the kernel has no such sysctl.
    const age = reuseAgeOf(sysctls, sysctls['net.ipv4.tcp_tw_reuse_delay'] ?? '', undefined);
    return { seconds: age.max, text: `tcp_tw_reuse 1: a TIME_WAIT port is taken again after ${age.text}` };
  }
  return {
    seconds: TIME_WAIT_SECONDS,
    text: `tcp_tw_reuse ${reuse ?? '2'}${reuse === '1' ? ' without timestamps' : reuse === '0' ? '' : ' (loopback only)'}: a TIME_WAIT keeps its port ${TIME_WAIT_SECONDS} s`,
  };
}

/** What the namespace has room for, shared by its destinations: ports per destination, descriptors, host tables. */
type Room = {
  usable: number;
  owner: NamespaceLook['processes'][number] | null;
  fdsFree: number | null;
  conntrackRoom: number | null;
  filesRoom: number | null;
  reuse: { seconds: number; text: string };
};

/** One destination's headroom: the least of its free ports, the free descriptors and the host's room. */
function destinationRoom(destination: NamespaceLook['destinations'][number], room: Room): Headroom['destinations'][number] {
  const { usable, owner, fdsFree, conntrackRoom, filesRoom, reuse } = room;
  const portsFree = Math.max(0, usable - destination.inRange);
  const limits: Array<[string, number | null]> = [
    ['port-range', portsFree],
    ['nofile', fdsFree],
    ['conntrack', conntrackRoom],
    ['file-max', filesRoom],
  ];
  const [limit, left] = limits
    .filter((entry): entry is [string, number] => entry[1] !== null)
    .reduce((least, entry) => (entry[1] < least[1] ? entry : least));
  const timeWaits = destination.states['TIME-WAIT'] ?? 0;
  return {
    address: destination.address,
    port: destination.port,
    states: destination.states,
    portsUsed: destination.inRange,
    portsFree,
    left,
    limit,
    timeWait: { count: timeWaits, runsOutAbovePerSecond: Math.floor(usable / reuse.seconds), reuse: reuse.text },
    lines: [
      `${formatCount(destination.inRange)} of its sockets hold a port of the range (any state: a TIME-WAIT keeps its port as an open connection does): ${formatCount(portsFree)} ports free for this destination`,
      ...(owner
        ? [
            `${owner.name} (pid ${owner.pid}) holds ${formatCount(owner.fds)} descriptors of its nofile ${formatCount(owner.nofile)}: ${formatCount(fdsFree ?? 0)} free`,
          ]
        : []),
      ...(conntrackRoom === null ? [] : [`conntrack: ${formatCount(conntrackRoom)} entries free on the host (shared by every container)`]),
      ...(filesRoom === null
        ? []
        : [`fs.file-max: room for ${formatCount(filesRoom)} more connections at two files each (shared by the host)`]),
      `${limit} binds first: ${formatCount(left)} more connection${left === 1 ? '' : 's'} to ${destination.address}:${destination.port}`,
      `churn: ${formatCount(timeWaits)} in TIME-WAIT now; ${reuse.text}, so closing first faster than ${formatCount(Math.floor(usable / reuse.seconds))}/s uses the range up (EADDRNOTAVAIL)`,
    ],
  };
}

/** The destination that runs out first: the one with the fewest connections left; undefined without one. */
export const firstToRunOut = (room: Headroom): Headroom['destinations'][number] | undefined =>
  room.destinations.reduce<Headroom['destinations'][number] | undefined>(
    (least, entry) => (least === undefined || entry.left < least.left ? entry : least),
    undefined,
  );

/** The headroom of every destination and listener of the namespace. Pure. */
export function headroom(look: NamespaceLook, host: HostRoom): Headroom {
  const range = look.portRange;
  const width = portCount(range);
  const skipped = new Set(
    [...expandPortList(look.reservedPorts), ...look.boundPorts].filter((port) => port >= range.low && port <= range.high),
  );
  const usable = width - skipped.size;
  const odd = width % 2 === 1 && skipped.size === 0;
  const owner = busiest(look);
  const fdsFree = owner ? Math.max(0, owner.nofile - owner.fds) : null;
  const conntrackRoom = host.conntrack ? Math.max(0, host.conntrack.max - host.conntrack.inUse) : null;
  const filesRoom = host.files ? Math.floor(Math.max(0, host.files.max - host.files.allocated) / 2) : null;
  const reuse = reuseOf(look.sysctls);
  const rangeLine = `ip_local_port_range ${formatPortRange(range)} = ${formatCount(width)} ports${skipped.size > 0 ? `, ${skipped.size} skipped (bound or reserved: ${[...skipped].join(', ')})` : ''} = ${formatCount(usable)} per destination${odd ? ' (odd: connect() may leave one end unused)' : ''}`;
  const room = { usable, owner, fdsFree, conntrackRoom, filesRoom, reuse };
  const destinations = look.destinations.map((destination) => destinationRoom(destination, room));
  const listeners = look.listeners.map((listener) => {
    // The queue is full once it holds more than the backlog (sk_acceptq_is_full).
    const queueRoom = Math.max(0, listener.backlog + 1 - listener.queue);
    const accepted = Math.max(0, (listener.states.ESTABLISHED ?? 0) - listener.queue);
    return {
      address: listener.address,
      port: listener.port,
      dockerDns: listener.address === DOCKER_DNS_ADDRESS,
      backlog: listener.backlog,
      queued: listener.queue,
      queueRoom,
      accepted,
      descriptorsFree: fdsFree,
      lines: [
        `backlog ${formatCount(listener.backlog)} (as listen() asked, capped by somaxconn ${formatCount(look.somaxconn)}), ${formatCount(listener.queue)} waiting for accept(): room for ${formatCount(queueRoom)} more completed handshakes`,
        `${formatCount(accepted)} accepted connections on port ${listener.port}${fdsFree === null ? '' : `; ${formatCount(fdsFree)} descriptors free for accept()`}`,
      ],
    };
  });
  return {
    destinations,
    listeners,
    descriptors: owner ? { process: owner.name, fds: owner.fds, nofile: owner.nofile, free: fdsFree ?? 0 } : null,
    lines: [
      rangeLine,
      ...(look.moreDestinations > 0 ? [`${formatCount(look.moreDestinations)} sockets to further destinations not listed`] : []),
      ...(host.conntrack ? [] : ["the host's conntrack and open files were not read (the engine is not on this machine)"]),
    ],
  };
}
