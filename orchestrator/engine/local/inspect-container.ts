import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { parseInspection } from '../../observe/inspection.ts';
import type { HostRoom, InspectionTarget, NamespaceLook } from '../../predict/inspection-schema.ts';
import type { DockerEngine } from '../docker/engine.ts';
import { EngineError } from '../errors.ts';
import { hostProbeBinary } from '../probe-image.ts';
import { readHostProc } from './host-proc.ts';
import { lookFromHost, NotInspectableError } from './look-from-host.ts';

/** What one look found: what was inspected (a container, a process, the host's namespace), the namespace, the host. */
export type Inspected = { target: InspectionTarget; look: NamespaceLook; host: HostRoom };

/**
 * Where portlab may enter a container's namespace from this machine (root, the engine on this machine, its first
 * process here as the engine numbers it: /proc/PID/cgroup names the container), that process's pid; else null.
 */
async function pidHere(engine: DockerEngine, found: { id: string; pid: number }): Promise<number | null> {
  if (process.getuid?.() !== 0 || !engine.onThisMachine || found.pid <= 0) return null;
  const cgroup = await readFile(`/proc/${found.pid}/cgroup`, 'utf8').catch(() => '');
  if (!cgroup.includes(found.id)) return null;
  return hostProbeBinary(() => undefined).then(
    () => found.pid,
    () => null,
  );
}

/**
 * One look at a running container's network namespace. Where portlab may enter it from this machine (pidHere), the
 * probe as a host binary does (as `inspect --pid` does, counting the processes of that namespace): no container is
 * made. Otherwise the probe is started for a moment in the container's network and PID namespaces (NetworkMode and
 * PidMode container:<id>, CAP_SYS_PTRACE to read its processes' descriptors), prints what the kernel holds there and
 * exits; its container is removed at once. Either way nothing is written into the inspected container and no process
 * is left in it. The host's tables are read where the engine runs on this machine, while the probe looks.
 */
export async function inspectContainer(
  engine: DockerEngine,
  probeImage: () => Promise<string>,
  target: string,
  onStatus: (message: string) => void,
  signal?: AbortSignal,
): Promise<Inspected> {
  const found = await engine.containers.find(target);
  if (!found) throw new NotInspectableError(`${engine.describe()} has no container named ${target}`);
  if (!found.running)
    throw new NotInspectableError(`container ${found.name} is ${found.status}, not running: there is nothing of it to inspect`);
  const here = await pidHere(engine, found);
  const [look, host, localAddresses] = await Promise.all([
    here === null
      ? lookThroughEngine(engine, await probeImage(), found, signal)
      : lookFromHost(['--netns-of', String(here)], here, onStatus, signal),
    engine.onThisMachine ? readHostProc() : null,
    engine.containers.addresses(),
  ]);
  return {
    target: { kind: 'container', id: found.id, name: found.name },
    look,
    // A connection to another of the engine's containers has both ends on the engine's host: two of its files.
    host: { conntrack: host?.conntrack ?? null, files: host?.host.files ?? null, localAddresses },
  };
}

/** The probe in a container of its own, joined to the inspected container's network and PID namespaces. */
export async function lookThroughEngine(
  engine: DockerEngine,
  image: string,
  found: { id: string; name: string },
  signal?: AbortSignal,
): Promise<NamespaceLook> {
  const name = `portlab-inspect-${randomBytes(3).toString('hex')}`;
  const output = await engine.containers.runToCompletion(
    {
      name,
      image,
      command: ['inspect'],
      labels: { 'io.portlab.inspects': found.id },
      network: `container:${found.id}`,
      alias: name,
      networkMode: `container:${found.id}`,
      pidMode: `container:${found.id}`,
      capAdd: ['SYS_PTRACE'],
    },
    signal,
  );
  const look = parseInspection(output);
  if (!look)
    throw new EngineError(`the probe printed no inspection of ${found.name} (it printed: ${JSON.stringify(output.slice(0, 200))})`);
  return look;
}
