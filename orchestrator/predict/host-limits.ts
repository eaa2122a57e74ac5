import { formatCount, showCount } from './count-range.ts';
import type { Environment } from './environment.ts';
import type { CountRange } from './prediction-schema.ts';

/**
 * The host's open files against what the run holds: on the local engine both ends of every connection are files of
 * the one kernel (the client's socket and the server's accepted one), so a held connection takes two of fs.file-max
 * (`alloc_empty_file` fails with ENFILE past it for a process without CAP_SYS_ADMIN, which containers lack). Said as
 * a line of reasoning; null when the files were not read or the containers do not share a kernel.
 */
export function filesLine(env: Environment, load: CountRange): string | null {
  if (!env.hostFiles || env.network !== 'bridge') return null;
  const free = Math.max(0, env.hostFiles.max - env.hostFiles.allocated);
  const room = Math.floor(free / 2);
  const head = `fs.file-max ${formatCount(env.hostFiles.max)}, ${formatCount(env.hostFiles.allocated)} allocated at preflight: room for ${formatCount(room)} connections at two files each (both ends are files of this host's kernel)`;
  if (load.max !== null && load.max <= room) return `${head}: does not bind`;
  return `${head}: the clients' ${showCount(load)} could reach it first, and socket() or accept() would fail with ENFILE (portlab does not yet predict that count exactly)`;
}
