/** Exit status after Ctrl-C, as shells report a process ended by SIGINT. */
export const EXIT_INTERRUPTED = 130;

/**
 * Ctrl-C and SIGTERM abort `controller` (once, saying so on stderr) instead of killing the process, so the run
 * can remove what it created. Returns the function that stops listening.
 */
export function abortOnSignals(controller: AbortController, what: string): () => void {
  const onSignal = (signal: NodeJS.Signals) => {
    if (controller.signal.aborted) return;
    process.stderr.write(`\n${signal}: ${what}...\n`);
    controller.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  return () => {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  };
}
