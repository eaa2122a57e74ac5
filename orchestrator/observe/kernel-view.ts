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
  /** A server: the most connections accepted by the application at once (ESTABLISHED less those still queued). */
  peakAccepted: z.number().int(),
  /** Each listening socket on the ports: the backlog the application asked for (capped by somaxconn), the most queued. */
  listeners: z.array(z.strictObject({ port: z.number().int(), backlog: z.number().int(), peakQueue: z.number().int() })),
  /** The application's busiest process: the most descriptors it held at once, and its soft nofile (null: unreadable). */
  app: z.strictObject({ processes: z.number().int(), peakFds: z.number().int(), nofile: z.number().int().nullable() }),
  observations: z.number().int(),
});
export type KernelView = z.infer<typeof KernelView>;

/** The counts one `observe` line gives: established on or to the ports, of them still queued, and accepted. */
export function observedCounts(event: ObserveEvent): { established: number; queued: number; accepted: number } {
  const established = Object.values(event.ports).reduce((sum, states) => sum + (states.ESTABLISHED ?? 0), 0);
  const queued = event.role === 'server' ? event.listeners.reduce((sum, listener) => sum + listener.queue, 0) : 0;
  return { established, queued, accepted: Math.max(0, established - queued) };
}

/** Folds `observe` lines into a KernelView. Pure. */
export class KernelViewLog {
  private view: KernelView | null = null;

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
    this.view = {
      role: event.role,
      states,
      peakStates,
      peakEstablished: Math.max(previous?.peakEstablished ?? 0, counts.established),
      peakInUse: Math.max(
        previous?.peakInUse ?? 0,
        Object.values(states).reduce((sum, count) => sum + count, 0),
      ),
      peakAccepted: Math.max(previous?.peakAccepted ?? 0, counts.accepted),
      listeners,
      app,
      observations: (previous?.observations ?? 0) + 1,
    };
  }

  snapshot(): KernelView | null {
    return this.view;
  }
}
