import { errnoItPrinted } from '../observe/application-end.ts';
import type { ContainerObservation } from '../observe/observation.ts';
import { formatCount, inCount, showCount, upTo } from '../predict/count-range.ts';
import { stopAllows, stopsWith, type ClientPrediction, type Expected, type Prediction } from '../predict/prediction-schema.ts';
import { handshakesPastFullQueue } from '../predict/shared-limits.ts';
import { SERVER_NAME } from '../scenario/names.ts';
import { clientBound, serverBound, stoppedListeners } from './application-bounds.ts';
import type { Bound, ContainerVerdict } from './verdict-schema.ts';
import type { KernelView } from '../observe/kernel-view.ts';

/** A container whose probe observes an application of the user's own (its ready line lists what it observes). */
const observesApplication = (observation: ContainerObservation | undefined) => observation?.ready?.observed !== undefined;

/**
 * A run with an application of the user's own. An application container is judged against what the scenario states it
 * holds (its `expect:`), and measured, not judged, where it states nothing; a count past a kernel ceiling fails either
 * way. The probe clients of an application server that stopped accepting (its queue full) stop with ETIMEDOUT below
 * their own limits; where it closed what it had no room for, they keep their exact predictions.
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
  // The server held its clients back: its accept queue stayed full, or its descriptors ran out with a queue behind.
  const heldBack = serverView !== undefined && (stoppedListeners(serverView).length > 0 || server.bound?.limit === 'server-nofile');
  const clients = verdicts.clients.map((verdict, index) => {
    const observation = observations[verdict.name];
    const client = prediction.clients[index]!;
    if (observation && observesApplication(observation)) return judgeApplicationClient(verdict, observation, client, heldBack);
    return heldBack ? judgeProbeHeldBack(verdict, server) : verdict;
  });
  return { clients, server };
}

/** The limit that bound, as a scenario's `expect.bound` names it: application, or the model's name of a kernel limit. */
const boundName = (bound: Bound) => (bound.by === 'application' ? 'application' : bound.limit);

/**
 * An application container's count judged: past the kernel's ceiling it fails; below it, against the scenario's
 * expectation where it states one (the count, and the limit it expects to bind), else measured. `what` says what was
 * counted ("accepted", "ports in use").
 */
function judgeHeld(
  verdict: ContainerVerdict,
  observed: number,
  what: string,
  bound: Bound,
  expected: Expected | undefined,
): Pick<ContainerVerdict, 'allowed' | 'observed' | 'verdict' | 'why' | 'bound'> {
  const ceiling = upTo(verdict.allowed);
  const boundText = `${bound.by === 'kernel' ? bound.limit : 'the application'} bound: ${bound.evidence}`;
  const held = `${formatCount(observed)} ${what} at most at once`;
  if (!inCount(observed, ceiling))
    return {
      allowed: ceiling,
      observed,
      verdict: 'fail',
      why: `${held}, past the kernel's ${showCount(verdict.predicted)}; ${boundText}`,
      bound,
    };
  if (!expected)
    return {
      allowed: ceiling,
      observed,
      verdict: 'measured',
      why: `measured, not judged (the scenario states no expect: for it): ${held}, within the kernel's ${showCount(verdict.predicted)}; ${boundText}`,
      bound,
    };
  const holdsOk = inCount(observed, expected.holds);
  const boundOk = expected.bound === undefined || expected.bound === boundName(bound);
  const holdsText = holdsOk
    ? `${held}, as expected (expect.holds ${showCount(expected.holds)})`
    : `${held}, but the scenario expects ${showCount(expected.holds)} (expect.holds)`;
  const boundCheck =
    expected.bound === undefined
      ? ''
      : boundOk
        ? `; ${expected.bound} bound, as expected`
        : `; ${boundName(bound)} bound, but the scenario expects ${expected.bound} (expect.bound)`;
  return {
    allowed: expected.holds,
    observed,
    verdict: holdsOk && boundOk ? 'pass' : 'fail',
    why: `${holdsText}${boundCheck}; ${boundText}`,
    bound,
  };
}

function judgeApplicationServer(
  verdict: ContainerVerdict,
  view: KernelView,
  prediction: Prediction,
  probeClientsHeld: number | undefined,
): ContainerVerdict {
  const bound = serverBound(view, prediction.limit, probeClientsHeld);
  return { ...verdict, ...judgeHeld(verdict, view.peakAccepted, 'accepted', bound, prediction.server.expected) };
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
  serverStopped: boolean,
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
  const bound = clientBound(view, prediction, verdict.allowed.min, observation.applicationEnd, serverStopped);
  // Observed means observed: an errno only where the application said one on its way out, never the kernel's guess.
  const observedError = errnoItPrinted(observation.applicationEnd, prediction.error.errnos)?.errno ?? null;
  // What it holds is counted as the kernel limits it: local ports in use for the server's ports.
  return { ...verdict, observedError, ...judgeHeld(verdict, view.peakInUse, 'ports in use', bound, prediction.expected) };
}

/**
 * A probe client of an application server that held it back (its queue full): below its own limit, its next connect()
 * timed out (the full queue drops its SYNs); one that reached its own limit first keeps its exact verdict.
 */
function judgeProbeHeldBack(verdict: ContainerVerdict, server: ContainerVerdict): ContainerVerdict {
  if (verdict.verdict === 'pass' || verdict.verdict === 'error') return verdict;
  const allowed = upTo(verdict.allowed);
  const predictedError = stopsWith('ETIMEDOUT');
  const inRange = inCount(verdict.observed, allowed);
  const timedOut = stopAllows(predictedError, verdict.observedError);
  const why = !inRange
    ? `${formatCount(verdict.observed)} is past its own limit ${showCount(verdict.predicted)}`
    : timedOut
      ? `${formatCount(verdict.observed)}, below its own limit ${showCount(verdict.predicted)}, and its next connect() timed out (ETIMEDOUT): the server held it back (${server.bound?.by === 'kernel' ? server.bound.limit : 'the application'}: its accept queue full, SYNs dropped)`
      : `${formatCount(verdict.observed)}, below its own limit ${showCount(verdict.predicted)}, stopped with ${verdict.observedError ?? 'nothing'}; behind a full accept queue its next connect() times out (ETIMEDOUT)`;
  return {
    ...verdict,
    allowed,
    predictedError,
    verdict: inRange && timedOut ? 'pass' : 'fail',
    why,
    bound: {
      limit: server.bound?.limit ?? 'application',
      by: server.bound?.by ?? 'application',
      evidence: 'the server held it back: see the server',
    },
  };
}

/**
 * When an application server stopped accepting with its accept queue full, the probe clients hold what it accepted
 * plus what the kernel queued (every further SYN is dropped), and at most one more per other worker connecting at
 * once on each full listener (a handshake whose final ACK came after the queue filled: `handshakesPastFullQueue`).
 * `capacity` is what the full queues hold by the kernel's rule, backlog + 1 each (sk_acceptq_is_full), the backlog
 * the listening socket's own. null when the kernel's view does not bound it so (the server did not stop that way, or
 * a client is an application).
 */
export function totalBehindFullQueue(
  observations: Record<string, ContainerObservation>,
  clients: ContainerVerdict[],
): { accepted: number; queued: number; capacity: number; unqueued: number } | null {
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
  const capacity = full.reduce((sum, listener) => sum + listener.backlog + 1, 0);
  return { accepted, queued, capacity, unqueued: handshakesPastFullQueue(connecting, full.length) };
}
