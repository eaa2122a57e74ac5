import { readFile } from 'node:fs/promises';
import os from 'node:os';
import type { InspectionTarget, NamespaceLook } from '../../predict/inspection-schema.ts';
import type { Inspected } from './inspect-container.ts';
import { InspectRightsError, lookFromHost, NotInspectableError } from './look-from-host.ts';
import { readHostProc } from './host-proc.ts';

/** A process on this machine, or the network namespace portlab runs in (the host's, run from the host). */
export type HostTarget = { pid: number } | { host: true };

/** "redis-server": a process's name as the kernel has it (/proc/PID/comm); null when there is no such process. */
const processName = async (pid: number): Promise<string | null> =>
  readFile(`/proc/${pid}/comm`, 'utf8').then(
    (text) => text.trim(),
    () => null,
  );

/**
 * One look at a process's network namespace (`portlab inspect --pid`) or at the one portlab runs in (`--host`),
 * without an engine: the probe runs as a host binary, enters the namespace (setns: root, CAP_SYS_ADMIN) and reads
 * what the kernel holds there, counting the descriptors of the processes in it (CAP_SYS_PTRACE for another user's).
 * Read-only, as for a container; the probe is gone when this returns.
 */
export async function inspectProcess(target: HostTarget, onStatus: (message: string) => void, signal?: AbortSignal): Promise<Inspected> {
  if (!('pid' in target))
    return withHost(
      { kind: 'host', id: os.hostname(), name: `host ${os.hostname()}` },
      await lookFromHost(['--own-netns'], null, onStatus, signal),
    );
  const { pid } = target;
  const name = await processName(pid);
  if (name === null) throw new NotInspectableError(`there is no process ${pid} on this machine`);
  if (process.getuid?.() !== 0)
    throw new InspectRightsError(
      `inspecting process ${pid} enters its network namespace, which needs root (CAP_SYS_ADMIN, and CAP_SYS_PTRACE to count its descriptors): run it with sudo`,
    );
  const look = await lookFromHost(['--netns-of', String(pid)], pid, onStatus, signal);
  return withHost({ kind: 'process', id: String(pid), name: `${name} (pid ${pid})` }, look);
}

/** A look taken from this machine, with this machine's tables and addresses beside it. */
async function withHost(target: InspectionTarget, look: NamespaceLook): Promise<Inspected> {
  const host = await readHostProc();
  const addresses = Object.values(os.networkInterfaces()).flatMap((entries) => (entries ?? []).map((entry) => entry.address));
  return { target, look, host: { conntrack: host.conntrack, files: host.host.files, localAddresses: addresses } };
}
