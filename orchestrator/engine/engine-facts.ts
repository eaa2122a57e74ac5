import type { ReadyEvent } from '../observe/probe-events.ts';
import type { Environment } from '../predict/environment.ts';
import type { EngineVersion } from './docker/engine.ts';

/** A host's conntrack table: established are TCP entries in state ESTABLISHED; the others in use are closing (or UDP) and expire. */
export type ConntrackTable = { max: number; inUse: number; established?: number };

export type EngineFacts = {
  version: EngineVersion;
  /** Highest nofile a container can get; null when the engine granted all that was asked. */
  nofileCeiling: number | null;
  defaultNofile: { soft: number; hard: number };
  /** The nproc a container naming its nofile must name too (Podman without CAP_SYS_RESOURCE); null: none needed. */
  nprocWithNofile?: { soft: number; hard: number } | null;
  /** established: TCP entries in state ESTABLISHED; the other entries in use are closing (or UDP) and expire. */
  conntrack: ConntrackTable | null;
  /**
   * The host's kernel-wide limits at the start, read by the probe that reads its conntrack table: open files
   * (allocated of fs.file-max) and the memory available. Absent when not read (a swarm, an older result).
   */
  host?: HostLimits;
  /** Where a helper process carries containers' connections beyond their network (rootless Podman's slirp4netns). */
  networkHelper?: Environment['networkHelper'];
  /** On a swarm: every node services can be placed on, and its conntrack table (the server's node's is `conntrack`). */
  nodes?: Array<{ id: string; hostname: string; role: string; labels: Record<string, string>; conntrack: ConntrackTable | null }>;
};

/** A host's kernel-wide limits: open files (fs.file-nr's allocated, fs.file-max) and MemAvailable; null: unreadable. */
export type HostLimits = {
  files: { allocated: number; max: number } | null;
  memoryAvailableKb: number | null;
  /** The cores clients share, and the size of the established hash every namespace shares; absent: not read. */
  cores?: number;
  ehashEntries?: number;
  /** Sizes of the slab objects a connection is made of (TCP, sock_inode_cache, filp, ...), from /proc/slabinfo. */
  slabBytes?: Record<string, number>;
  /** Whether the kernel takes IP_LOCAL_PORT_RANGE, as the probe found by trying it; absent: not tried. */
  ipLocalPortRange?: boolean;
  /** The kernel's build (uname -v), which names the upstream version a distribution's release hides. */
  kernelBuild?: string;
  /** The host's own ip_local_port_range (its network namespace's: where a network helper's sockets take their ports). */
  portRange?: { low: number; high: number };
};

/** The kernel-wide limits a `limits` probe read (the same from every namespace of the host). */
export const hostLimitsOf = (ready: ReadyEvent): HostLimits => ({
  files: ready.files ?? null,
  memoryAvailableKb: ready.memoryAvailableKb ?? null,
  ...(ready.cores === undefined ? {} : { cores: ready.cores }),
  ...(ready.ehashEntries === undefined ? {} : { ehashEntries: ready.ehashEntries }),
  ...(ready.slabBytes === undefined ? {} : { slabBytes: ready.slabBytes }),
  ...(ready.ipLocalPortRange === undefined ? {} : { ipLocalPortRange: ready.ipLocalPortRange }),
  ...(ready.kernelBuild === undefined ? {} : { kernelBuild: ready.kernelBuild }),
  portRange: { low: ready.portRange.low, high: ready.portRange.high },
});

/** The conntrack table a `limits` probe read in its namespace, if it could. */
export const conntrackOf = (ready: ReadyEvent): ConntrackTable | null =>
  ready.conntrack
    ? {
        max: ready.conntrack.max,
        inUse: ready.conntrack.count,
        ...(ready.conntrack.established === undefined ? {} : { established: ready.conntrack.established }),
      }
    : null;

/** An environment with a host's conntrack table and kernel-wide limits as read (what was not read stays as it was). */
export function withHostFacts(env: Environment, conntrack: ConntrackTable | null, host: HostLimits | undefined): Environment {
  return {
    ...env,
    conntrackMax: conntrack?.max ?? env.conntrackMax,
    conntrackInUse: conntrack?.inUse ?? env.conntrackInUse,
    ...(conntrack?.established === undefined ? {} : { conntrackEstablished: conntrack.established }),
    ...(host?.files ? { hostFiles: host.files } : {}),
    ...(host?.portRange ? { hostPortRange: host.portRange } : {}),
    ...(host?.ipLocalPortRange === undefined ? {} : { ipLocalPortRange: host.ipLocalPortRange }),
    ...(host?.memoryAvailableKb && host.slabBytes
      ? { hostMemory: { availableKb: host.memoryAvailableKb, slabBytes: host.slabBytes } }
      : {}),
  };
}
