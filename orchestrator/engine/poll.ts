import { InterruptedError } from './errors.ts';

/** What a wait reads the time from and sleeps on: the system's, or a test's. */
export type Clock = { now: () => number; sleep: (ms: number) => Promise<void> };

export const SYSTEM_CLOCK: Clock = {
  now: () => Date.now(),
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
};

/** How long a wait may go on: a time from its start, or a deadline on its clock that several waits share. */
export type WaitLimit = { timeoutMs: number } | { by: number };

/**
 * Calls `attempt` until it returns a value other than undefined, every `intervalMs`, until the limit; then returns
 * undefined. One helper for every wait on the engine (testcontainers' IntervalRetry.retryUntil), so no loop keeps a
 * deadline of its own: waits that share one pass `by`. With `signal`, an interrupt ends the wait as an
 * InterruptedError naming `what`.
 */
export async function retryUntil<T>(
  attempt: () => Promise<T | undefined>,
  options: WaitLimit & { intervalMs: number; signal?: AbortSignal; what?: string; clock?: Clock },
): Promise<T | undefined> {
  const clock = options.clock ?? SYSTEM_CLOCK;
  const by = 'by' in options ? options.by : clock.now() + options.timeoutMs;
  for (;;) {
    const outcome = await attempt();
    if (outcome !== undefined) return outcome;
    if (options.signal?.aborted) throw new InterruptedError(options.what ?? 'waiting for the engine');
    if (clock.now() >= by) return undefined;
    await clock.sleep(Math.min(options.intervalMs, Math.max(0, by - clock.now())));
  }
}
