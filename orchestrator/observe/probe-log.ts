import type { ApplicationEnd } from './application-end.ts';
import { phaseKey } from '../scenario/names.ts';
import { ContainerLog, type ContainerObservation } from './observation.ts';
import { parseProbeLine, type ReadyEvent } from './probe-events.ts';
import type { ContainerSeries } from './series.ts';

/**
 * One container's probe lines, with a client's phases kept apart: `snapshots()` gives the container's own
 * observation (its ready line, fatal errors) under its name, and each phase's under `<name>/phase-<n>`.
 */
export class ProbeLog {
  private readonly base: ContainerLog;
  private readonly phases = new Map<number, ContainerLog>();
  private ready: ReadyEvent | undefined;
  private waitingForGo = false;

  constructor(readonly name: string) {
    this.base = new ContainerLog(name);
  }

  /** Its lines come from an observer: the container runs an application, not the probe. */
  observed(): boolean {
    return this.ready?.observed !== undefined;
  }

  /** The observed application exited (a client's end; its observer ends with it). */
  applicationExited(end?: ApplicationEnd): void {
    this.base.applicationExited(end);
  }

  /** The probe said it waits for its go signal (SIGUSR2). */
  waiting(): boolean {
    return this.waitingForGo;
  }

  addLine(line: string): void {
    const parsed = parseProbeLine(line);
    if (!parsed.ok) {
      this.base.addLine(line);
      return;
    }
    const event = parsed.event;
    if (event.event === 'waiting') {
      this.waitingForGo = true;
      return;
    }
    if (event.event === 'ready') {
      this.ready = event;
      for (const log of this.phases.values()) log.add(event);
    }
    const phase = 'phase' in event ? event.phase : undefined;
    if (phase === undefined) {
      this.base.add(event);
      return;
    }
    let log = this.phases.get(phase);
    if (!log) {
      log = new ContainerLog(phaseKey(this.name, phase));
      if (this.ready) log.add(this.ready);
      this.phases.set(phase, log);
    }
    log.add(event);
  }

  snapshots(): Record<string, ContainerObservation> {
    const entries: Array<[string, ContainerObservation]> = [[this.name, this.base.snapshot()]];
    for (const log of this.phases.values()) entries.push([log.name, log.snapshot()]);
    return Object.fromEntries(entries);
  }

  /** Each observation's series, under the same names as `snapshots()`. */
  series(): Record<string, ContainerSeries> {
    return Object.fromEntries([this.base, ...this.phases.values()].map((log) => [log.name, log.series()]));
  }

  /** The counts that make up what the container holds or churned: its phases', or its own. */
  counted(): ContainerObservation[] {
    return this.phases.size > 0 ? [...this.phases.values()].map((log) => log.snapshot()) : [this.base.snapshot()];
  }

  /** A client worker stopped on a signal, in the container or any of its phases. */
  stoppedBySignal(): boolean {
    return this.base.stoppedBySignal() || [...this.phases.values()].some((log) => log.stoppedBySignal());
  }

  /** Every worker of the container printed its `done` line (a server's come when it is stopped). */
  allDone(): boolean {
    return this.base.allDone();
  }

  /** Nothing more will happen: the last phase (or the container itself) has finished. */
  finished(): boolean {
    const count = this.ready?.phases ?? 0;
    if (count === 0) return this.base.snapshot().finished;
    return this.phases.get(count)?.snapshot().finished ?? false;
  }
}
