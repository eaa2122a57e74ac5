import { formatCount, showCount } from './count-range.ts';
import type { Environment } from './environment.ts';
import type { CountRange } from './prediction-schema.ts';

/*
 * The host's open files against what the run holds (docs/model.md, "Open files"). On the local engine both ends of
 * every connection are files of the one kernel: the client's socket from socket(), the server's from accept(). Past
 * fs.file-max, `alloc_empty_file` (fs/file_table.c) fails with ENFILE for a process without CAP_SYS_ADMIN, which
 * containers lack: a client's socket() fails, and so does the server's accept(), leaving what the kernel completed in
 * the accept queues. So the clients end holding between half the free files and half of them plus the queues.
 */

/**
 * Files each container of a run holds besides its connections (its shim, stdio pipes, namespaces, the probe's own),
 * beyond what preflight read: an interval. Preflight's reading counts its own probes' containers, gone before the
 * clients start, so the run may add as little as nothing beyond it. Measured here: ten idle probe containers raised
 * fs.file-nr's allocated by 41 each; runs of three containers whose files ran out ended with 55, 71 and 27 files
 * beyond preflight's reading besides their connections (the last with preflight measuring the engine's grants too).
 */
export const FILES_PER_CONTAINER = { min: 0, max: 52 };

export type FileRoom = {
  /** Free files at preflight, less what the run's containers open besides their connections (the least of it). */
  free: number;
  /** Connections the clients hold once the files run out, and connections the server accepted by then. */
  held: CountRange & { max: number };
  accepted: CountRange & { max: number };
  line: string;
};

/**
 * The room fs.file-max leaves the run; null when the files were not read or the ends are not on one kernel. A
 * connection is two files (its two ends), three where a network helper carries it (its own socket between them).
 */
export function fileRoom(env: Environment, containers: number, acceptQueue: number, perConnection: 2 | 3 = 2): FileRoom | null {
  if (!env.hostFiles || env.network !== 'bridge') return null;
  // What preflight read includes its own probe's container, gone before the clients start.
  const othersWith = (perContainer: number) => (containers - 1) * perContainer;
  const freeWith = (perContainer: number) => Math.max(0, env.hostFiles!.max - env.hostFiles!.allocated - othersWith(perContainer));
  const least = freeWith(FILES_PER_CONTAINER.max);
  const most = freeWith(FILES_PER_CONTAINER.min);
  const held = { min: Math.floor(least / perConnection), max: Math.floor((most + acceptQueue) / perConnection) };
  const accepted = { min: Math.max(0, Math.ceil((least - acceptQueue) / perConnection)), max: Math.ceil(most / perConnection) };
  const others = `${formatCount(othersWith(FILES_PER_CONTAINER.min))}-${formatCount(othersWith(FILES_PER_CONTAINER.max))}`;
  const line = `fs.file-max ${formatCount(env.hostFiles.max)}, ${formatCount(env.hostFiles.allocated)} allocated at preflight, ${others} more for the run's ${containers} containers themselves: room for ${showCount(held)} connections at ${perConnection === 2 ? "two files each (both ends are files of this host's kernel)" : "three files each (both ends and the network helper's socket between them are files of this host's kernel)"}`;
  return { free: least, held, accepted, line };
}

/** The open-files line when fs.file-max does not bind. */
export function filesLine(room: FileRoom | null, load: CountRange): string | null {
  if (!room) return null;
  return load.max !== null && load.max <= room.held.min ? `${room.line}: does not bind` : null;
}

/** The open-files line beside a limit that binds before them (conntrack): whether fs.file-max would bind next. */
export function filesNextLine(room: FileRoom | null, load: CountRange): string | null {
  if (!room) return null;
  const binds = load.max === null || load.max > room.held.min;
  return `${room.line}: ${binds ? 'binds next, with the table raised (ENFILE)' : 'does not bind'}`;
}

/** What binds when the files run out first: ENFILE, at the count the room allows. */
export function filesBindLines(room: FileRoom): string[] {
  return [
    `${room.line}: fs.file-max binds: socket() in a client and accept() in the server fail with ENFILE (containers lack CAP_SYS_ADMIN, which alone passes the limit); the server stops at ${showCount(room.accepted)} accepted, the rest wait in its accept queues`,
    `to lift it, raise fs.file-max on the host (sysctl -w fs.file-max=N, as root; portlab does not change host settings)`,
  ];
}

/** A connection's kernel memory, object by object: both ends' socket, inode, file, dentry and epoll item, one conntrack entry. */
const END_OBJECTS = ['TCP', 'sock_inode_cache', 'filp', 'dentry', 'eventpoll_epi'] as const;

/** Bytes of slab a held connection takes on one host (both ends), and a TIME_WAIT socket (with its conntrack entry). */
export function connectionBytes(slab: Record<string, number>): { held: number; timeWait: number } | null {
  if (END_OBJECTS.some((name) => !slab[name])) return null;
  const conntrack = slab['nf_conntrack'] ?? 0;
  return {
    held: 2 * END_OBJECTS.reduce((sum, name) => sum + slab[name]!, 0) + conntrack,
    timeWait: (slab['tw_sock_TCP'] ?? 0) + conntrack,
  };
}

/**
 * The host's memory against what the run holds, as a line of reasoning. An idle held connection has no buffers, so
 * tcp_mem's pressure does not apply: what it costs is slab, allocated until the kernel has reclaimed what it can; then
 * its OOM killer ends the process with the largest footprint (not necessarily a probe), and a SYN whose socket cannot
 * be allocated in softirq is dropped. No errno names it, so portlab says where it would be, not a count it judges.
 */
export function memoryLine(env: Environment, load: CountRange): string | null {
  if (!env.hostMemory || env.network !== 'bridge') return null;
  const bytes = connectionBytes(env.hostMemory.slabBytes);
  if (!bytes) return null;
  const room = Math.floor((env.hostMemory.availableKb * 1024) / bytes.held);
  const slab = env.hostMemory.slabBytes;
  const head = `kernel memory: about ${formatCount(bytes.held)} bytes of slab a held connection (2 x (TCP socket ${slab['TCP']} + inode ${slab['sock_inode_cache']} + file ${slab['filp']} + dentry ${slab['dentry']} + epoll item ${slab['eventpoll_epi']}) + conntrack entry ${slab['nf_conntrack'] ?? 0}, from /proc/slabinfo), ${formatCount(bytes.timeWait)} a TIME_WAIT socket; MemAvailable ${formatCount(Math.round(env.hostMemory.availableKb / 1024))} MiB holds about ${formatCount(room)}`;
  return load.max !== null && load.max <= room
    ? `${head}: does not bind`
    : `${head}: it could run out first, near that count: the kernel reclaims caches, then its OOM killer ends the process with the largest footprint, and SYNs whose socket cannot be allocated are dropped (no errno names it)`;
}
