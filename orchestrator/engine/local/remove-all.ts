import createDebug from 'debug';
import { PORTLAB_LABEL } from '../../compile/compile-compose.ts';
import type { Containers } from '../docker/containers.ts';
import type { DockerEngine } from '../docker/engine.ts';
import type { Networks } from '../docker/networks.ts';
import { ContainerStillExitingError, EngineError } from '../errors.ts';
import { retryUntil } from '../poll.ts';
import type { RunTarget } from '../run-target.ts';

const debug = createDebug('portlab:engine');

/** How long removal keeps retrying what the engine still lists after it said it removed it. */
export const REMOVAL_CHECK_MS = 10_000;

/**
 * How long it waits for containers the engine killed but saw no exit of yet ("did not receive an exit event": dockerd
 * gave up waiting, the kernel is still closing the processes' sockets). Removing 33 containers that held a million
 * connections took 187 s here.
 */
export const EXITING_PATIENCE_MS = 600_000;

/**
 * Removes containers and networks; tries every one even if some fail. Then lists them again: an engine can answer
 * a removal and still list the thing (seen once right after dockerd restarted), so whatever is still there is
 * removed again until it is gone or REMOVAL_CHECK_MS has passed, and what is left is reported together.
 */
export async function removeAll(
  engine: { containers: Pick<Containers, 'remove' | 'list'>; networks: Pick<Networks, 'remove' | 'list'> },
  containers: Array<{ id: string; name: string }>,
  networks: Array<{ id: string; name: string }>,
  checkMs = REMOVAL_CHECK_MS,
) {
  const failures = new Map<string, Error>();
  const removeEach = async (leftContainers: typeof containers, leftNetworks: typeof networks) => {
    await Promise.all(
      leftContainers.map((container) =>
        engine.containers.remove(container.id, container.name).then(
          () => failures.delete(container.id),
          (error: Error) => failures.set(container.id, error),
        ),
      ),
    );
    for (const network of leftNetworks) {
      await engine.networks.remove(network.id, network.name).then(
        () => failures.delete(network.id),
        (error: Error) => failures.set(network.id, error),
      );
    }
  };
  await removeEach(containers, networks);
  if (containers.length + networks.length === 0) return;
  const leftBehind = (what: string[]) => new EngineError(`cleanup left something behind: ${what.join('; ')}`);
  const stillListed = async () => {
    const managed = { [PORTLAB_LABEL.managed]: 'true' };
    const [listedContainers, listedNetworks] = await Promise.all([engine.containers.list(managed), engine.networks.list(managed)]);
    const ids = new Set([...listedContainers, ...listedNetworks].map((thing) => thing.id));
    return {
      containers: containers.filter((container) => ids.has(container.id)),
      networks: networks.filter((network) => ids.has(network.id)),
    };
  };
  // An engine that cannot list (it went away) cannot confirm anything: what failed is what is reported.
  let left = await stillListed().catch((error: Error) => {
    throw leftBehind(failures.size > 0 ? [...failures.values()].map((failure) => failure.message) : [error.message]);
  });
  const gone = await retryUntil(
    async () => {
      if (left.containers.length + left.networks.length === 0) return true;
      debug('still listed after removal: %s', [...left.containers, ...left.networks].map((thing) => thing.name).join(', '));
      await removeEach(left.containers, left.networks);
      left = await stillListed();
      return left.containers.length + left.networks.length === 0 ? true : undefined;
    },
    {
      timeoutMs: [...failures.values()].some((failure) => failure instanceof ContainerStillExitingError) ? EXITING_PATIENCE_MS : checkMs,
      intervalMs: Math.min(250, checkMs),
    },
  );
  // What the engine no longer lists is gone, whatever an earlier attempt answered.
  const listed = gone ? [] : [...left.containers, ...left.networks];
  if (listed.length > 0)
    throw leftBehind(
      listed.map((thing) => failures.get(thing.id)?.message ?? `${thing.name} was still listed ${checkMs / 1000} s after its removal`),
    );
}

/** The local engine's runs: containers and networks. */
export const localRuns: RunTarget = {
  async list(engine: DockerEngine, labels: Record<string, string>) {
    const [containers, networks] = await Promise.all([engine.containers.list(labels), engine.networks.list(labels)]);
    return {
      containers: containers.map((container) => ({ ...container, state: container.state ?? 'unknown', created: container.created ?? 0 })),
      networks,
    };
  },
  remove: (engine, runs) =>
    removeAll(
      engine,
      runs.flatMap((run) => run.containers),
      runs.flatMap((run) => run.networks),
    ),
};
