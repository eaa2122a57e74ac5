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
import { isLoopbackAddress, reuseAgeOf, twReuseApplies } from './time-wait-reuse.ts';
import { scanLoss } from './port-scan.ts';

/** Where Docker's embedded DNS listens in every container of a user-defined network. */
const DOCKER_DNS_ADDRESS = '127.0.0.11';

/**
 * Whose nofile a new connection counts against: the process asked about (`portlab inspect --pid`), else the one that
 * holds the most descriptors.
 */
function busiest(look: NamespaceLook, pid?: number): NamespaceLook['processes'][number] | null {
  const known = look.processes.filter((process) => process.fds >= 0 && process.nofile > 0);
  const asked = known.find((process) => process.pid === pid);
  if (asked) return asked;
  return known.reduce<NamespaceLook['processes'][number] | null>(
    (most, process) => (most === null || process.fds > most.fds ? process : most),
    null,
  );
}

/**
 * How long a TIME_WAIT keeps its port from one destination, as the namespace's sysctls say: tcp_tw_reuse is decided
 * per destination (2, the default, reuses only to and from loopback; tcp_twsk_unique).
 */
function reuseTo(address: string, sysctls: Record<string, string>): { seconds: number; text: string } {
  const reuse = sysctls['net.ipv4.tcp_tw_reuse'] ?? '2';
  const loopback = isLoopbackAddress(address);
  if (twReuseApplies(reuse, sysctls['net.ipv4.tcp_timestamps'], loopback)) {
    // As a churn's prediction has it: the namespace's delay, or (0, 1] s where the kernel has no such sysctl.
    const age = reuseAgeOf(sysctls, sysctls['net.ipv4.tcp_tw_reuse_delay'] ?? '', undefined);
    const which = reuse === '1' ? 'tcp_tw_reuse 1' : `tcp_tw_reuse 2 to a loopback address (${address})`;
    return { seconds: age.max, text: `${which}: a TIME_WAIT port is taken again after ${age.text}` };
  }
  const why = reuse === '1' || loopback ? ' without timestamps' : reuse === '0' ? '' : ` (loopback only, and ${address} is not)`;
  return { seconds: TIME_WAIT_SECONDS, text: `tcp_tw_reuse ${reuse}${why}: a TIME_WAIT keeps its port ${TIME_WAIT_SECONDS} s` };
}

/** What the namespace has room for, shared by its destinations: ports per destination, descriptors, host tables. */
type Room = {
  usable: number;
  /** Ports an odd range's search can leave out (0 or 1), taken off each destination's free ports. */
  scanMiss: number;
  portsOut: number;
  owner: NamespaceLook['processes'][number] | null;
  fdsFree: number | null;
  conntrackRoom: number | null;
  filesFree: number | null;
  localAddresses: ReadonlySet<string>;
  sysctls: Record<string, string>;
  /** tcp_max_tw_buckets: past it no TIME_WAIT is made (inet_twsk_alloc). */
  buckets: number | null;
};

/**
 * The churn view of one destination: closing first leaves each port in TIME_WAIT for `reuse.seconds`, so the ports no
 * open connection holds last `seconds` at a rate of churnRoom/seconds; never where tcp_max_tw_buckets is below them.
 */
function churnView(destination: NamespaceLook['destinations'][number], room: Room, reuse: { seconds: number; text: string }) {
  const open = Math.max(0, destination.inRange - destination.timeWaitInRange);
  const churnRoom = Math.max(0, room.usable - room.scanMiss - open);
  const timeWaits = destination.states['TIME-WAIT'] ?? 0;
  const never = room.buckets !== null && room.buckets < churnRoom;
  const runsOutAbovePerSecond = never ? null : Math.floor(churnRoom / reuse.seconds);
  const line = never
    ? `churn: ${formatCount(timeWaits)} in TIME-WAIT now; net.ipv4.tcp_max_tw_buckets ${formatCount(room.buckets!)} is below the ${formatCount(churnRoom)} ports no open connection holds: past it a closed connection gets no TIME_WAIT (inet_twsk_alloc), so closing first never uses the range up`
    : churnRoom === 0
      ? `churn: open connections hold every port of the range to this destination: one more connect() fails (EADDRNOTAVAIL) until one closes`
      : `churn: ${formatCount(timeWaits)} in TIME-WAIT now; ${reuse.text}, so closing first faster than ${formatCount(runsOutAbovePerSecond!)}/s uses up the ${formatCount(churnRoom)} ports no open connection holds${open > 0 ? ` (${formatCount(room.usable - room.scanMiss)} less the ${formatCount(open)} open)` : ''} (EADDRNOTAVAIL)`;
  return {
    timeWait: { count: timeWaits, churnPorts: churnRoom, reuseSeconds: reuse.seconds, runsOutAbovePerSecond, reuse: reuse.text },
    line,
  };
}

/** One destination's headroom: the least of its free ports, the free descriptors and the host's room. */
function destinationRoom(destination: NamespaceLook['destinations'][number], room: Room): Headroom['destinations'][number] {
  const { usable, scanMiss, owner, fdsFree, conntrackRoom, filesFree } = room;
  // Where TIME_WAITs to it are reused (tcp_twsk_unique), connect() takes their ports again: only open ones hold theirs.
  const reuse = reuseTo(destination.address, room.sysctls);
  const reused = reuse.seconds < TIME_WAIT_SECONDS ? destination.timeWaitInRange : 0;
  const portsFree = Math.max(0, usable - scanMiss - (destination.inRange - reused));
  const portsElsewhere = Math.max(0, room.portsOut - destination.inRange);
  const filesPerConnection = isLoopbackAddress(destination.address) || room.localAddresses.has(destination.address) ? 2 : 1;
  const filesRoom = filesFree === null ? null : Math.floor(filesFree / filesPerConnection);
  const limits: Array<[string, number | null]> = [
    ['port-range', portsFree],
    ['nofile', fdsFree],
    ['conntrack', conntrackRoom],
    ['file-max', filesRoom],
  ];
  const [limit, left] = limits
    .filter((entry): entry is [string, number] => entry[1] !== null)
    .reduce((least, entry) => (entry[1] < least[1] ? entry : least));
  const churn = churnView(destination, room, reuse);
  return {
    address: destination.address,
    port: destination.port,
    states: destination.states,
    portsUsed: destination.inRange,
    portsFree,
    portsElsewhere,
    left,
    limit,
    timeWait: churn.timeWait,
    filesPerConnection,
    lines: [
      `${formatCount(destination.inRange)} of its sockets hold a port of the range (${reused > 0 ? `the ${formatCount(reused)} in TIME-WAIT give theirs to a new connect() once ${reuse.seconds} s old` : 'any state: a TIME-WAIT keeps its port as an open connection does'}): ${formatCount(portsFree)} ports free for this destination${scanMiss > 0 ? " (one more if the odd range's search reaches its missed end)" : ''}`,
      ...(portsElsewhere > 0
        ? [
            `${formatCount(portsElsewhere)} more ports of the range are held by sockets to other destinations: free for this one where connect() chose them, taken from it too where the application bound them first (bind() before connect(), without IP_BIND_ADDRESS_NO_PORT), which the kernel's socket list does not tell: then ${formatCount(Math.max(0, portsFree - portsElsewhere))} ports free`,
          ]
        : []),
      ...(owner
        ? [
            `${owner.name} (pid ${owner.pid}) holds ${formatCount(owner.fds)} descriptors of its nofile ${formatCount(owner.nofile)}: ${formatCount(fdsFree ?? 0)} free`,
          ]
        : []),
      ...(conntrackRoom === null ? [] : [`conntrack: ${formatCount(conntrackRoom)} entries free on the host (shared by every container)`]),
      ...(filesRoom === null
        ? []
        : [
            `fs.file-max: room for ${formatCount(filesRoom)} more connections at ${filesPerConnection === 2 ? 'two files each (both ends on this host)' : 'one file each (the other end is on another host)'} (shared by the host)`,
          ]),
      `${limit} binds first: ${formatCount(left)} more connection${left === 1 ? '' : 's'} to ${destination.address}:${destination.port}`,
      churn.line,
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
export function headroom(look: NamespaceLook, host: HostRoom, pid?: number): Headroom {
  const range = look.portRange;
  const width = portCount(range);
  const skipped = new Set(
    [...expandPortList(look.reservedPorts), ...look.boundPorts].filter((port) => port >= range.low && port <= range.high),
  );
  const usable = width - skipped.size;
  const scan = scanLoss(range, skipped);
  const owner = busiest(look, pid);
  const fdsFree = owner ? Math.max(0, owner.nofile - owner.fds) : null;
  const conntrackRoom = host.conntrack ? Math.max(0, host.conntrack.max - host.conntrack.inUse) : null;
  const filesFree = host.files ? Math.max(0, host.files.max - host.files.allocated) : null;
  const buckets = look.sysctls['net.ipv4.tcp_max_tw_buckets'];
  const rangeLine = `ip_local_port_range ${formatPortRange(range)} = ${formatCount(width)} ports${skipped.size > 0 ? `, ${skipped.size} skipped (bound or reserved: ${[...skipped].join(', ')})` : ''} = ${formatCount(usable)} per destination${scan.max > 0 ? ` ${scan.why}` : ''}`;
  const room: Room = {
    usable,
    scanMiss: scan.max,
    portsOut: look.portsOut,
    owner,
    fdsFree,
    conntrackRoom,
    filesFree,
    localAddresses: new Set(host.localAddresses),
    sysctls: look.sysctls,
    buckets: buckets !== undefined && /^\d+$/.test(buckets) ? Number(buckets) : null,
  };
  const destinations = look.destinations.map((destination) => destinationRoom(destination, room));
  const listeners = look.listeners.map((listener) => {
    // A socket's queue is full once it holds more than its backlog (sk_acceptq_is_full): each of the port's sockets
    // (one per family, more with SO_REUSEPORT) holds its own backlog + 1.
    const queueRoom = Math.max(0, listener.backlog + listener.sockets - listener.queue);
    const accepted = Math.max(0, (listener.states.ESTABLISHED ?? 0) - listener.queue);
    return {
      address: listener.address,
      port: listener.port,
      dockerDns: listener.address === DOCKER_DNS_ADDRESS,
      backlog: listener.backlog,
      sockets: listener.sockets,
      queued: listener.queue,
      queueRoom,
      accepted,
      descriptorsFree: fdsFree,
      lines: [
        `backlog ${formatCount(listener.backlog)}${listener.sockets > 1 ? ` over ${listener.sockets} listening sockets, each holding its own backlog + 1 (one per address family, more with SO_REUSEPORT, which spreads connections by hash: one socket can fill first)` : ''} (as listen() asked, capped by somaxconn ${formatCount(look.somaxconn)}), ${formatCount(listener.queue)} waiting for accept(): room for ${formatCount(queueRoom)} more completed handshakes`,
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
