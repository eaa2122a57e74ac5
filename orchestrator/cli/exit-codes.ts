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
