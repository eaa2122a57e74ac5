import { z } from 'zod';

/**
 * What `portlab inspect` reads and says, schema first: the namespace as the probe read it, the host's shared tables,
 * the headroom the model gives it, and what would lift the limit that binds first. `--json` prints an Inspection;
 * `portlab schema inspection` publishes it.
 */
const int = z.number().int();
const States = z.record(z.string(), int);

/** What `probe inspect` read in the namespace. */
export const NamespaceLook = z.strictObject({
  portRange: z.strictObject({ low: int, high: int }),
  /** Listening ports of the namespace (Docker's DNS listener among them): skipped by every connect(). */
  boundPorts: z.array(int),
  reservedPorts: z.string(),
  somaxconn: int,
  sysctls: z.record(z.string(), z.string()),
  /**
   * Sockets connecting out, by remote address and port: their states, how many hold a port of the range, and how many
   * of those are TIME-WAITs.
   */
  destinations: z.array(z.strictObject({ address: z.string(), port: int, states: States, inRange: int, timeWaitInRange: int })),
  /** Sockets to destinations past the ones listed (the probe lists 128 at most). */
  moreDestinations: int,
  /** The ports of the range that sockets connecting out hold, to any destination, each counted once. */
  portsOut: int,
  /**
   * Listening sockets by port: their local address (0.0.0.0 or :: for all), the backlogs and accept queues of the
   * port's sockets summed (one per family, more with SO_REUSEPORT: `sockets`), the sockets accepted on it.
   */
  listeners: z.array(z.strictObject({ address: z.string(), port: int, backlog: int, queue: int, sockets: int, states: States })),
  processes: z.array(z.strictObject({ pid: int, name: z.string(), fds: int, nofile: int })),
});
export type NamespaceLook = z.infer<typeof NamespaceLook>;

/** The host's shared tables, where they could be read (the engine on this machine); null where not. */
export const HostRoom = z.strictObject({
  conntrack: z.strictObject({ max: int, inUse: int }).nullable(),
  files: z.strictObject({ allocated: int, max: int }).nullable(),
  /**
   * Addresses whose end of a connection is on this host too (the engine's containers, the host's own): a connection
   * to one takes two of the host's files, to another host one.
   */
  localAddresses: z.array(z.string()),
});
export type HostRoom = z.infer<typeof HostRoom>;

export const Headroom = z.strictObject({
  /** The connections one more connect() to each destination may still make, and the limit that stops it first. */
  destinations: z.array(
    z.strictObject({
      address: z.string(),
      port: int,
      states: States,
      portsUsed: int,
      /** The ports of the range no socket to this destination holds, less the one an odd range's search can miss. */
      portsFree: int,
      /**
       * Ports of the range held by sockets to other destinations only: free for this one when connect() chose them,
       * taken from it too when the application bound them first (bind() before connect(); sock_diag cannot tell).
       */
      portsElsewhere: int,
      left: int,
      limit: z.string(),
      /**
       * The churn view: TIME_WAITs now, how long one keeps its port from this destination (tcp_tw_reuse, decided per
       * destination), and the rate (connections/s) at which closing first uses up the ports no open connection holds;
       * null where it never can (tcp_max_tw_buckets is below them: past it no TIME_WAIT is made).
       */
      timeWait: z.strictObject({
        count: int,
        /** The ports of the range no open connection to it holds: what a churn cycles through. */
        churnPorts: int,
        reuseSeconds: z.number(),
        runsOutAbovePerSecond: int.nullable(),
        reuse: z.string(),
      }),
      /** The host's files one more connection to it takes: two where its other end is on this host too, else one. */
      filesPerConnection: int,
      lines: z.array(z.string()),
    }),
  ),
  listeners: z.array(
    z.strictObject({
      address: z.string(),
      port: int,
      /** Docker's embedded DNS listener (127.0.0.11), not the application's. */
      dockerDns: z.boolean(),
      backlog: int,
      /** Listening sockets on the port: each holds its own backlog + 1. */
      sockets: int,
      queued: int,
      queueRoom: int,
      accepted: int,
      descriptorsFree: int.nullable(),
      lines: z.array(z.string()),
    }),
  ),
  descriptors: z.strictObject({ process: z.string(), fds: int, nofile: int, free: int }).nullable(),
  lines: z.array(z.string()),
});
export type Headroom = z.infer<typeof Headroom>;

export const Lift = z.strictObject({
  /** A name for the change, also its client group's in the scenario file. */
  name: z.string(),
  change: z.string(),
  /** Connections to this destination with the change (the model's count, before the host's shared limits). */
  connections: int,
  /** The client group that tries it: what it changes on top of the container's own settings. */
  group: z.record(z.string(), z.unknown()),
});
export type Lift = z.infer<typeof Lift>;

/** What was inspected: a container (its id and name), a process (its pid, "name (pid N)"), the host's namespace. */
export const InspectionTarget = z.strictObject({
  kind: z.enum(['container', 'process', 'host']),
  id: z.string(),
  name: z.string(),
});
export type InspectionTarget = z.infer<typeof InspectionTarget>;

/** `portlab inspect --json`: one look at a running container, a process's namespace or the host's. */
export const Inspection = z.strictObject({
  target: InspectionTarget,
  namespace: NamespaceLook,
  host: HostRoom,
  headroom: Headroom,
  lifts: z.array(Lift).optional(),
  /** The scenario file that tries the lifts (results/inspect-<container>.yml). */
  scenarioFile: z.string().optional(),
  /** The same look as a page (results/inspect-<container>.html). */
  page: z.string(),
});
export type Inspection = z.infer<typeof Inspection>;

export function inspectionJsonSchema(): Record<string, unknown> {
  return {
    ...z.toJSONSchema(Inspection, { target: 'draft-2020-12' }),
    $id: 'https://portlab.invalid/schemas/inspection.schema.json',
    title: 'portlab inspect --json',
    description: 'One look at a running container: its namespace as read, the host, the headroom per destination and listener.',
  };
}
