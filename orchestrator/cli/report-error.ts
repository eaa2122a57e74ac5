import { ScenarioError } from '../scenario/load-scenario.ts';
import { EXIT } from './exit-codes.ts';

/** Errors a person can act on get one line (or one per problem); anything else is a bug in portlab, said as such. */
export function reportError(error: unknown): number {
  if (error instanceof ScenarioError) {
    process.stderr.write(`${error.message}\n`);
    return EXIT.badInput;
  }
  const exitCode = (error as { exitCode?: number }).exitCode;
  const message = error instanceof Error ? error.message : String(error);
  if (typeof exitCode === 'number') {
    process.stderr.write(`portlab: ${message}\n`);
    return exitCode;
  }
  process.stderr.write(`portlab: internal error: ${message}\n(set DEBUG=portlab* for details; please report it)\n`);
  if (process.env.DEBUG) process.stderr.write(`${(error as Error).stack ?? ''}\n`);
  return EXIT.runError;
}
