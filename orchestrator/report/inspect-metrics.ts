/**
 * One look of `portlab inspect` in Prometheus's text format (version 0.0.4), for `portlab inspect --serve`: per
 * destination the ports in use and available, the connections left and the limit that binds first, the headroom
 * ratio; per listening port its queue, backlog and sockets; per process its descriptors and nofile; the look's own
 * cost. Names follow Prometheus's conventions (a `portlab_` prefix, base units, `_ratio`, `_info` for a label that
 * names a state). Labels are bounded: the `top` destinations that run out first, and a gauge of how many were left
 * out; never a source port. The host's conntrack table and open files are node_exporter's
 * (node_nf_conntrack_entries, node_nf_conntrack_entries_limit, node_filefd_allocated, node_filefd_maximum): not
 * duplicated here, they are in every destination's connections left. Pure.
 */
import type { Headroom, InspectionTarget, NamespaceLook } from '../predict/inspection-schema.ts';

type Sample = { labels: Record<string, string>; value: number };
type Family = { name: string; help: string; type: 'gauge'; samples: Sample[] };

/** A label value as the text format writes it: backslash, double quote and newline escaped. */
const labelValue = (value: string) => value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');

function familyText({ name, help, type, samples }: Family): string {
  const lines = [`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`];
  for (const { labels, value } of samples) {
    const pairs = Object.entries(labels).map(([key, text]) => `${key}="${labelValue(text)}"`);
    lines.push(`${name}${pairs.length > 0 ? `{${pairs.join(',')}}` : ''} ${Number.isFinite(value) ? value : 'NaN'}`);
  }
  return lines.join('\n');
}

/** The destinations a scrape lists: the `top` with the fewest connections left (then the most ports in use). */
export function listedDestinations(room: Headroom, top: number): Headroom['destinations'] {
  return [...room.destinations].sort((a, b) => a.left - b.left || b.portsUsed - a.portsUsed).slice(0, top);
}

export type MetricsInput = {
  target: InspectionTarget;
  look: NamespaceLook;
  room: Headroom;
  top: number;
  lookSeconds: number;
};

type Destination = Headroom['destinations'][number];

/**
 * A maker of gauges over `entries`, each sample labelled by `labelsOf`; a value the probe could not read (-1) is left
 * out rather than exported.
 */
const gaugesOver =
  <T>(entries: readonly T[], labelsOf: (entry: T) => Record<string, string>) =>
  (name: string, help: string, pick: (entry: T) => number): Family => ({
    name,
    help,
    type: 'gauge',
    samples: entries.filter((entry) => pick(entry) >= 0).map((entry) => ({ labels: labelsOf(entry), value: pick(entry) })),
  });

/** The destinations' families: the `listed` ones, and how many were left out. */
function destinationFamilies(base: Record<string, string>, room: Headroom, listed: Destination[], look: NamespaceLook): Family[] {
  const at = (destination: Destination) => ({ ...base, address: destination.address, port: String(destination.port) });
  const gauge = gaugesOver(listed, at);
  return [
    gauge(
      'portlab_destination_ports_in_use',
      'Ports of the local port range held by sockets to the destination, in any state (a TIME-WAIT holds one).',
      (destination) => destination.portsUsed,
    ),
    gauge(
      'portlab_destination_ports_available',
      'Ports of the local port range a new connect() to the destination can still take.',
      (destination) => destination.portsFree,
    ),
    gauge(
      'portlab_destination_connections_left',
      "Connections to the destination before the first limit binds: the least of its available ports, the process's free descriptors, the host's conntrack and file room.",
      (destination) => destination.left,
    ),
    gauge(
      'portlab_destination_headroom_ratio',
      'Connections left over connections left plus ports in use: 0 when the destination has no room.',
      (destination) => (destination.left + destination.portsUsed === 0 ? 1 : destination.left / (destination.left + destination.portsUsed)),
    ),
    gauge('portlab_destination_time_wait_sockets', 'Sockets to the destination in TIME-WAIT.', (destination) => destination.timeWait.count),
    {
      name: 'portlab_destination_limit_info',
      help: 'The limit that binds first for the destination (port-range, nofile, conntrack, file-max), as a label.',
      type: 'gauge',
      samples: listed.map((destination) => ({ labels: { ...at(destination), limit: destination.limit }, value: 1 })),
    },
    {
      name: 'portlab_destinations_unlisted',
      help: 'Destinations left out of these metrics: only the ones that run out first are listed (--top).',
      type: 'gauge',
      samples: [{ labels: base, value: room.destinations.length - listed.length }],
    },
    {
      name: 'portlab_unlisted_destination_sockets',
      help: 'Sockets to destinations past the 128 the probe lists: in no destination above.',
      type: 'gauge',
      samples: [{ labels: base, value: look.moreDestinations }],
    },
  ];
}

/** The listening ports' families. */
function listenerFamilies(base: Record<string, string>, room: Headroom): Family[] {
  const gauge = gaugesOver(room.listeners, (entry) => ({ ...base, address: entry.address, port: String(entry.port) }));
  return [
    gauge(
      'portlab_listener_queue_length',
      'Completed handshakes waiting for accept() on the port, over its listening sockets.',
      (entry) => entry.queued,
    ),
    gauge(
      'portlab_listener_backlog',
      "The port's listening sockets' backlogs (as listen() asked, capped by somaxconn), summed: each socket holds one more.",
      (entry) => entry.backlog,
    ),
    gauge(
      'portlab_listener_sockets',
      'Listening sockets on the port (one per address family, more with SO_REUSEPORT).',
      (entry) => entry.sockets,
    ),
  ];
}

/** The processes' families: descriptors held and allowed. */
function processFamilies(base: Record<string, string>, look: NamespaceLook): Family[] {
  const gauge = gaugesOver(look.processes, (process) => ({ ...base, pid: String(process.pid), process: process.name }));
  return [
    gauge('portlab_process_open_fds', 'Descriptors a process of the namespace holds.', (process) => process.fds),
    gauge('portlab_process_max_fds', "A process's soft nofile: the descriptors it may hold.", (process) => process.nofile),
  ];
}

/** The exposition of one look. */
export function inspectionMetrics({ target, look, room, top, lookSeconds }: MetricsInput): string {
  const base = { target: target.name };
  const families: Family[] = [
    ...destinationFamilies(base, room, listedDestinations(room, top), look),
    ...listenerFamilies(base, room),
    ...processFamilies(base, look),
    {
      name: 'portlab_look_duration_seconds',
      help: 'How long the look behind this scrape took (the probe started, the kernel read, the probe gone).',
      type: 'gauge',
      samples: [{ labels: base, value: lookSeconds }],
    },
  ];
  return `${families.map(familyText).join('\n')}\n`;
}
