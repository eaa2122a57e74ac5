/** What portlab's exit status means; the README documents the same table. */
export const EXIT = {
  /** Every verdict passed (or a dry run / cleanup succeeded). */
  pass: 0,
  /** A run finished and at least one verdict failed. */
  verdictFailed: 1,
  /** The command line or a scenario file is wrong. */
  badInput: 2,
  /** The Docker engine is unavailable, or the run itself failed. */
  runError: 3,
} as const;

/** Exit status after Ctrl-C, as shells report a process ended by SIGINT. */
export const EXIT_INTERRUPTED = 130;

/** The exit status for how runs (or sweep points) ended: the most serious one wins. */
export function exitCodeFor(verdicts: ReadonlyArray<'pass' | 'fail' | 'error' | 'aborted' | 'incomplete'>, cleanupFailed = false): number {
  if (verdicts.includes('aborted')) return EXIT_INTERRUPTED;
  if (cleanupFailed || verdicts.includes('error')) return EXIT.runError;
  return verdicts.every((verdict) => verdict === 'pass') ? EXIT.pass : EXIT.verdictFailed;
}

/** --help: the command's usage on stdout, exit 0. */
export function showUsage(usage: string): number {
  process.stdout.write(`${usage}\n`);
  return EXIT.pass;
}

/** A command line that is wrong: one line saying why, then the command's usage, on stderr; exit 2. */
export function badUsage(message: string, usage: string): number {
  process.stderr.write(`portlab: ${message}\n${usage}\n`);
  return EXIT.badInput;
}
