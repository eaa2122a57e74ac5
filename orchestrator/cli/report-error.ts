import { ApplicationImageError } from '../engine/application-images.ts';
import { EngineError, EngineMismatchError, InterruptedError, SwarmNotReadyError } from '../engine/errors.ts';
import { ProbeBuildError } from '../engine/probe-image.ts';
import { KernelTooOldError } from '../predict/kernel-facts.ts';
import { InspectRightsError, NotInspectableError } from '../engine/local/look-from-host.ts';
import { ServeAddressError } from './inspect-serve.ts';
import { ResultsDirError } from '../report/results-dir.ts';
import { ResultFileError } from '../report/write-report.ts';
import { ScenarioError } from '../scenario/load-scenario.ts';
import { EXIT, EXIT_INTERRUPTED } from './exit-codes.ts';

/** Each kind of error a person can act on, and the exit code it gives; the one place that maps them. */
export function exitCodeOf(error: unknown): number | undefined {
  if (
    error instanceof ScenarioError ||
    error instanceof EngineMismatchError ||
    error instanceof KernelTooOldError ||
    error instanceof NotInspectableError ||
    error instanceof ServeAddressError ||
    error instanceof ResultFileError
  )
    return EXIT.badInput;
  if (error instanceof InterruptedError) return EXIT_INTERRUPTED;
  if (
    error instanceof EngineError ||
    error instanceof ProbeBuildError ||
    error instanceof SwarmNotReadyError ||
    error instanceof ApplicationImageError ||
    error instanceof InspectRightsError ||
    error instanceof ResultsDirError
  ) {
    return EXIT.runError;
  }
  return undefined;
}

/** Errors a person can act on get one line (or one per problem); anything else is a bug in portlab, said as such. */
export function reportError(error: unknown): number {
  if (error instanceof ScenarioError) {
    process.stderr.write(`${error.message}\n`);
    return EXIT.badInput;
  }
  const exitCode = exitCodeOf(error);
  const message = error instanceof Error ? error.message : String(error);
  if (exitCode !== undefined) {
    process.stderr.write(`portlab: ${message}\n`);
    return exitCode;
  }
  process.stderr.write(`portlab: internal error: ${message}\n(set DEBUG=portlab* for details; please report it)\n`);
  if (process.env.DEBUG) process.stderr.write(`${(error as Error).stack ?? ''}\n`);
  return EXIT.runError;
}
