import { z } from 'zod';
import type { ObserveEvent } from './probe-events.ts';

/**
 * What the kernel showed of an application's namespace over a run, from its observer's `observe` lines: the TCP
 * sockets on the server's ports (a server) or to them (a client) by state, the listening sockets' backlog and accept
 * queue, and the application's descriptors against its nofile. Peaks are over the whole run; `states` is the last view.
 */
export const KernelView = z.strictObject({
  role: z.enum(['server', 'client']),
  /** Sockets by state (ss's names: ESTABLISHED, SYN-SENT, SYN-RECV, CLOSE-WAIT, FIN-WAIT-2, TIME-WAIT, ...), last seen. */
  states: z.record(z.string(), z.number().int()),
  /** The most of each state seen at once. */
  peakStates: z.record(z.string(), z.number().int()),
  /** ESTABLISHED on (server) or to (client) the ports, at most at once. */
  peakEstablished: z.number().int(),
  /**
   * The most sockets on (server) or to (client) the ports at once, in any state but LISTEN: for a client, the local
   * ports it held for those destinations (a TIME_WAIT keeps its port as an ESTABLISHED connection does).
   */
  peakInUse: z.number().int(),
  /**
   * A server: the most connections the application held at once, accepted and not closed (sockets on the ports it
   * holds a descriptor of, counted socket by socket in one look; a client: the sockets to them it holds open).
   */
  peakAccepted: z.number().int(),
  /** Each listening socket on the ports: the backlog the application asked for (capped by somaxconn), the most queued. */
  listeners: z.array(z.strictObject({ port: z.number().int(), backlog: z.number().int(), peakQueue: z.number().int() })),
  /** The application's busiest process: the most descriptors it held at once, and its soft nofile (null: unreadable). */
  app: z.strictObject({ processes: z.number().int(), peakFds: z.number().int(), nofile: z.number().int().nullable() }),
  observations: z.number().int(),
  /**
   * The view over time, column by column (point i is t[i], ...), ms on the observer's clock (its ready line's
   * epochMs): connections ESTABLISHED, held by the application, waiting in the accept queue, closing (FIN-WAIT, CLOSE-WAIT, LAST-ACK,
   * CLOSING), in TIME_WAIT, and the busiest process's descriptors. At most KERNEL_SERIES_POINTS, evenly thinned.
   */
  series: z.strictObject({
    t: z.array(z.number().int()),
    established: z.array(z.number().int()),
    held: z.array(z.number().int()),
    queued: z.array(z.number().int()),
    closing: z.array(z.number().int()),
    timeWait: z.array(z.number().int()),
    fds: z.array(z.number().int()),
  }),
});
export type KernelView = z.infer<typeof KernelView>;

/**
 * A view's listening sockets as a person reads them, one entry per port: a dual-stack application listens on one
 * port twice (an IPv4 and an IPv6 socket, each with its own backlog and queue), "6379: 511 (2 sockets)".
 */
export function listenersByPort(
  listeners: KernelView['listeners'],
): Array<{ port: number; sockets: number; backlogs: number[]; peakQueue: number }> {
  const byPort = new Map<number, { port: number; sockets: number; backlogs: number[]; peakQueue: number }>();
  for (const listener of listeners) {
    const entry = byPort.get(listener.port) ?? { port: listener.port, sockets: 0, backlogs: [], peakQueue: 0 };
    entry.sockets += 1;
    if (!entry.backlogs.includes(listener.backlog)) entry.backlogs.push(listener.backlog);
    entry.peakQueue += listener.peakQueue;
    byPort.set(listener.port, entry);
  }
  return [...byPort.values()];
}

/** "511", "511 (2 sockets)": a port's backlog, and how many listening sockets have it. */
export const backlogText = (entry: { sockets: number; backlogs: number[] }, format: (count: number) => string): string =>
  `${entry.backlogs.map(format).join(' and ')}${entry.sockets > 1 ? ` (${entry.sockets} sockets)` : ''}`;

/** The counts one `observe` line gives: established on or to the ports, held by the application, still queued. */
export function observedCounts(event: ObserveEvent): { established: number; held: number; queued: number } {
  const established = Object.values(event.ports).reduce((sum, states) => sum + (states.ESTABLISHED ?? 0), 0);
  const queued = event.role === 'server' ? event.listeners.reduce((sum, listener) => sum + listener.queue, 0) : 0;
  return { established, held: event.held, queued };
}

/** How many points a kernel view's series keeps at most. */
export const KERNEL_SERIES_POINTS = 500;
const CLOSING = ['FIN-WAIT-1', 'FIN-WAIT-2', 'CLOSE-WAIT', 'LAST-ACK', 'CLOSING'];
type KernelPoint = { t: number; established: number; held: number; queued: number; closing: number; timeWait: number; fds: number };

/** Every `max`-th of the points, evenly spread, the first and the last kept. Pure. */
function thinEvenly<T>(points: readonly T[], max: number): T[] {
  if (points.length <= max) return [...points];
  return Array.from({ length: max }, (_, index) => points[Math.round((index * (points.length - 1)) / (max - 1))]!);
}

/** Folds `observe` lines into a KernelView. Pure. */
export class KernelViewLog {
  private view: Omit<KernelView, 'series'> | null = null;
  private readonly points: KernelPoint[] = [];

  add(event: ObserveEvent): void {
    const counts = observedCounts(event);
    const states: Record<string, number> = {};
    for (const byState of Object.values(event.ports))
      for (const [state, count] of Object.entries(byState)) states[state] = (states[state] ?? 0) + count;
    const previous = this.view;
    const peakStates = { ...previous?.peakStates };
    for (const [state, count] of Object.entries(states)) peakStates[state] = Math.max(peakStates[state] ?? 0, count);
    const listeners = event.listeners.map((listener) => {
      const before = previous?.listeners.find((known) => known.port === listener.port);
      return { port: listener.port, backlog: listener.backlog, peakQueue: Math.max(before?.peakQueue ?? 0, listener.queue) };
    });
    for (const before of previous?.listeners ?? [])
      if (!listeners.some((listener) => listener.port === before.port)) listeners.push(before);
    const busiest = [...event.processes].sort((a, b) => b.fds - a.fds)[0];
    const app =
      busiest && busiest.fds >= (previous?.app.peakFds ?? -1)
        ? { processes: event.processes.length, peakFds: busiest.fds, nofile: busiest.nofile >= 0 ? busiest.nofile : null }
        : (previous?.app ?? { processes: event.processes.length, peakFds: 0, nofile: null });
    this.points.push({
      t: event.t,
      established: counts.established,
      held: counts.held,
      queued: counts.queued,
      closing: CLOSING.reduce((sum, state) => sum + (states[state] ?? 0), 0),
      timeWait: states['TIME-WAIT'] ?? 0,
      fds: busiest?.fds ?? 0,
    });
    this.view = {
      role: event.role,
      states,
      peakStates,
      peakEstablished: Math.max(previous?.peakEstablished ?? 0, counts.established),
      peakInUse: Math.max(
        previous?.peakInUse ?? 0,
        Object.values(states).reduce((sum, count) => sum + count, 0),
      ),
      peakAccepted: Math.max(previous?.peakAccepted ?? 0, counts.held),
      listeners,
      app,
      observations: (previous?.observations ?? 0) + 1,
    };
  }

  snapshot(): KernelView | null {
    if (!this.view) return null;
    const points = thinEvenly(this.points, KERNEL_SERIES_POINTS);
    const column = (key: keyof KernelPoint) => points.map((point) => point[key]);
    return {
      ...this.view,
      series: {
        t: column('t'),
        established: column('established'),
        held: column('held'),
        queued: column('queued'),
        closing: column('closing'),
        timeWait: column('timeWait'),
        fds: column('fds'),
      },
    };
  }
}
