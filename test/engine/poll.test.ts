import { describe, expect, it } from 'vitest';
import { InterruptedError } from '../../orchestrator/engine/errors.ts';
import { retryUntil, type Clock } from '../../orchestrator/engine/poll.ts';

/** A clock that moves only when the wait sleeps: every test below takes no real time. */
function fakeClock(start = 1_000): Clock & { sleeps: number[] } {
  let now = start;
  const sleeps: number[] = [];
  return {
    sleeps,
    now: () => now,
    sleep: async (ms) => {
      sleeps.push(ms);
      now += ms;
    },
  };
}

describe('retryUntil', () => {
  it('returns the first answer, trying every interval', async () => {
    const clock = fakeClock();
    let calls = 0;
    const answer = await retryUntil(async () => (++calls === 3 ? 'ready' : undefined), { timeoutMs: 10_000, intervalMs: 200, clock });
    expect([answer, calls, clock.sleeps]).toEqual(['ready', 3, [200, 200]]);
  });

  it('gives up at its limit, with one last try there, and never sleeps past it', async () => {
    const clock = fakeClock();
    let calls = 0;
    const answer = await retryUntil(
      async () => {
        calls += 1;
        return undefined;
      },
      { timeoutMs: 500, intervalMs: 200, clock },
    );
    expect([answer, calls, clock.sleeps]).toEqual([undefined, 4, [200, 200, 100]]);
  });

  it('waits that share a deadline (by) end together: a later one gets what is left', async () => {
    const clock = fakeClock();
    const by = clock.now() + 1_000;
    await retryUntil(async () => (clock.now() >= 1_600 ? true : undefined), { by, intervalMs: 300, clock });
    expect(clock.now()).toBe(1_600);
    const second = await retryUntil(async () => undefined, { by, intervalMs: 300, clock });
    expect([second, clock.now()]).toEqual([undefined, 2_000]);
  });

  it('an interrupt ends the wait as an InterruptedError naming what it waited for', async () => {
    const clock = fakeClock();
    const abort = new AbortController();
    const wait = retryUntil(
      async () => {
        abort.abort();
        return undefined;
      },
      { timeoutMs: 10_000, intervalMs: 200, clock, signal: abort.signal, what: 'waiting for the swarm' },
    );
    await expect(wait).rejects.toEqual(new InterruptedError('waiting for the swarm'));
    expect(clock.sleeps).toEqual([]);
  });
});
