import { describeEnd } from '../observe/application-end.ts';
import type { ContainerObservation } from '../observe/observation.ts';
import { ProbeLog } from '../observe/probe-log.ts';
import type { ContainerSeries } from '../observe/series.ts';
import { EngineError, InterruptedError, NofileRefusedError, stopIfInterrupted } from './errors.ts';
import type { ContainerEnd, ContainerSink, Deployment, RunFailure } from './run-record.ts';

/** How long the server may take to listen, and the clients to say they wait for their go. */
const READY_TIMEOUT_MS = 30_000;
/** How often a waiting loop looks again when no probe line woke it. */
export const TICK_MS = 250;

/** Lets a loop sleep until something happens (a probe line, an abort) or `ms` pass, whichever is first. */
class Wakeup {
  private wake: (() => void) | undefined;

  notify = (): void => {
    this.wake?.();
    this.wake = undefined;
  };

  wait(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => this.notify(), ms);
      this.wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }
}

/** A failure the loop itself detects, carried to its one catch as a type. */
export class RunFailed extends EngineError {
  constructor(readonly failure: RunFailure) {
    super(failure.cause);
    this.name = 'RunFailed';
  }
}

/**
 * What a run has seen so far: every container's probe lines (through `sink`, which a deployment feeds), which
 * containers ended and why, and a wakeup that every line and an abort trigger, so the run's loops react at once.
 */
export class RunWatch {
  readonly logs = new Map<string, ProbeLog>();
  /** Containers that ended, with how (typed by the backend) and what the engine said of it ('' when nothing). */
  readonly exited = new Map<string, ContainerEnd>();
  readonly wakeup = new Wakeup();
  readonly sink: ContainerSink;

  constructor(
    private readonly deployment: Pick<Deployment, 'describe' | 'containers' | 'runsApplication'>,
    private readonly signal: AbortSignal,
    private readonly now: () => number,
  ) {
    signal.addEventListener('abort', this.wakeup.notify, { once: true });
    this.sink = {
      created: (container) => {
        this.logOf(container);
      },
      line: (container, line) => {
        this.logOf(container).addLine(line);
        this.wakeup.notify();
      },
      exited: (container, end, application) => {
        // An application client that exits has done what it does (its observer ended with it); anything else that
        // ends during a run is a failure, and so is an application client whose node was lost or whose task never ran.
        const applicationEnded = end === undefined || end.kind === 'exited';
        if (applicationEnded && this.deployment.runsApplication(container) && container !== this.deployment.containers.server)
          this.logOf(container).applicationExited(application);
        else this.exited.set(container, end ?? { kind: 'exited', why: application ? describeEnd(application) : '' });
        this.wakeup.notify();
      },
    };
  }

  private logOf(container: string): ProbeLog {
    let log = this.logs.get(container);
    if (!log) this.logs.set(container, (log = new ProbeLog(container)));
    return log;
  }

  observations(): Record<string, ContainerObservation> {
    return Object.assign({}, ...[...this.logs.values()].map((log) => log.snapshots())) as Record<string, ContainerObservation>;
  }

  series(): Record<string, ContainerSeries> {
    return Object.assign({}, ...[...this.logs.values()].map((log) => log.series())) as Record<string, ContainerSeries>;
  }

  /** What the engine said of a container's end, as a parenthesis ('' when it said nothing). */
  private ending(container: string): string {
    const why = this.exited.get(container)?.why;
    return why ? ` (${why})` : '';
  }

  probeFailed(observation: ContainerObservation): RunFailed {
    return new RunFailed({
      kind: 'probe-failed',
      container: observation.name,
      cause: `the probe in ${observation.name} failed: ${observation.fatal.join('; ')}`,
    });
  }

  lostEngine(cause: string): RunFailed {
    return new RunFailed({ kind: 'lost-engine', container: null, cause: `lost ${this.deployment.describe()}: ${cause}` });
  }

  exitedEarly(container: string, when: string): RunFailed {
    const kind = this.exited.get(container)?.kind ?? 'exited';
    return new RunFailed({ kind, container, cause: `container ${container} exited ${when}${this.ending(container)}` });
  }

  /** A client that stopped on a signal portlab did not send (it sends none before the run ends). */
  stoppedOutside(container: string): RunFailed {
    return new RunFailed({
      kind: 'stopped-outside',
      container,
      cause: `container ${container} was stopped from outside the run while it was going on (a signal portlab did not send: docker stop, or its engine stopping)`,
    });
  }

  /** Throws the interrupt when the run was aborted. */
  checkInterrupt(step: string): void {
    stopIfInterrupted(this.signal, step);
  }

  /** Waits until every named probe is `what`; one whose probe failed or whose container ended first fails the run. */
  async waitFor(names: string[], reached: (name: string) => boolean, what: string): Promise<void> {
    const by = this.now() + READY_TIMEOUT_MS;
    for (;;) {
      this.checkInterrupt(`waiting for ${names.join(', ')} to be ${what}`);
      const pending = names.filter((name) => !reached(name));
      if (pending.length === 0) return;
      const observations = this.observations();
      const failed = pending.map((name) => observations[name]).find((observation) => observation?.fatal.length);
      if (failed) throw this.probeFailed(failed);
      const gone = pending.find((name) => this.exited.has(name));
      if (gone) throw this.exitedEarly(gone, `before it was ${what}`);
      if (this.now() > by) {
        throw new RunFailed({
          kind: 'not-ready',
          container: pending[0]!,
          cause: `${pending.join(', ')}: not ${what} after ${READY_TIMEOUT_MS / 1000}s`,
        });
      }
      await this.wakeup.wait(TICK_MS);
    }
  }
}

/**
 * What stopped a run, typed: the loop's own failures as they were thrown; an interrupt (or an abort whatever was
 * thrown then); an engine call that failed because the daemon went away (a hang-up, a refused socket) is the
 * engine lost; any other engine error an engine call's.
 */
export async function classifyFailure(
  error: unknown,
  signal: AbortSignal,
  deployment: Pick<Deployment, 'ping' | 'describe'>,
): Promise<RunFailure> {
  if (error instanceof InterruptedError || signal.aborted) return { kind: 'interrupted', container: null, cause: 'interrupted' };
  const seen: RunFailure =
    error instanceof RunFailed
      ? error.failure
      : { kind: error instanceof NofileRefusedError ? 'nofile-refused' : 'engine-call', container: null, cause: (error as Error).message };
  if (seen.kind !== 'lost-engine' && error instanceof EngineError && !(await deployment.ping())) {
    return { kind: 'lost-engine', container: seen.container, cause: `lost ${deployment.describe()}: ${seen.cause}` };
  }
  return seen;
}
