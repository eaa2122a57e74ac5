/**
 * What would lift the limit that binds a running destination first (`portlab inspect`), each change with the
 * connections the model then allows to that destination, and a scenario file to try them: the container's own range
 * and nofile as one client group, each change as another. Pure: the file's text, not the file.
 */
import { stringify } from 'yaml';
import { formatCount } from './count-range.ts';
import { TIME_WAIT_SECONDS } from './kernel-facts.ts';
import type { Headroom, Lift, NamespaceLook } from './inspection-schema.ts';
import { reuseAgeOf } from './time-wait-reuse.ts';
import { expandPortList } from './ports.ts';

/** The widest range a namespace can have: every port above the well-known ones. */
const WIDEST_RANGE = { low: 1024, high: 65535 } as const;

type Destination = Headroom['destinations'][number];

/** How long the lift scenario churns: long enough that the container as it is runs out halfway through. */
const CHURN_SECONDS = 30;

/**
 * tcp_tw_reuse 1 (a namespaced sysctl) where the destination's ports are held by TIME-WAITs and reuse does not apply
 * yet: connect() takes a TIME_WAIT's port again once it is old enough (tcp_twsk_unique), so every usable port comes
 * back and closing first runs out at a rate the reuse age allows rather than the 60 s TIME_WAIT. Its group churns
 * (as the container did) at twice the rate the range lasts without reuse, so the container as it is runs out halfway.
 */
function twReuseLift(destination: Destination, look: NamespaceLook, usable: number): Lift[] {
  const timeWaits = destination.timeWait.count;
  // The headroom decided reuse for this destination already (tcp_twsk_unique): a wait under 60 s is reuse applying.
  const reused = destination.timeWait.reuseSeconds < TIME_WAIT_SECONDS;
  if (timeWaits === 0 || reused || destination.timeWait.runsOutAbovePerSecond === null) return [];
  const age = reuseAgeOf(look.sysctls, look.sysctls['net.ipv4.tcp_tw_reuse_delay'] ?? '', undefined);
  if (age.max >= TIME_WAIT_SECONDS) return [];
  const timestampsOff = look.sysctls['net.ipv4.tcp_timestamps'] === '0';
  const rate = Math.ceil((2 * usable) / CHURN_SECONDS);
  return [
    {
      name: 'tw-reuse',
      change: `net.ipv4.tcp_tw_reuse 1${timestampsOff ? ' and tcp_timestamps 1' : ''} (namespaced sysctls): the ${formatCount(timeWaits)} ports in TIME-WAIT are taken again once ${age.text} old, so closing first runs out above ${formatCount(Math.floor(destination.timeWait.churnPorts / age.max))}/s instead of ${formatCount(destination.timeWait.runsOutAbovePerSecond)}/s`,
      connections: usable,
      group: {
        mode: 'churn',
        close: 'client',
        duration: `${CHURN_SECONDS}s`,
        rate,
        sysctls: { 'net.ipv4.tcp_tw_reuse': '1', ...(timestampsOff ? { 'net.ipv4.tcp_timestamps': '1' } : {}) },
      },
    },
  ];
}

/** The changes that lift a destination's binding limit, each with the count it allows. */
export function liftsFor(destination: Destination, look: NamespaceLook, descriptors: Headroom['descriptors']): Lift[] {
  const usable = destination.portsUsed + destination.portsFree;
  // Every port the namespace listens on (Docker's DNS listener among them) or reserves within the widest range is
  // skipped by connect() there. Descriptors for `connections` on top of those the process holds now.
  const nofileFor = (connections: number) => (descriptors?.fds ?? 0) + connections;
  const taken = new Set(
    [...look.boundPorts, ...expandPortList(look.reservedPorts)].filter((port) => port >= WIDEST_RANGE.low && port <= WIDEST_RANGE.high),
  );
  const widest = WIDEST_RANGE.high - WIDEST_RANGE.low + 1 - taken.size;
  if (destination.limit === 'port-range') {
    return [
      {
        name: 'widest-range',
        change: `net.ipv4.ip_local_port_range ${WIDEST_RANGE.low} ${WIDEST_RANGE.high} (a namespaced sysctl: compose's sysctls), with nofile ${formatCount(nofileFor(widest))} to hold them`,
        connections: widest,
        group: {
          sysctls: { 'net.ipv4.ip_local_port_range': `${WIDEST_RANGE.low} ${WIDEST_RANGE.high}` },
          ulimits: { nofile: Math.max(descriptors?.nofile ?? 0, nofileFor(widest)) },
        },
      },
      {
        name: 'two-server-ports',
        change: `a second port on the server (or a second server address): another destination, another ${formatCount(usable)}`,
        connections: 2 * usable,
        group: { targets: [destination.port, destination.port + 1] },
      },
      {
        name: 'two-source-addresses',
        change: `a second source address on the client's interface: another ${formatCount(usable)} to the same server port`,
        connections: 2 * usable,
        group: { sourceAddresses: 2 },
      },
      ...twReuseLift(destination, look, usable),
    ];
  }
  if (destination.limit === 'nofile' && descriptors) {
    const nofile = descriptors.fds + destination.portsFree;
    return [
      {
        name: 'more-descriptors',
        change: `nofile ${formatCount(nofile)} (ulimits: its descriptors now and one for each free port), up from ${formatCount(descriptors.nofile)}`,
        connections: usable,
        group: { ulimits: { nofile } },
      },
    ];
  }
  return [];
}

/** The name of what `portlab inspect` writes for a container: inspect-<container>, as a scenario name may be spelt. */
export const inspectionName = (container: string): string =>
  `inspect-${container
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, '-')
    .replace(/^-+|-+$/g, '')}`
    .slice(0, 48)
    .replace(/-+$/, '');

/** A scenario file that tries the lifts beside the container as it is (its range and nofile), to run with `portlab run`. */
export function liftScenario(
  container: string,
  destination: Destination,
  look: NamespaceLook,
  descriptors: Headroom['descriptors'],
  lifts: Lift[],
): { name: string; text: string } {
  const name = inspectionName(container);
  const range = `${look.portRange.low} ${look.portRange.high}`;
  const asIs = {
    name: 'as-is',
    sysctls: { 'net.ipv4.ip_local_port_range': range },
    ...(descriptors ? { ulimits: { nofile: descriptors.nofile } } : {}),
  };
  // A lift that churns is tried beside the container as it is, churning the same way with its own tcp_tw_reuse.
  const churning = lifts.find((lift) => lift.group.mode === 'churn');
  const twReuse = look.sysctls['net.ipv4.tcp_tw_reuse'];
  const asIsChurning = churning
    ? [
        {
          ...asIs,
          ...churning.group,
          name: 'as-is-churning',
          sysctls: { ...asIs.sysctls, ...(twReuse === undefined ? {} : { 'net.ipv4.tcp_tw_reuse': twReuse }) },
        },
      ]
    : [];
  const ports = [...new Set([destination.port, ...lifts.flatMap((lift) => (lift.group.targets as number[] | undefined) ?? [])])];
  const scenario = {
    name,
    description: `What portlab inspect found for ${container} to ${destination.address}:${destination.port}: ${destination.limit} binds first (${formatCount(destination.left)} more). The client as it is, and each change that lifts it: ${lifts.map((lift) => `${lift.name} ${formatCount(lift.connections)}`).join(', ')}.`,
    server: { ports, ulimits: { nofile: 1_000_000 } },
    clients: [
      asIs,
      ...asIsChurning,
      ...lifts.map((lift) => ({
        ...asIs,
        name: lift.name,
        ...lift.group,
        sysctls: { ...asIs.sysctls, ...(lift.group.sysctls as object) },
      })),
    ].map((group) => ({ ...group, targets: (group as { targets?: number[] }).targets ?? [destination.port] })),
  };
  return { name, text: `# Written by portlab inspect; run it with: portlab run <this file>\n${stringify(scenario)}` };
}
