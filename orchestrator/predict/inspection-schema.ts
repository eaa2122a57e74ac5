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
  /** Sockets connecting out, by remote address and port: their states, and how many hold a port of the range. */
  destinations: z.array(z.strictObject({ address: z.string(), port: int, states: States, inRange: int })),
  /** Sockets to destinations past the ones listed (the probe lists 128 at most). */
  moreDestinations: int,
  /** Listening sockets: their local address (0.0.0.0 or :: for all), port, backlog, accept queue, accepted sockets. */
  listeners: z.array(z.strictObject({ address: z.string(), port: int, backlog: int, queue: int, states: States })),
  processes: z.array(z.strictObject({ pid: int, name: z.string(), fds: int, nofile: int })),
});
export type NamespaceLook = z.infer<typeof NamespaceLook>;

/** The host's shared tables, where they could be read (the engine on this machine); null where not. */
export const HostRoom = z.strictObject({
  conntrack: z.strictObject({ max: int, inUse: int }).nullable(),
  files: z.strictObject({ allocated: int, max: int }).nullable(),
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
      portsFree: int,
      left: int,
      limit: z.string(),
      /** The churn view: TIME_WAITs now, and the rate (connections/s) at which closing first uses the range up. */
      timeWait: z.strictObject({ count: int, runsOutAbovePerSecond: int, reuse: z.string() }),
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

/** `portlab inspect --json`: one look at a running container. */
export const Inspection = z.strictObject({
  container: z.strictObject({ id: z.string(), name: z.string() }),
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
