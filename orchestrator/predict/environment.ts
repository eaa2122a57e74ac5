import { z } from 'zod';
import { DEFAULT_SOMAXCONN, KERNEL_DEFAULT_PORT_RANGE } from './kernel-facts.ts';
import { NofileLimit } from './prediction-schema.ts';

/** What one probe found in its container at start (its `ready` event). */
export const ContainerFacts = z.strictObject({
  nofile: NofileLimit,
  fdsOpen: z.number().int(),
  portRange: z.strictObject({ low: z.number().int(), high: z.number().int() }),
  /** TCP ports bound (listening or bound) in the container's network namespace before the probe started. */
  boundPorts: z.array(z.number().int()),
  reservedPorts: z.string(),
  somaxconn: z.number().int(),
  /** Other sysctls as read back in the container (tcp_tw_reuse, tcp_timestamps, tcp_fin_timeout). */
  sysctls: z.record(z.string(), z.string()).optional(),
  /** The worker layout the container actually ran with, so a re-prediction describes that run. */
  workers: z.strictObject({ processes: z.number().int(), fdBudget: z.number().int() }).optional(),
});
export type ContainerFacts = z.infer<typeof ContainerFacts>;

/** Facts about the engine and the containers that the predictor needs, measured or assumed. */
export const Environment = z.strictObject({
  /** The engine's kernel release (Linux "6.18.0"), where it is known: what the kernel has decides some predictions. */
  kernel: z.string().optional(),
  /** Whether that kernel takes IP_LOCAL_PORT_RANGE, as the probe found by trying it (6.3 has it, and 6.1.32 and later 6.1); absent: not tried. */
  ipLocalPortRange: z.boolean().optional(),
  /** Highest nofile the engine can give a container; null when it grants whatever is asked. */
  engineNofileCeiling: z.number().int().nullable(),
  /** nofile a container gets when the scenario sets none. */
  engineDefaultNofile: NofileLimit,
  /** The nproc a container naming its nofile must name too (Podman without CAP_SYS_RESOURCE); absent or null: none. */
  engineNprocWithNofile: NofileLimit.nullable().optional(),
  /** Descriptors a probe has open before it makes its first socket (stdin, stdout, stderr). */
  probeFdsOpen: z.number().int(),
  /** Docker's embedded DNS listens on 127.0.0.11 with a TCP port picked from this range before sysctls apply. */
  dnsListenerPortRange: z.strictObject({ low: z.number().int(), high: z.number().int() }).nullable(),
  /** net.core.somaxconn of a new network namespace. */
  somaxconn: z.number().int(),
  conntrackMax: z.number().int(),
  conntrackInUse: z.number().int(),
  /** Of those in use, the established TCP connections: the others (closing, UDP) expire within minutes. */
  conntrackEstablished: z.number().int().optional(),
  /** The host's open files at preflight (fs.file-nr's allocated, fs.file-max); absent until measured. */
  hostFiles: z.strictObject({ allocated: z.number().int(), max: z.number().int() }).optional(),
  /** The host's MemAvailable at preflight, and the sizes of the slab objects a connection is made of; absent until measured. */
  hostMemory: z.strictObject({ availableKb: z.number().int(), slabBytes: z.record(z.string(), z.number().int()) }).optional(),
  /**
   * How the containers are joined, which decides whose conntrack table counts their connections: a bridge on one
   * host (the local engine: the host's table), or a swarm's overlay (each container's own namespace; the hosts see
   * only the VXLAN tunnel).
   */
  network: z.enum(['bridge', 'overlay']),
  /** The host's own ip_local_port_range (its network namespace's), read by a probe there; absent: not read. */
  hostPortRange: z.strictObject({ low: z.number().int(), high: z.number().int() }).optional(),
  /**
   * The process that carries containers' connections beyond their network where one stands between (rootless
   * Podman's slirp4netns), each a socket of its own on the host: its soft nofile, and the descriptors it holds
   * already, read from /proc (of the one running, or of a new one preflight brought up; a dry run reads none);
   * absent: the containers' own sockets reach the host.
   */
  networkHelper: z
    .strictObject({
      program: z.string(),
      nofile: z.number().int(),
      descriptorsHeld: z.number().int(),
      held: z.enum(['running', 'new', 'not read']),
    })
    .optional(),
  /** Per container name ("server", "client-1", ...), what its probe reported; absent until measured. */
  containers: z.record(z.string(), ContainerFacts),
  /**
   * Per churning client (or phase, "client-1/phase-1"), as its probe reported when it stopped: how many sockets its
   * namespace put in TIME_WAIT while it churned, and how many were still there at the end.
   */
  timeWaits: z.record(z.string(), z.strictObject({ entered: z.number().int(), atEnd: z.number().int() })).optional(),
  /**
   * Connections per second an unpaced churning client reached on this engine before (the median); absent if none
   * has. Only the estimate printed before a run uses it: a verdict never depends on earlier runs.
   */
  churnRate: z.number().optional(),
  /** Per unpaced churning client: the connections per second it reached in this run, as its probe reported them. */
  churnSpeeds: z.record(z.string(), z.number()).optional(),
  /** Per paced churning client (or phase): how many connections its workers were behind their schedule at the end. */
  paceBehind: z.record(z.string(), z.number().int()).optional(),
});
export type Environment = z.infer<typeof Environment>;

/**
 * Used when nothing has been measured (a dry run). Each default is the kernel's or Docker's own:
 * a new netns starts with ip_local_port_range 32768 60999 and somaxconn 4096 (5.4+); the embedded DNS
 * of a user-defined network binds its TCP port in that default range; nf_conntrack_max as on these hosts.
 */
export const ASSUMED_ENVIRONMENT: Environment = {
  engineNofileCeiling: null,
  engineDefaultNofile: { soft: 1048576, hard: 1048576 },
  probeFdsOpen: 3,
  dnsListenerPortRange: KERNEL_DEFAULT_PORT_RANGE,
  somaxconn: DEFAULT_SOMAXCONN,
  conntrackMax: 262144,
  conntrackInUse: 0,
  network: 'bridge',
  containers: {},
};

/** The same for a swarm run: the containers are joined by an overlay network. */
export const ASSUMED_SWARM_ENVIRONMENT: Environment = { ...ASSUMED_ENVIRONMENT, network: 'overlay' };
