import { randomBytes } from 'node:crypto';
import { parseInspection } from '../../observe/inspection.ts';
import type { HostRoom, InspectionTarget, NamespaceLook } from '../../predict/inspection-schema.ts';
import type { DockerEngine } from '../docker/engine.ts';
import { EngineError } from '../errors.ts';
import { engineOnThisMachine, readHostProc } from './host-proc.ts';

/** A container that cannot be inspected as asked (none of that name, or not running): the input, exit 2. */
export class NotInspectableError extends Error {
  override name = 'NotInspectableError';
}

/** What one look found: what was inspected (a container, a process, the host's namespace), the namespace, the host. */
export type Inspected = { target: InspectionTarget; look: NamespaceLook; host: HostRoom };

/**
 * One look at a running container's network and PID namespaces: the probe, started for a moment in them
 * (NetworkMode and PidMode container:<id>, CAP_SYS_PTRACE to read its processes' descriptors), prints what the
 * kernel holds there and exits; its container is removed at once. Nothing is written into the inspected container
 * and no process is left in it. The host's tables are read where the engine runs on this machine.
 */
export async function inspectContainer(engine: DockerEngine, image: string, target: string, signal?: AbortSignal): Promise<Inspected> {
  const found = await engine.containers.find(target);
  if (!found) throw new NotInspectableError(`${engine.describe()} has no container named ${target}`);
  if (!found.running)
    throw new NotInspectableError(`container ${found.name} is ${found.status}, not running: there is nothing of it to inspect`);
  const name = `portlab-inspect-${randomBytes(3).toString('hex')}`;
  // The host's tables and the engine's addresses are read while the probe looks: none waits for another.
  const [output, host, localAddresses] = await Promise.all([
    engine.containers.runToCompletion(
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
    ),
    engineOnThisMachine() ? readHostProc() : null,
    engine.containers.addresses(),
  ]);
  const look = parseInspection(output);
  if (!look)
    throw new EngineError(`the probe printed no inspection of ${found.name} (it printed: ${JSON.stringify(output.slice(0, 200))})`);
  return {
    target: { kind: 'container', id: found.id, name: found.name },
    look,
    // A connection to another of the engine's containers has both ends on the engine's host: two of its files.
    host: { conntrack: host?.conntrack ?? null, files: host?.host.files ?? null, localAddresses },
  };
}
