import { createReadStream } from 'node:fs';
import { readFile, readlink } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import { cacheDir, KeyedCache } from './grant-cache.ts';

/** A conntrack table: its maximum, the entries in use, and of those the established TCP connections. */
export type ConntrackTable = { max: number; inUse: number; established?: number };

/** A network namespace of one boot of one kernel: "net:[4026531840]" and /proc/sys/kernel/random/boot_id. */
const HostNamespace = z.strictObject({ netns: z.string().min(1), bootId: z.string().min(1) });
export type HostNamespace = z.infer<typeof HostNamespace>;

/** Which network namespace each engine's host is, as its preflight probe reported it; remembered between runs. */
export class HostNamespaceCache extends KeyedCache<HostNamespace> {
  constructor(file = path.join(cacheDir(), 'host-namespaces.json')) {
    super(file, HostNamespace);
  }
}

/** Whether this process runs in that network namespace (the same inode in the same boot). */
export async function inNamespace(namespace: HostNamespace): Promise<boolean> {
  try {
    const [netns, bootId] = await Promise.all([readlink('/proc/self/ns/net'), readFile('/proc/sys/kernel/random/boot_id', 'utf8')]);
    return netns === namespace.netns && bootId.trim() === namespace.bootId;
  } catch {
    return false;
  }
}

/**
 * This namespace's conntrack table, read as the probe reads it: its maximum, the entries in use, and how many of
 * them are established TCP connections (lines of /proc/net/nf_conntrack, streamed: a full table is tens of MB).
 * null when any of it cannot be read (the table needs root).
 */
export async function readConntrack(): Promise<ConntrackTable | null> {
  try {
    const [max, inUse, established] = await Promise.all([
      readFile('/proc/sys/net/netfilter/nf_conntrack_max', 'utf8'),
      readFile('/proc/sys/net/netfilter/nf_conntrack_count', 'utf8'),
      countLines('/proc/net/nf_conntrack', (line) => line.includes(' tcp ') && line.includes(' ESTABLISHED ')),
    ]);
    const table = { max: Number(max), inUse: Number(inUse), established };
    return Number.isInteger(table.max) && Number.isInteger(table.inUse) ? table : null;
  } catch {
    return null;
  }
}

async function countLines(file: string, counts: (line: string) => boolean): Promise<number> {
  let count = 0;
  let rest = '';
  for await (const chunk of createReadStream(file, { encoding: 'utf8', highWaterMark: 1 << 20 })) {
    const lines = (rest + (chunk as string)).split('\n');
    rest = lines.pop() ?? '';
    for (const line of lines) if (counts(line)) count++;
  }
  if (rest && counts(rest)) count++;
  return count;
}
