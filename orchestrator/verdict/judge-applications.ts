import { type ApplicationEnd, errnoItPrinted } from '../observe/application-end.ts';
import { backlogText, listenersByPort, type KernelView } from '../observe/kernel-view.ts';
import type { ContainerObservation } from '../observe/observation.ts';
import { formatCount, inCount, showCount, upTo } from '../predict/count-range.ts';
import type { ClientPrediction, Prediction } from '../predict/prediction-schema.ts';
import { handshakesPastFullQueue } from '../predict/shared-limits.ts';
import { SERVER_NAME } from '../scenario/names.ts';
import type { Bound, ContainerVerdict } from './verdict-schema.ts';

/** Server-side states of connections the server closed first (docs/model.md, "TIME_WAIT"). */
const CLOSED_BY_SERVER = ['FIN-WAIT-1', 'FIN-WAIT-2', 'CLOSING', 'TIME-WAIT'];

/** A container whose probe observes an application of the user's own (its ready line lists what it observes). */
const observesApplication = (observation: ContainerObservation | undefined) => observation?.ready?.observed !== undefined;

/** An observed application's descriptors: the busiest process's, against its soft nofile. */
function descriptors(view: KernelView): { fds: number; nofile: number | null; free: string } {
  const { peakFds: fds, nofile } = view.app;
  return { fds, nofile, free: nofile === null ? 'an unknown number of' : formatCount(Math.max(0, nofile - fds)) };
}

/**
 * The listeners whose accept queue filled and was still full at the last look: there the application stopped
 * accepting. A queue that filled and drained again was a pause, not a stop (nginx stops accepting for a while when
 * few of its worker_connections are left, then takes the queue): the clients' retried SYNs got through.
 */
export function stoppedListeners(view: KernelView): KernelView['listeners'] {
  const full = view.listeners.filter((listener) => listener.backlog > 0 && listener.peakQueue >= listener.backlog);
  const queuedAtEnd = view.series.queued.at(-1) ?? 0;
  return full.length > 0 && queuedAtEnd >= full.reduce((sum, listener) => sum + listener.backlog, 0) ? full : [];
}

/** Connections the server closed itself (its side in a closing state), and in which states, from its peak counts. */
function closedByServer(view: KernelView): { closed: number; states: string } {
  const closed = Math.max(0, ...CLOSED_BY_SERVER.map((state) => view.peakStates[state] ?? 0));
  return { closed, states: CLOSED_BY_SERVER.filter((state) => view.peakStates[state]).join('/') };
}

/**
 * What bound an application server, from the kernel's view of it: connections it closed itself while nothing waited
 * in its queue (its own limit, whatever its descriptor count: a server that sets its own nofile and closes past it),
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
  if (nofile !== null && fds >= nofile - 1) {
    if (closed > 0 && peakQueued === 0) {
      return {
        limit: 'application',
        by: 'application',
        evidence: `the server held ${accepted} connections at most at once and closed ${formatCount(closed)} it had accepted (its side in ${states}), with its accept queue empty at every look (0 queued, backlog ${backlog}): it accepted each connection and closed what it had no room for, at ${formatCount(fds)} descriptors of its nofile ${formatCount(nofile)} (a limit it may set for itself): its own connection limit`,
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
 * load tool's most of all); or fewer (the application's own: a load tool's connection count, say). A TIME-WAIT keeps its local port for
 * the destination as an ESTABLISHED connection does: a range filled through TIME_WAIT is the port range.
 */
export function clientBound(view: KernelView, prediction: ClientPrediction, allowedMin: number, end?: ApplicationEnd): Bound {
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
  return {
    limit: 'application',
    by: 'application',
    evidence: `the application held ${inUse} sockets to the server at most at once (${detail}), below ${allowed}: its own limit (a load tool's connection count, say)`,
  };
}

/**
 * A run with an application of the user's own is judged against the kernel's limits: a count past one fails; below
 * them the limit that bound is named from the kernel's view, and a count the kernel makes exact must be exact.
 */
export function judgeWithApplications(
  prediction: Prediction,
  observations: Record<string, ContainerObservation>,
  verdicts: { clients: ContainerVerdict[]; server: ContainerVerdict },
): { clients: ContainerVerdict[]; server: ContainerVerdict } | null {
  const serverView = observations[SERVER_NAME]?.kernel;
  const appClients = verdicts.clients.some((client) => observesApplication(observations[client.name]));
  if (!serverView && !appClients) return null;
  const probesHeld = appClients ? undefined : verdicts.clients.reduce((sum, client) => sum + client.observed, 0);
  const server = serverView ? judgeApplicationServer(verdicts.server, serverView, prediction, probesHeld) : verdicts.server;
  const serverLimited = server.bound?.by === 'application' || server.bound?.limit === 'server-nofile';
  const clients = verdicts.clients.map((verdict, index) => {
    const observation = observations[verdict.name];
    const client = prediction.clients[index]!;
    if (observation && observesApplication(observation)) return judgeApplicationClient(verdict, observation, client);
    return serverLimited ? judgeProbeAgainstApplication(verdict, server) : verdict;
  });
  return { clients, server };
}

function judgeApplicationServer(
  verdict: ContainerVerdict,
  view: KernelView,
  prediction: Prediction,
  probeClientsHeld: number | undefined,
): ContainerVerdict {
  const bound = serverBound(view, prediction.limit, probeClientsHeld);
  const allowed = upTo(verdict.allowed);
  const observed = view.peakAccepted;
  const ok = inCount(observed, allowed);
  const count = ok
    ? `${formatCount(observed)} accepted, within the kernel's ${showCount(verdict.predicted)}`
    : `${formatCount(observed)} accepted, past the kernel's ${showCount(verdict.predicted)}`;
  return {
    ...verdict,
    allowed,
    observed,
    verdict: ok ? 'pass' : 'fail',
    why: `${count}; ${bound.by === 'kernel' ? bound.limit : 'the application'} bound: ${bound.evidence}`,
    bound,
  };
}

/**
 * What an application printed, to say why it ended: its first lines (an unknown option, a name it could not resolve)
 * and, when it printed more, its last ones (a fatal error printed on the way out).
 */
function whatItPrinted(observation: ContainerObservation): string {
  const first = observation.unparsed
    .map((line) => line.trim())
    .filter(Boolean)
    .slice(0, 3);
  const last = (observation.applicationEnd?.lastLines ?? []).slice(-2).filter((line) => !first.includes(line));
  return [...first, ...(last.length > 0 ? ['…', ...last] : [])].join(' | ');
}

function judgeApplicationClient(
  verdict: ContainerVerdict,
  observation: ContainerObservation,
  prediction: ClientPrediction,
): ContainerVerdict {
  const view = observation.kernel;
  // An application that ended without one socket to the server did not do what the scenario asks of it.
  if (!view || view.peakInUse === 0) {
    const end = observation.applicationEnd;
    const code = end?.exitCode === null || end === undefined ? '' : ` (exit code ${end.exitCode})`;
    const said = whatItPrinted(observation);
    return {
      ...verdict,
      observed: 0,
      verdict: 'error',
      why: `${verdict.name} ended without one connection to the server${code}${said ? `; it printed: ${said}` : ''}`,
    };
  }
  const bound = clientBound(view, prediction, verdict.allowed.min, observation.applicationEnd);
  // What it holds is counted as the kernel limits it: local ports in use for the server's ports.
  const observed = view.peakInUse;
  const ok = inCount(observed, upTo(verdict.allowed));
  const count = ok
    ? `${formatCount(observed)} ports in use at most, within the kernel's ${showCount(verdict.predicted)}`
    : `${formatCount(observed)} ports in use, past the kernel's ${showCount(verdict.predicted)}`;
  return {
    ...verdict,
    allowed: upTo(verdict.allowed),
    observed,
    // Seen from the kernel: a client that used every port it may gets the errno the next connect() would.
    observedError: bound.by === 'kernel' ? (prediction.error.errnos[0] ?? null) : null,
    verdict: ok ? 'pass' : 'fail',
    why: `${count}; ${bound.by === 'kernel' ? bound.limit : 'the application'} bound: ${bound.evidence}`,
    bound,
  };
}

/** A probe client of an application server that bound first: its count may be anything up to its own limit. */
function judgeProbeAgainstApplication(verdict: ContainerVerdict, server: ContainerVerdict): ContainerVerdict {
  if (verdict.verdict === 'pass' || verdict.verdict === 'error') return verdict;
  const ok = inCount(verdict.observed, upTo(verdict.allowed));
  return {
    ...verdict,
    allowed: upTo(verdict.allowed),
    verdict: ok ? 'pass' : 'fail',
    why: ok
      ? `${formatCount(verdict.observed)}, below its own limit ${showCount(verdict.predicted)}, stopped with ${verdict.observedError ?? 'nothing'}: the server's limit bound first (${server.bound?.limit})`
      : `${formatCount(verdict.observed)} is past its own limit ${showCount(verdict.predicted)}`,
    bound: {
      limit: server.bound?.limit ?? 'application',
      by: server.bound?.by ?? 'application',
      evidence: 'the server bound first: see the server',
    },
  };
}

/**
 * When an application server stopped accepting with its accept queue full, the probe clients hold what it accepted
 * plus what the kernel queued (every further SYN is dropped), and at most one more per other worker connecting at
 * once on each full listener (a handshake whose final ACK came after the queue filled: `handshakesPastFullQueue`).
 * null when the kernel's view does not bound it so (the server did not stop that way, or a client is an application).
 */
export function totalBehindFullQueue(
  observations: Record<string, ContainerObservation>,
  clients: ContainerVerdict[],
): { accepted: number; queued: number; unqueued: number } | null {
  const view = observations[SERVER_NAME]?.kernel;
  if (!view || clients.some((client) => observesApplication(observations[client.name]))) return null;
  const full = stoppedListeners(view);
  if (full.length === 0 || full.length !== view.listeners.length) return null;
  // The settled view, its last look: what the application holds and what waits in its queue then.
  const last = view.series.t.length - 1;
  const queued = view.series.queued[last] ?? 0;
  const accepted = view.series.held[last] ?? 0;
  // The workers that connected at once, as each client's probe ran them (taking turns: one per container).
  const connecting = clients.reduce((sum, client) => {
    const ready = observations[client.name]?.ready;
    return sum + (ready ? (ready.handoff ? 1 : ready.processes) : 0);
  }, 0);
  return { accepted, queued, unqueued: handshakesPastFullQueue(connecting, full.length) };
}
