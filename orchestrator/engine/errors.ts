/**
 * What goes wrong on the engine, as types: the cli maps each to an exit code (cli/report-error.ts); nothing here
 * knows about exit codes, and nobody matches message text.
 */

export function causeText(cause: unknown): string {
  const error = cause as { json?: { message?: string }; message?: string };
  return (error?.json?.message ?? error?.message ?? String(cause)).trim();
}

/** An engine call that failed; keeps its cause and says which call, on what. */
export class EngineError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(options?.cause ? `${message}: ${causeText(options.cause)}` : message, options);
    this.name = 'EngineError';
  }
}

/**
 * runc refused a container's nofile: a hard limit above the daemon's own, which only CAP_SYS_RESOURCE may raise.
 * Docker says so in words only ("setting rlimit type 7: operation not permitted"): nofileRefusal reads them, here
 * and nowhere else, where an engine call or a task's error enters portlab.
 */
export class NofileRefusedError extends EngineError {
  override name = 'NofileRefusedError';
}

/**
 * The OCI runtime refused a container's nproc (RLIMIT_NPROC, "rlimit type 6"): Podman asks for 4,194,304 processes
 * whenever a container names any ulimit and not nproc, which an engine without CAP_SYS_RESOURCE cannot grant.
 */
export class NprocRefusedError extends EngineError {
  override name = 'NprocRefusedError';
}

/** Whether an engine's words for a container that did not start are the runtime's nproc refusal (runc's or crun's). */
export const nprocRefusal = (engineText: string): boolean => /rlimit type 6\b|RLIMIT_NPROC/.test(engineText);

/** Whether an engine's words for a container that did not start are the runtime's nofile refusal (runc's or crun's). */
export const nofileRefusal = (engineText: string): boolean =>
  !nprocRefusal(engineText) && /setting rlimit|rlimit type 7|RLIMIT_NOFILE|operation not permitted/i.test(engineText);

/**
 * A container the engine killed but saw no exit of yet ("did not receive an exit event": dockerd gave up waiting
 * while the kernel still closes the processes' sockets, tens of thousands of them). It goes once they are closed.
 */
export class ContainerStillExitingError extends EngineError {
  override name = 'ContainerStillExitingError';
}

/** The removal failure Docker's words describe: a container still exiting, or any other. */
export const removalFailure = (message: string, cause: unknown): EngineError =>
  /did not receive an exit event/.test(causeText(cause))
    ? new ContainerStillExitingError(message, { cause })
    : new EngineError(message, { cause });

/** Whether Docker's words for a task that did not start say its node lacks the image ("No such image: <ref>"). */
export const noSuchImage = (dockerText: string): boolean => /no such image/i.test(dockerText);

/** The daemon cannot be reached at all, or stopped answering. */
export class EngineUnavailableError extends EngineError {
  override name = 'EngineUnavailableError';
}

/** The daemon is there but did not answer a call in time (hung): it is not started again, or second-guessed. */
export class EngineHungError extends EngineUnavailableError {
  override name = 'EngineHungError';
}

/** The user interrupted (Ctrl-C, SIGTERM): the one type for it, wherever the work was when it came. */
export class InterruptedError extends Error {
  constructor(what: string) {
    super(`interrupted while ${what}`);
    this.name = 'InterruptedError';
  }
}

/** The swarm cannot run the scenario as it is (not a swarm, not a manager, an image missing on a node). */
export class SwarmNotReadyError extends Error {
  override name = 'SwarmNotReadyError';
}

/** Throws the interrupt once the signal has fired: the one check every step between engine calls makes. */
export function stopIfInterrupted(signal: AbortSignal, what: string): void {
  if (signal.aborted) throw new InterruptedError(what);
}

/** A scenario that cannot run where it was asked to (exit 2: the input, not the engine). */
export class EngineMismatchError extends Error {
  override name = 'EngineMismatchError';
}
