import { type ApplicationEnd, errnoItPrinted } from '../observe/application-end.ts';
import { backlogText, listenersByPort, type KernelView } from '../observe/kernel-view.ts';
import { formatCount, showCount } from '../predict/count-range.ts';
import type { ClientPrediction } from '../predict/prediction-schema.ts';
import type { Bound } from './verdict-schema.ts';

/*
 * What bound an application of the user's own, read from the kernel's view of it (its observer's looks) and how it
 * ended: a kernel limit the model names, or the application's own, with the evidence in numbers. Pure.
 */

/** Server-side states of connections the server closed first (docs/model.md, "TIME_WAIT"). */
const CLOSED_BY_SERVER = ['FIN-WAIT-1', 'FIN-WAIT-2', 'CLOSING', 'TIME-WAIT'];

/** An observed application's descriptors: the busiest process's, against its soft nofile. */
function descriptors(view: KernelView): { fds: number; nofile: number | null; free: string } {
  const { peakFds: fds, nofile } = view.app;
  return { fds, nofile, free: nofile === null ? 'an unknown number of' : formatCount(Math.max(0, nofile - fds)) };
}

/**
 * The listeners whose accept queue filled and stayed full until the end of what the server held: there the
 * application stopped accepting. Read from the whole run, not its last look alone: a queue still full at the last
 * look; or one that drained only as the connections the server held fell (the clients ended, as a load tool that
 * stops on its own clock does: what waited in the queue went with them), not as the server took it (a pause: nginx
 * stops accepting for a while when few of its worker_connections are left, then takes the queue, and what it holds
 * rises with what it took). Counted in held connections, not ESTABLISHED ones: a queued connection its client has
 * closed waits in the queue in CLOSE-WAIT.
 */
export function stoppedListeners(view: KernelView): KernelView['listeners'] {
  const full = view.listeners.filter((listener) => listener.backlog > 0 && listener.peakQueue >= listener.backlog);
  if (full.length === 0) return [];
  const capacity = full.reduce((sum, listener) => sum + listener.backlog, 0);
  const { queued, held } = view.series;
  const lastFull = queued.reduce((found, count, index) => (count >= capacity ? index : found), -1);
  if (lastFull < 0) return [];
  if (lastFull === queued.length - 1) return full;
  return (held[lastFull + 1] ?? 0) < (held[lastFull] ?? 0) ? full : [];
}

/** Connections the server closed itself (its side in a closing state), and in which states, from its peak counts. */
function closedByServer(view: KernelView): { closed: number; states: string } {
  const closed = Math.max(0, ...CLOSED_BY_SERVER.map((state) => view.peakStates[state] ?? 0));
  return { closed, states: CLOSED_BY_SERVER.filter((state) => view.peakStates[state]).join('/') };
}

/**
 * What bound an application server, from the kernel's view of it: connections it closed itself while its accept queue
 * never filled (its own limit, whatever its descriptor count: a server that sets its own nofile and closes past it
 * keeps accepting, so a look may catch a handshake waiting a moment, never a full queue, where accept()'s EMFILE
 * leaves every completed handshake waiting until the queue is full),
 * its descriptors (nofile, a kernel limit), a full accept queue while descriptors were free (it stopped accepting),
 * connections it closed itself, or none of these (it took every connection the clients made: their limits bound).
 * Every claim in the evidence carries the number it rests on.
 */
export function serverBound(view: KernelView, clientLimit: string, probeClientsHeld?: number): Bound {
  const { fds, nofile, free } = descriptors(view);
  const accepted = formatCount(view.peakAccepted);
  const { closed, states } = closedByServer(view);
  const peakQueued = view.listeners.reduce((sum, listener) => sum + listener.peakQueue, 0);
  const backlog = listenersByPort(view.listeners)
    .map((entry) => `${entry.port}: ${backlogText(entry, formatCount)}`)
    .join(', ');
  const everFull = view.listeners.some((listener) => listener.backlog > 0 && listener.peakQueue >= listener.backlog);
  if (nofile !== null && fds >= nofile - 1) {
    if (closed > 0 && !everFull) {
      return {
        limit: 'application',
        by: 'application',
        evidence: `the server held ${accepted} connections at most at once and closed ${formatCount(closed)} it had accepted (its side in ${states}), with its accept queue never full (${formatCount(peakQueued)} queued at most at a look, backlog ${backlog}): it accepted each connection and closed what it had no room for, at ${formatCount(fds)} descriptors of its nofile ${formatCount(nofile)} (a limit it may set for itself): its own connection limit`,
      };
    }
    const queue =
      peakQueued > 0
        ? `the kernel queued ${formatCount(peakQueued)} more (backlog ${backlog}), completed handshakes waiting for a descriptor`
        : `nothing waited in its accept queue (0 at every look, backlog ${backlog}): the clients stopped where its descriptors did`;
    return {
      limit: 'server-nofile',
      by: 'kernel',
      evidence: `the application held ${formatCount(fds)} descriptors, all its nofile ${formatCount(nofile)}: accept() fails with EMFILE past it; ${queue}`,
    };
  }
  const full = stoppedListeners(view);
  if (full.length > 0) {
    const queued = full.reduce((sum, listener) => sum + listener.peakQueue, 0);
    const backlogs = full.map((listener) => `${listener.port}: ${formatCount(listener.backlog)}`).join(', ');
    return {
      limit: 'application',
      by: 'application',
      evidence: `the server accepted ${accepted} and then stopped accepting while ${free} descriptors were free (nofile ${nofile ?? 'unknown'}); the kernel queued ${formatCount(queued)} more (backlog ${backlogs}, the listening socket's own) and then dropped SYNs: clients timed out`,
    };
  }
  if (closed > 0) {
    return {
      limit: 'application',
      by: 'application',
      evidence: `the server held ${accepted} connections at most at once and closed ${formatCount(closed)} it had accepted (its side in ${states}), while ${free} descriptors were free (nofile ${nofile ?? 'unknown'}): its own connection limit`,
    };
  }
  // Probe clients count what they hold exactly; more than the server's side has, with none of them closing there,
  // were ended without a state the kernel keeps: reset.
  if (probeClientsHeld !== undefined && probeClientsHeld > view.peakEstablished) {
    return {
      limit: 'application',
      by: 'application',
      evidence: `the clients hold ${formatCount(probeClientsHeld)} connections but the server's side had ${formatCount(view.peakEstablished)} at most, none of them closing: it ended the others without a close the kernel keeps (a reset), while ${free} descriptors were free (nofile ${nofile ?? 'unknown'})`,
    };
  }
  return {
    limit: clientLimit,
    by: 'kernel',
    evidence: `the server accepted every connection the clients made (${accepted} at most at once) with ${free} descriptors free: the clients' own limit bound`,
  };
}

/**
 * What bound an application client, from the kernel's view of its namespace and how it ended: every connection the
 * kernel allows it (its predicted limit, exact); or the application's own last words naming the errno that limit
 * stops it with (its observer looks now and then, `observeEvery`, and can miss the last ports it took, a churning
 * load tool's most of all); or fewer, with connects waiting in SYN-SENT behind a server that stopped accepting (the
 * server held it back); or fewer (the application's own: a load tool's connection count, say). A TIME-WAIT keeps its local port for
 * the destination as an ESTABLISHED connection does: a range filled through TIME_WAIT is the port range.
 */
export function clientBound(
  view: KernelView,
  prediction: ClientPrediction,
  allowedMin: number,
  end?: ApplicationEnd,
  serverStopped = false,
): Bound {
  const inUse = formatCount(view.peakInUse);
  const others = Object.entries(view.peakStates)
    .filter(([state]) => state !== 'ESTABLISHED')
    .map(([state, count]) => `${formatCount(count)} ${state}`);
  const detail = `${formatCount(view.peakEstablished)} ESTABLISHED at most${others.length > 0 ? `, ${others.join(', ')}` : ''}`;
  const throughTimeWait =
    (view.peakStates['TIME-WAIT'] ?? 0) > 0
      ? '; a TIME-WAIT is a connection it closed first, keeping its port from this destination as an open one does'
      : '';
  const allowed = `the ${showCount(prediction.connections)} the kernel allows (${prediction.limit})`;
  // The application's own word, where it ended saying the errno this limit stops connect() with.
  const said = errnoItPrinted(end, prediction.error.errnos);
  const code = end?.exitCode === null || end === undefined ? 'ended' : `exited with code ${end.exitCode}`;
  if (view.peakInUse >= allowedMin) {
    return {
      limit: prediction.limit,
      by: 'kernel',
      evidence: `the kernel's view: ${inUse} sockets to the server at once (${detail}), each holding a local port: ${allowed}${throughTimeWait}; a connect() past them fails with ${prediction.error.errnos.join(' or ') || 'nothing'}${said ? `, and it ${code} saying "${said.line}" (${said.errno})` : ''}`,
    };
  }
  if (said) {
    return {
      limit: prediction.limit,
      by: 'kernel',
      evidence: `it ${code} saying "${said.line}" (${said.errno}: what connect() returns past ${allowed}); the kernel's view, read now and then, saw at most ${inUse} sockets to the server at once (${detail})${throughTimeWait}: it took the rest between looks`,
    };
  }
  const waiting = view.peakStates['SYN-SENT'] ?? 0;
  if (serverStopped && waiting > 0) {
    // Its connects that got no answer waited behind the server's full accept queue: the server's limit, not its own.
    return {
      limit: 'application',
      by: 'application',
      evidence: `it held ${inUse} sockets to the server at most at once (${detail}), below ${allowed}, ${formatCount(waiting)} of them connects waiting in SYN-SENT: the server had stopped accepting with its accept queue full and dropped their SYNs, so the server held it back (see the server)`,
    };
  }
  return {
    limit: 'application',
    by: 'application',
    evidence: `the application held ${inUse} sockets to the server at most at once (${detail}), below ${allowed}: its own limit (a load tool's connection count, say)`,
  };
}
