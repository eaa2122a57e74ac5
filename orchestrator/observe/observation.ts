import { z } from 'zod';
import { parseProbeLine, ReadyEvent, type ProbeEvent } from './probe-events.ts';

export const WorkerObservation = z.strictObject({
  worker: z.number().int(),
  /** Descriptors this worker could hold (its share of the fd budget). */
  budget: z.number().int().nullable(),
  count: z.number().int(),
  /** The errno that stopped it: connect()/socket() for a client, accept() for a server ("none" if nothing did). */
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
  /** The errno most workers stopped with (the last one to stop breaks a tie); null while none has stopped. */
  error: z.string().nullable(),
  /** Every worker the probe started has stopped. */
  finished: z.boolean(),
  fatal: z.array(z.string()),
  /** Lines on stdout that were not probe events (kept, never interpreted). */
  unparsed: z.array(z.string()),
});
export type ContainerObservation = z.infer<typeof ContainerObservation>;

const MAX_UNPARSED = 20;

type WorkerState = { budget: number | null; count: number; errno: string | null; stoppedAtMs: number | null; done: boolean };

/** Accumulates one container's probe lines; `snapshot()` is the observation so far. Pure: no clock, no I/O. */
export class ContainerLog {
  private ready: ReadyEvent | null = null;
  private readonly workers = new Map<number, WorkerState>();
  private readonly fatal: string[] = [];
  private readonly unparsed: string[] = [];
  private lastStopped = -1;

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
        return;
      case 'worker':
        this.worker(event.worker).budget = event.budget;
        return;
      case 'progress': {
        const worker = this.worker(event.worker);
        worker.count = Math.max(worker.count, event.count);
        return;
      }
      case 'limit': {
        const worker = this.worker(event.worker);
        worker.count = event.count;
        worker.errno = event.errno;
        worker.stoppedAtMs = event.t;
        this.lastStopped = event.worker;
        return;
      }
      case 'done': {
        const worker = this.worker(event.worker);
        worker.count = event.count;
        worker.done = true;
        // A server worker's `done` comes at shutdown; its `limit`, if any, said when it really stopped.
        if (worker.stoppedAtMs === null && event.errno !== 'none') {
          worker.stoppedAtMs = event.t;
          this.lastStopped = event.worker;
        }
        worker.errno = event.errno === 'none' ? worker.errno : event.errno;
        if (event.role === 'client' && worker.stoppedAtMs === null) worker.stoppedAtMs = event.t;
        return;
      }
      case 'fatal':
        this.fatal.push(`${event.message} (${event.errno})`);
        return;
      default: {
        const unreachable: never = event;
        return unreachable;
      }
    }
  }

  private worker(index: number): WorkerState {
    let state = this.workers.get(index);
    if (!state) {
      state = { budget: null, count: 0, errno: null, stoppedAtMs: null, done: false };
      this.workers.set(index, state);
    }
    return state;
  }

  snapshot(): ContainerObservation {
    const workers = [...this.workers.entries()]
      .sort(([a], [b]) => a - b)
      .map(([worker, state]) => ({ worker, budget: state.budget, count: state.count, errno: state.errno, stoppedAtMs: state.stoppedAtMs }));
    const errors: Record<string, number> = {};
    for (const worker of workers) if (worker.errno) errors[worker.errno] = (errors[worker.errno] ?? 0) + 1;
    const lastErrno = this.workers.get(this.lastStopped)?.errno ?? null;
    const error =
      Object.entries(errors).sort(([errnoA, a], [errnoB, b]) => b - a || Number(errnoB === lastErrno) - Number(errnoA === lastErrno))[0]?.[0] ?? null;
    const expected = this.ready?.processes ?? Number.POSITIVE_INFINITY;
    const stopped = [...this.workers.values()].filter((state) => state.stoppedAtMs !== null).length;
    return {
      name: this.name,
      ready: this.ready,
      workers,
      count: workers.reduce((sum, worker) => sum + worker.count, 0),
      errors,
      error,
      finished: stopped >= expected,
      fatal: [...this.fatal],
      unparsed: [...this.unparsed],
    };
  }
}
