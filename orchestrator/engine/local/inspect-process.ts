import { readFile } from 'node:fs/promises';
import os from 'node:os';
import { parseInspection } from '../../observe/inspection.ts';
import { parseProbeLine } from '../../observe/probe-events.ts';
import { hostProbeBinary } from '../probe-image.ts';
import { NotInspectableError, type Inspected } from './inspect-container.ts';
import { readHostProc } from './host-proc.ts';

/** What a person lacks to inspect a process (exit 3): the right to enter its namespace or read its descriptors. */
export class InspectRightsError extends Error {
  override name = 'InspectRightsError';
}

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
  const pid = 'pid' in target ? target.pid : null;
  const name = pid === null ? null : await processName(pid);
  if (pid !== null && name === null) throw new NotInspectableError(`there is no process ${pid} on this machine`);
  if (pid !== null && process.getuid?.() !== 0)
    throw new InspectRightsError(
      `inspecting process ${pid} enters its network namespace, which needs root (CAP_SYS_ADMIN, and CAP_SYS_PTRACE to count its descriptors): run it with sudo`,
    );
  const binary = await hostProbeBinary(() => onStatus('building the probe for this machine (scripts/build-probe.sh --musl, once)'));
  const { execa } = await import('execa');
  const args = pid === null ? ['inspect', '--own-netns'] : ['inspect', '--netns-of', String(pid)];
  const run = await execa(binary, args, { reject: false, cancelSignal: signal });
  const output = String(run.stdout);
  const fatal = output
    .split('\n')
    .map(parseProbeLine)
    .flatMap((parsed) => (parsed.ok && parsed.event.event === 'fatal' ? [parsed.event] : []))[0];
  if (fatal?.errno === 'ESRCH') throw new NotInspectableError(`process ${pid} ended before it could be inspected`);
  if (fatal && (fatal.errno === 'EPERM' || fatal.errno === 'EACCES'))
    throw new InspectRightsError(
      `${fatal.message} was refused (${fatal.errno}): entering process ${pid}'s network namespace needs CAP_SYS_ADMIN over it (root in its user namespace)`,
    );
  const look = parseInspection(output);
  if (!look) throw new Error(`the probe printed no inspection (exit ${run.exitCode}; it printed: ${JSON.stringify(output.slice(0, 200))})`);
  const host = await readHostProc();
  const addresses = Object.values(os.networkInterfaces()).flatMap((entries) => (entries ?? []).map((entry) => entry.address));
  return {
    target:
      pid === null
        ? { kind: 'host', id: os.hostname(), name: `host ${os.hostname()}` }
        : { kind: 'process', id: String(pid), name: `${name} (pid ${pid})` },
    look,
    host: { conntrack: host.conntrack, files: host.host.files, localAddresses: addresses },
  };
}
