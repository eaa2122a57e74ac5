import { InterruptedError } from './errors.ts';

/**
 * Calls `attempt` until it returns a value other than undefined, every `intervalMs`, for at most `timeoutMs`; then
 * returns undefined. One helper for every wait on the engine (testcontainers' IntervalRetry.retryUntil), so no loop
 * keeps a deadline of its own. With `signal`, an interrupt ends the wait as an InterruptedError naming `what`.
 */
export async function retryUntil<T>(
  attempt: () => Promise<T | undefined>,
  options: { timeoutMs: number; intervalMs: number; signal?: AbortSignal; what?: string },
): Promise<T | undefined> {
  const by = Date.now() + options.timeoutMs;
  for (;;) {
    const outcome = await attempt();
    if (outcome !== undefined) return outcome;
    if (options.signal?.aborted) throw new InterruptedError(options.what ?? 'waiting for the engine');
    if (Date.now() >= by) return undefined;
    await new Promise((resolve) => setTimeout(resolve, options.intervalMs));
  }
}
