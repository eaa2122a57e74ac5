import { describe, expect, it } from 'vitest';
import { ContainerStillExitingError, EngineError, removalFailure } from '../../orchestrator/engine/errors.ts';
import { removeAll } from '../../orchestrator/engine/local/remove-all.ts';

type Thing = { id: string; name: string; labels: Record<string, string> };

/**
 * An engine that answers every removal and keeps listing a thing for `listedFor` more listings after it (as an
 * engine just restarted once kept a removed network): enough of the engine for removeAll, no Docker.
 */
function engineThatLingers(things: Thing[], listedFor: Record<string, number>) {
  const present = new Map(things.map((thing) => [thing.id, thing]));
  const removals: string[] = [];
  const remove = async (id: string) => {
    removals.push(id);
    if ((listedFor[id] ?? 0) <= 0) present.delete(id);
  };
  const list = async () => {
    for (const id of Object.keys(listedFor)) listedFor[id] = (listedFor[id] ?? 0) - 1;
    return [...present.values()];
  };
  return {
    engine: { containers: { remove, list }, networks: { remove, list: async () => [] } },
    removals,
    present,
  };
}

const container = { id: 'c1', name: 'portlab-x-client-1', labels: {} };
const network = { id: 'n1', name: 'portlab-x', labels: {} };

describe('removing a run verifies it is gone', () => {
  it('removes what the engine still lists after its removal again, until it is gone', async () => {
    const { engine, removals, present } = engineThatLingers([container], { c1: 2 });
    await removeAll(engine, [container], [], 2_000);
    expect(present.size).toBe(0);
    expect(removals.length).toBeGreaterThan(1);
  });

  it('names what is still listed when the time is up: a cleanup error, never a silent pass', async () => {
    const { engine } = engineThatLingers([container], { c1: Number.POSITIVE_INFINITY });
    await expect(removeAll(engine, [container], [network], 300)).rejects.toThrow(
      'cleanup left something behind: portlab-x-client-1 was still listed 0.3 s after its removal',
    );
  });

  it('reports the removals that failed when the engine cannot list any more', async () => {
    const engine = {
      containers: {
        remove: async () => {
          throw new Error('removing container portlab-x-client-1: socket hang up');
        },
        list: async () => {
          throw new Error('listing containers: socket hang up');
        },
      },
      networks: { remove: async () => {}, list: async () => [] },
    };
    await expect(removeAll(engine, [container], [network], 300)).rejects.toThrow(
      'cleanup left something behind: removing container portlab-x-client-1: socket hang up',
    );
  });

  it('waits past its usual check for a container Docker says is still exiting, and removes it then', async () => {
    // dockerd's words when it gave up waiting for a killed container's exit (the kernel still closing its sockets).
    const exiting = removalFailure('removing container portlab-x-client-1', {
      json: { message: 'cannot remove container: tried to kill container, but did not receive an exit event' },
    });
    expect(exiting).toBeInstanceOf(ContainerStillExitingError);
    expect(removalFailure('removing container x', new Error('socket hang up'))).not.toBeInstanceOf(ContainerStillExitingError);
    const present = new Map([[container.id, container]]);
    let refusals = 8;
    const engine = {
      containers: {
        remove: async (id: string) => {
          if (refusals-- > 0) throw exiting;
          present.delete(id);
        },
        list: async () => [...present.values()],
      },
      networks: { remove: async () => {}, list: async () => [] },
    };
    // Eight refusals 250 ms apart outlast the 300 ms check: only a still-exiting container is waited for.
    await removeAll(engine, [container], [], 300);
    expect(present.size).toBe(0);
    expect(exiting).toBeInstanceOf(EngineError);
  });
});
