import { z } from 'zod';
import { NamespaceLook } from '../predict/inspection-schema.ts';

const Role = z.enum(['server', 'client', 'limits', 'inspect']);
const ms = z.number().int();

/** The probe's protocol (images/probe/probe.c): one JSON object per stdout line. */
/** One process of an observed application: its descriptors (/proc/PID/fd) and soft nofile (-1 where unreadable). */
const ObservedProcess = z.object({ pid: z.number().int(), name: z.string(), fds: z.number().int(), nofile: z.number().int() });

/**
 * `probe observe`: the kernel's view of an application's network namespace (sock_diag), every interval: TCP sockets
 * by state per port (on the ports for a server, to them for a client), the listening sockets on them with their
 * backlog and accept queue, and the application's processes.
 */
export const ObserveEvent = z.object({
  event: z.literal('observe'),
  role: z.enum(['server', 'client']),
  t: z.number().int(),
  ports: z.record(z.string(), z.record(z.string(), z.number().int())),
  /** Of those sockets, the ones a process of the application holds a descriptor of (a server: accepted, not closed). */
  held: z.number().int(),
  listeners: z.array(z.object({ port: z.number().int(), backlog: z.number().int(), queue: z.number().int() })),
  sockets: z.number().int(),
  processes: z.array(ObservedProcess),
});
export type ObserveEvent = z.infer<typeof ObserveEvent>;

export const ReadyEvent = z.object({
  event: z.literal('ready'),
  role: Role,
  t: ms,
  nofile: z.object({ soft: z.number().int(), hard: z.number().int() }),
  /** The process's RLIMIT_NPROC (-1: unlimited); absent from probes before it was reported. */
  nproc: z.object({ soft: z.number().int(), hard: z.number().int() }).optional(),
  fdsOpen: z.number().int(),
  portRange: z.object({ low: z.number().int(), high: z.number().int() }),
  boundPorts: z.array(z.number().int()),
  reservedPorts: z.string(),
  somaxconn: z.number().int(),
  sysctls: z.record(z.string(), z.string()),
  processes: z.number().int(),
  fdBudget: z.number().int(),
  /** Wall-clock time of the probe's start, ms since the epoch (the host's clock, shared by every container). */
  epochMs: z.number().int().optional(),
  server: z.string().optional(),
  /** A dual-stack client: the server's IPv6 address beside `server`, its IPv4 one. */
  server6: z.string().optional(),
  targets: z.number().int().optional(),
  /** Client workers take turns (each starts when the previous one used its share of the budget). */
  handoff: z.boolean().optional(),
  sources: z.array(z.string()).optional(),
  /** A client running phases one after another reports how many; its later events carry `phase`. */
  phases: z.number().int().optional(),
  backlog: z.number().int().optional(),
  listenPorts: z.number().int().optional(),
  conntrack: z.object({ max: z.number().int(), count: z.number().int(), established: z.number().int().optional() }).optional(),
  /** limits: the kernel's open files (fs.file-nr's allocated and fs.file-max) and MemAvailable, global to the host. */
  files: z.object({ allocated: z.number().int(), max: z.number().int() }).optional(),
  memoryAvailableKb: z.number().int().optional(),
  cores: z.number().int().positive().optional(),
  ehashEntries: z.number().int().positive().optional(),
  slabBytes: z.record(z.string(), z.number().int().positive()).optional(),
  /** limits: whether the kernel takes IP_LOCAL_PORT_RANGE (setsockopt tried; false: ENOPROTOOPT), and its build (uname -v). */
  ipLocalPortRange: z.boolean().optional(),
  kernelBuild: z.string().optional(),
  /** limits: its network namespace ("net:[inode]") and the kernel's boot id, which together name that namespace. */
  netns: z.string().optional(),
  bootId: z.string().optional(),
  /** observe: the observed application's processes when the observer started (its nofile is theirs, not the observer's). */
  observed: z.array(ObservedProcess).optional(),
});
export type ReadyEvent = z.infer<typeof ReadyEvent>;

export const ProbeEvent = z.discriminatedUnion('event', [
  ReadyEvent,
  ObserveEvent,
  /** A client started with PORTLAB_WAIT_FOR_GO: it waits for SIGUSR2 before it does anything (its clock starts then). */
  z.object({ event: z.literal('waiting'), role: Role, t: ms }),
  z.object({ event: z.literal('worker'), role: Role, worker: z.number().int(), pid: z.number().int(), budget: z.number().int(), t: ms }),
  z.object({
    event: z.literal('progress'),
    role: Role,
    worker: z.number().int(),
    count: z.number().int(),
    /** Churn: sockets of the namespace in TIME_WAIT now (-1 when /proc/net/sockstat could not be read). */
    timeWait: z.number().int().optional(),
    t: ms,
    phase: z.number().int().optional(),
  }),
  z.object({ event: z.literal('limit'), role: Role, worker: z.number().int(), count: z.number().int(), errno: z.string(), t: ms }),
  z.object({
    event: z.literal('done'),
    role: Role,
    worker: z.number().int(),
    count: z.number().int(),
    errno: z.string(),
    /**
     * error: a syscall stopped it; signal: the run ended first; handoff: it used its share and the next worker
     * takes over; duration: a churning worker churned for its whole duration; kept: a server (or observer) of a
     * kept run printed its final counts and goes on holding.
     */
    reason: z.enum(['error', 'signal', 'handoff', 'duration', 'kept']).optional(),
    /** Sockets of the container's namespace in TIME_WAIT when the worker stopped. */
    timeWait: z.number().int().optional(),
    /** Churn: sockets the namespace put in TIME_WAIT while the worker churned (TcpExt TW); -1 where unknown. */
    timeWaitEntered: z.number().int().optional(),
    /** Paced churn run to its duration: how many connections the worker was behind its schedule at the end; -1 otherwise. */
    paceBehind: z.number().int().optional(),
    /** A client connecting over IPv6 (family ipv6 or dual): how many of its count went to the server's IPv6 address. */
    ipv6: z.number().int().optional(),
    phase: z.number().int().optional(),
    t: ms,
  }),
  z.object({ event: z.literal('fatal'), message: z.string(), errno: z.string(), t: ms }),
  /**
   * An observer that started the application itself (`observe ... -- COMMAND`, a swarm task): the application ended,
   * with its exit code, or the signal that ended it (code null).
   */
  z.object({ event: z.literal('exit'), role: Role, code: z.number().int().nullable(), signal: z.number().int().nullable(), t: ms }),
  /** `probe sysctls`: every sysctl under /proc/sys/net of the probe's network namespace, dotted. */
  z.object({ event: z.literal('sysctls'), names: z.array(z.string()), t: ms }),
  /** `probe inspect` (images/probe/inspect.c), after its ready line: one look at the namespaces it was started in. */
  z.object({
    event: z.literal('inspect'),
    t: ms,
    ...NamespaceLook.pick({ destinations: true, moreDestinations: true, portsOut: true, listeners: true, processes: true }).shape,
  }),
]);
export type ProbeEvent = z.infer<typeof ProbeEvent>;

export type ParsedLine = { ok: true; event: ProbeEvent } | { ok: false; line: string; reason: string };

/** One stdout line of a probe; anything that is not a protocol line is returned as such, never guessed at. */
export function parseProbeLine(line: string): ParsedLine {
  let json: unknown;
  try {
    json = JSON.parse(line);
  } catch {
    return { ok: false, line, reason: 'not JSON' };
  }
  const result = ProbeEvent.safeParse(json);
  return result.success
    ? { ok: true, event: result.data }
    : { ok: false, line, reason: result.error.issues[0]?.message ?? 'not a probe event' };
}
