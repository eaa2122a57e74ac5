/**
 * Calls `attempt` until it returns a value other than undefined, every `intervalMs`, for at most `timeoutMs`; then
 * returns undefined. One helper for every wait on the engine (testcontainers' IntervalRetry.retryUntil), so no loop
 * keeps a deadline of its own.
 */
export async function retryUntil<T>(
  attempt: () => Promise<T | undefined>,
  options: { timeoutMs: number; intervalMs: number },
): Promise<T | undefined> {
  const by = Date.now() + options.timeoutMs;
  for (;;) {
    const outcome = await attempt();
    if (outcome !== undefined) return outcome;
    if (Date.now() >= by) return undefined;
    await new Promise((resolve) => setTimeout(resolve, options.intervalMs));
  }
}
