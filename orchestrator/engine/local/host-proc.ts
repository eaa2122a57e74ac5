import { readFile } from 'node:fs/promises';
import os from 'node:os';
import type { ConntrackTable, HostLimits } from '../engine-facts.ts';
import { parsePortRange } from '../../scenario/port-range.ts';

/**
 * The host's kernel-wide limits as this machine's /proc gives them, read by portlab itself for a dry run where the
 * engine runs on this machine: the same files the `limits` probe reads in the host's namespace before a run
 * (images/probe/probe.c), so a dry run and a run predict from the same facts. Nothing is written.
 */
export type HostProcFacts = { conntrack: ConntrackTable | null; host: HostLimits; kernel: string };

/** The slab caches a connection's kernel memory is made of, as the probe reads them from /proc/slabinfo. */
const CONNECTION_SLABS = ['TCP', 'sock_inode_cache', 'filp', 'dentry', 'eventpoll_epi', 'nf_conntrack', 'tw_sock_TCP'];

/** fs.file-nr: "allocated free max". null when it does not read as three numbers. */
export function parseFileNr(text: string): { allocated: number; max: number } | null {
  const [allocated, , max] = text.trim().split(/\s+/).map(Number);
  return Number.isInteger(allocated) && Number.isInteger(max) ? { allocated: allocated!, max: max! } : null;
}

/** MemAvailable from /proc/meminfo, in kB; null without it. */
export function parseMemAvailableKb(text: string): number | null {
  const match = /^MemAvailable:\s+(\d+) kB$/m.exec(text);
  return match ? Number(match[1]) : null;
}

/** The object sizes of the connection's slab caches in /proc/slabinfo ("name active total objsize ..."). */
export function parseSlabBytes(text: string): Record<string, number> | undefined {
  const sizes: Record<string, number> = {};
  for (const line of text.split('\n')) {
    const [name, active, total, objsize] = line.trim().split(/\s+/);
    if (name && CONNECTION_SLABS.includes(name) && [active, total, objsize].every((field) => /^\d+$/.test(field ?? ''))) {
      sizes[name] = Number(objsize);
    }
  }
  return Object.keys(sizes).length > 0 ? sizes : undefined;
}

const readText = (file: string) => readFile(file, 'utf8').catch(() => null);

/** Reads this machine's conntrack table, open files, memory, cores and slab sizes; what cannot be read is left out. */
export async function readHostProc(proc = '/proc'): Promise<HostProcFacts> {
  const read = (name: string) => readText(`${proc}/${name}`);
  const [max, count, fileNr, meminfo, slabinfo, ehash, range] = await Promise.all([
    read('sys/net/netfilter/nf_conntrack_max'),
    read('sys/net/netfilter/nf_conntrack_count'),
    read('sys/fs/file-nr'),
    read('meminfo'),
    read('slabinfo'),
    read('sys/net/ipv4/tcp_ehash_entries'),
    read('sys/net/ipv4/ip_local_port_range'),
  ]);
  const portRange = range === null ? undefined : parsePortRange(range);
  const conntrack =
    max !== null && count !== null && /^\d+$/.test(max.trim()) && /^\d+$/.test(count.trim())
      ? { max: Number(max), inUse: Number(count) }
      : null;
  const slabBytes = slabinfo === null ? undefined : parseSlabBytes(slabinfo);
  const ehashEntries = ehash === null ? NaN : Math.abs(Number(ehash));
  return {
    conntrack,
    kernel: os.release(),
    host: {
      files: fileNr === null ? null : parseFileNr(fileNr),
      memoryAvailableKb: meminfo === null ? null : parseMemAvailableKb(meminfo),
      cores: os.availableParallelism(),
      ...(Number.isInteger(ehashEntries) && ehashEntries > 0 ? { ehashEntries } : {}),
      ...(slabBytes ? { slabBytes } : {}),
      ...(portRange ? { portRange } : {}),
    },
  };
}
