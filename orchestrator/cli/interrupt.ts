import { EXIT_INTERRUPTED } from './exit-codes.ts';
/** How long a second Ctrl-C waits for the run's containers to be killed before it exits anyway. */
const FORCE_TIMEOUT_MS = 10_000;

/**
 * Ctrl-C, SIGTERM and SIGHUP abort `controller` (saying so on stderr) instead of killing the process, so the run can
 * remove what it created and keep what it measured. A second one does not wait: `force` kills the run's containers
 * at once and the process exits (130). Returns the function that stops listening.
 */
export function abortOnSignals(controller: AbortController, what: string, force: () => Promise<void>): () => void {
  const onSignal = (signal: NodeJS.Signals) => {
    if (!controller.signal.aborted) {
      process.stderr.write(`\n${signal}: ${what} (again to kill them at once)...\n`);
      controller.abort();
      return;
    }
    process.stderr.write(`\n${signal} again: killing the run's containers now and exiting\n`);
    const timeout = new Promise((resolve) => setTimeout(resolve, FORCE_TIMEOUT_MS).unref());
    void Promise.race([force().catch(() => undefined), timeout]).finally(() => process.exit(EXIT_INTERRUPTED));
  };
  const signals: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];
  for (const signal of signals) process.on(signal, onSignal);
  return () => {
    for (const signal of signals) process.off(signal, onSignal);
  };
}
