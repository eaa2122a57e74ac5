import { ApplicationEnd } from './application-end.ts';
import { z } from 'zod';
import { KernelView, KernelViewLog } from './kernel-view.ts';
import { parseProbeLine, ReadyEvent, type ProbeEvent } from './probe-events.ts';
import { MAX_SERIES_POINTS, thinPoints, toSeries, type ContainerSeries, type SeriesPoint } from './series.ts';

export const WorkerObservation = z.strictObject({
  worker: z.number().int(),
  /** Descriptors this worker could hold (its share of the fd budget). */
  budget: z.number().int().nullable(),
  count: z.number().int(),
  /** The errno that stopped it: connect()/socket()/bind() for a client, accept() for a server; null if nothing did. */
  errno: z.string().nullable(),
  /** When it stopped connecting or accepting, ms since its probe started; null while it is still going. */
  stoppedAtMs: z.number().int().nullable(),
});
export type WorkerObservation = z.infer<typeof WorkerObservation>;

export const ContainerObservation = z.strictObject({
  name: z.string(),
  ready: ReadyEvent.nullable(),
  workers: z.array(WorkerObservation),
  /** Connections held (client) or accepted (server), over all workers. */
  count: z.number().int(),
  /** How many workers stopped with each errno. */
  errors: z.record(z.string(), z.number().int()),
  /** The errno that stopped the container: the last worker to stop (hand-offs aside); null while none has. */
  error: z.string().nullable(),
  /** Nothing more will happen: every worker stopped, or the last one stopped without handing off. */
  finished: z.boolean(),
  /** Sockets in TIME_WAIT in the container's namespace when its last worker reported (null if none said). */
  timeWait: z.number().int().nullable(),
  /**
   * Churn: sockets that entered TIME_WAIT in the namespace while it churned (null if not reported). More than are
   * in TIME_WAIT at the end means some left it early: killed by an RST, their ports free again.
   */
  timeWaitEntered: z.number().int().nullable().optional(),
  /** Paced churn: connections its workers were behind their schedule at the end, together (absent if not paced). */
  paceBehind: z.number().int().optional(),
  /** A client connecting over IPv6: its count by the family of the server's address (absent for IPv4 alone). */
  byFamily: z.strictObject({ ipv4: z.number().int(), ipv6: z.number().int() }).optional(),
  /** An application portlab did not write: what the kernel showed of its namespace (its observer's lines). */
  kernel: KernelView.optional(),
  /** An application client that ended: its exit code and last lines. */
  applicationEnd: ApplicationEnd.optional(),
  fatal: z.array(z.string()),
  /** Lines on stdout that were not probe events (kept, never interpreted). */
  unparsed: z.array(z.string()),
});
export type ContainerObservation = z.infer<typeof ContainerObservation>;

const MAX_UNPARSED = 20;

type WorkerState = { budget: number | null; count: number; errno: string | null; stoppedAtMs: number | null; handedOff: boolean };

/** Accumulates one container's probe lines; `snapshot()` is the observation so far. Pure: no clock, no I/O. */
export class ContainerLog {
  private ready: ReadyEvent | null = null;
  private readonly workers = new Map<number, WorkerState>();
  private readonly fatal: string[] = [];
  private readonly unparsed: string[] = [];
  /** Workers in the order they stopped. */
  private readonly stops: number[] = [];
  private timeWait: number | null = null;
  private timeWaitEntered: number | null = null;
  private readonly paceBehind = new Map<number, number>();
  /** Per worker, how many of its connections went to the server's IPv6 address (workers that connect over IPv6). */
  private readonly ipv6 = new Map<number, number>();
  /** The container's count (and TIME_WAIT, where reported) after each event that moved it. */
  private readonly points: SeriesPoint[] = [];
  /** Workers that printed their `done` line. */
  private readonly done = new Set<number>();
  /** A client worker stopped by a signal (SIGTERM): the run's stop, or someone else's (docker stop, the engine stopping). */
  private signalled = false;
  /** An observed application's kernel view, and whether the application has exited (a client's end). */
  private readonly kernel = new KernelViewLog();
  private appEnded = false;
  private appEnd: ApplicationEnd | undefined;

  constructor(readonly name: string) {}

  addLine(line: string): ProbeEvent | undefined {
    const parsed = parseProbeLine(line);
    if (!parsed.ok) {
      if (this.unparsed.length < MAX_UNPARSED) this.unparsed.push(line);
      return undefined;
    }
    this.add(parsed.event);
    return parsed.event;
  }

  add(event: ProbeEvent): void {
    switch (event.event) {
      case 'ready':
        this.ready = event;
        if (this.points.length === 0) this.points.push({ t: event.t, count: 0, timeWait: null });
        return;
      case 'worker':
        this.worker(event.worker).budget = event.budget;
        return;
      case 'observe': {
        this.kernel.add(event);
        const view = this.kernel.snapshot()!;
        // An application's count is what the kernel showed at most: a client's ports in use, a server's accepted connections.
        this.worker(0).count = view.role === 'server' ? view.peakAccepted : view.peakInUse;
        this.lastT = event.t;
        this.point(event.t, view.states['TIME-WAIT'] ?? 0);
        return;
      }
      case 'progress': {
        const worker = this.worker(event.worker);
        worker.count = Math.max(worker.count, event.count);
        this.point(event.t, event.timeWait);
        return;
      }
      case 'limit': {
        const worker = this.worker(event.worker);
        worker.count = event.count;
        worker.errno = event.errno;
        this.stopped(event.worker, worker, event.t);
        this.point(event.t, undefined);
        return;
      }
      case 'done': {
        this.done.add(event.worker);
        if (event.timeWait !== undefined) this.timeWait = event.timeWait;
        if (event.timeWaitEntered !== undefined && event.timeWaitEntered >= 0)
          this.timeWaitEntered = Math.max(this.timeWaitEntered ?? 0, event.timeWaitEntered);
        if (event.paceBehind !== undefined && event.paceBehind >= 0) this.paceBehind.set(event.worker, event.paceBehind);
        if (event.ipv6 !== undefined) this.ipv6.set(event.worker, event.ipv6);
        const worker = this.worker(event.worker);
        // An observer's `done` has no count of its own (-1): the kernel's view is the count.
        if (event.count >= 0) worker.count = event.count;
        if (event.errno !== 'none') worker.errno = event.errno;
        worker.handedOff = event.reason === 'handoff';
        if (event.role === 'client' && event.reason === 'signal') this.signalled = true;
        // A server worker's `done` comes at shutdown: only an errno (or a `limit` before it) means it stopped early.
        if (event.role === 'client' || event.errno !== 'none') this.stopped(event.worker, worker, event.t);
        this.point(event.t, event.timeWait);
        return;
      }
      case 'waiting':
      case 'sysctls': // preflight's, never a run container's
      case 'inspect': // portlab inspect's, never a run container's
      case 'exit': // an observer that started the application itself (`observe -- COMMAND`): no run compiles one yet
        return;
      case 'fatal':
        this.fatal.push(`${event.message} (${event.errno})`);
        return;
      default: {
        const unreachable: never = event;
        return unreachable;
      }
    }
  }

  /** The container's total after an event at `t`; a probe reports TIME_WAIT only where it counts it (-1: could not read). */
  private point(t: number, timeWait: number | undefined): void {
    let count = 0;
    for (const state of this.workers.values()) count += state.count;
    this.points.push({ t, count, timeWait: timeWait === undefined || timeWait < 0 ? null : timeWait });
    // A probe reports every 10 ms: a long run keeps at most a few times what a result stores, thinned as it goes
    // (each time to slices finer than the stored series' will be), so memory does not grow with the run's length.
    if (this.points.length > 4 * MAX_SERIES_POINTS)
      this.points.splice(0, this.points.length, ...thinPoints(this.points, 2 * MAX_SERIES_POINTS));
  }

  private lastT = 0;

  /** An observed application client exited: it will connect no more (its observer ended with it). */
  applicationExited(end?: ApplicationEnd): void {
    if (this.appEnded) return;
    this.appEnded = true;
    this.appEnd = end;
    this.stopped(0, this.worker(0), this.lastT);
  }

  /** Every worker the probe started has printed its `done` line: nothing more will come from it. */
  /** A client worker of this container stopped on a signal rather than a limit or its duration. */
  stoppedBySignal(): boolean {
    return this.signalled;
  }

  allDone(): boolean {
    const processes = this.ready?.processes;
    return processes !== undefined && this.done.size >= processes;
  }

  /** The run as a series, thinned to what a result stores. */
  series(): ContainerSeries {
    return toSeries(this.points, this.ready?.epochMs ?? null);
  }

  private stopped(index: number, worker: WorkerState, t: number): void {
    if (worker.stoppedAtMs !== null) return;
    worker.stoppedAtMs = t;
    this.stops.push(index);
  }

  private worker(index: number): WorkerState {
    let state = this.workers.get(index);
    if (!state) {
      state = { budget: null, count: 0, errno: null, stoppedAtMs: null, handedOff: false };
      this.workers.set(index, state);
    }
    return state;
  }

  /** The count by the server's address family, once a worker connecting over IPv6 has said how many went there. */
  private byFamily(workers: Array<{ count: number }>): { byFamily?: { ipv4: number; ipv6: number } } {
    if (this.ipv6.size === 0) return {};
    const ipv6 = [...this.ipv6.values()].reduce((sum, count) => sum + count, 0);
    const count = workers.reduce((sum, worker) => sum + worker.count, 0);
    return { byFamily: { ipv4: count - ipv6, ipv6 } };
  }

  snapshot(): ContainerObservation {
    const workers = [...this.workers.entries()]
      .sort(([a], [b]) => a - b)
      .map(([worker, state]) => ({ worker, budget: state.budget, count: state.count, errno: state.errno, stoppedAtMs: state.stoppedAtMs }));
    const errors: Record<string, number> = {};
    for (const worker of workers) if (worker.errno) errors[worker.errno] = (errors[worker.errno] ?? 0) + 1;
    const finalStops = this.stops.filter((index) => !this.workers.get(index)?.handedOff);
    const last = finalStops.at(-1);
    const error = last === undefined ? null : (this.workers.get(last)?.errno ?? null);
    const states = [...this.workers.values()];
    const allStopped = states.length > 0 && states.every((state) => state.stoppedAtMs !== null);
    const lastStopHandedOff = this.workers.get(this.stops.at(-1) ?? -1)?.handedOff ?? false;
    const finished =
      // An application that ended is finished once its observer has said what it saw from the start (its ready line).
      (this.appEnded && this.ready !== null) ||
      (this.ready?.handoff ? allStopped && !lastStopHandedOff : this.stops.length >= (this.ready?.processes ?? Number.POSITIVE_INFINITY));
    const kernel = this.kernel.snapshot();
    return {
      name: this.name,
      ready: this.ready,
      workers,
      count: workers.reduce((sum, worker) => sum + worker.count, 0),
      errors,
      error,
      finished,
      timeWait: this.timeWait,
      ...(this.timeWaitEntered === null ? {} : { timeWaitEntered: this.timeWaitEntered }),
      ...(this.paceBehind.size === 0 ? {} : { paceBehind: [...this.paceBehind.values()].reduce((sum, behind) => sum + behind, 0) }),
      ...this.byFamily(workers),
      ...(kernel ? { kernel } : {}),
      ...(this.appEnd ? { applicationEnd: this.appEnd } : {}),
      fatal: [...this.fatal],
      unparsed: [...this.unparsed],
    };
  }
}
