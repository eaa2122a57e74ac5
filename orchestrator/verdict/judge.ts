import type { ContainerObservation } from '../observe/observation.ts';
import {
  CountRange,
  eitherStop,
  isSharedLimit,
  Limit,
  NO_STOP,
  observationKey,
  PredictedStop,
  stopsWith,
  showStop,
  stopAllows,
  type Prediction,
} from '../predict/prediction-schema.ts';
import { formatCount, inCount, showCount, upTo, widened } from '../predict/count-range.ts';
import { SERVER_NAME } from '../scenario/names.ts';
import { judgeWithApplications, totalBehindFullQueue } from './judge-applications.ts';
import type { ContainerVerdict, Judgement, TotalVerdict, Verdict } from './verdict-schema.ts';

/** How far from the prediction an observation may be: a count, or a percentage of the predicted maximum. */
export function toleranceFor(tolerance: number | string, predicted: CountRange): number {
  if (typeof tolerance === 'number') return tolerance;
  const percent = Number(tolerance.replace('%', ''));
  return Math.ceil(((predicted.max ?? predicted.min) * percent) / 100);
}

function judgeContainer(
  name: string,
  predicted: CountRange,
  limit: Limit,
  predictedError: PredictedStop,
  observation: ContainerObservation | undefined,
  tolerance: number | string,
): ContainerVerdict {
  const slack = toleranceFor(tolerance, predicted);
  const allowed = widened(predicted, slack);
  const observed = observation?.count ?? 0;
  const observedError = observation?.error ?? null;
  const base = { name, predicted, allowed, observed, limit, predictedError, observedError };
  if (!observation?.ready) return { ...base, verdict: 'error', why: `${name} never reported ready` };
  if (observation.fatal.length > 0) return { ...base, verdict: 'error', why: `${name} failed: ${observation.fatal.join('; ')}` };

  const inRange = inCount(observed, allowed);
  const errorMatches = stopAllows(predictedError, observedError);
  const toleranceText = slack > 0 ? ` (tolerance ${formatCount(slack)})` : '';
  const countText = inRange
    ? `${formatCount(observed)} is within the predicted ${showCount(predicted)}${toleranceText}`
    : `${formatCount(observed)} is outside the predicted ${showCount(predicted)}${toleranceText}`;
  const errorText = errorMatches
    ? observedError === null
      ? ''
      : `; stopped with ${observedError} as predicted (${limit})`
    : predictedError.errnos.length === 0
      ? `; stopped with ${observedError}, but nothing was predicted to stop it`
      : `; stopped with ${observedError ?? 'nothing'}, but ${showStop(predictedError)} (${limit}) was predicted`;
  return { ...base, verdict: inRange && errorMatches ? 'pass' : 'fail', why: `${countText}${errorText}` };
}

/** Prediction + observation -> a verdict per client, one for the server, and one overall. Pure. */
export function judge(prediction: Prediction, observations: Record<string, ContainerObservation>, tolerance: number | string): Judgement {
  const probes = judgeProbes(prediction, observations, tolerance);
  const applications = judgeWithApplications(prediction, observations, probes);
  const { clients, server } = applications ?? probes;
  const judgedTotal = judgeTotal(prediction, clients, tolerance);
  // With an application of the user's own, the total may be anything up to the kernel's, unless the kernel's view
  // bounds it (the server stopped accepting with its accept queue full).
  const behind = applications ? totalBehindFullQueue(observations, clients) : null;
  const total = behind
    ? totalBehindQueue(judgedTotal, behind, prediction.server.expected?.holds)
    : applications
      ? totalUpTo(judgedTotal)
      : judgedTotal;
  const all = [...clients, server];
  const errored = all.some((entry) => entry.verdict === 'error');
  // What was only measured neither passes nor fails the run: every judged check did.
  const held = all.every((entry) => entry.verdict === 'pass' || entry.verdict === 'measured');
  const verdict: Verdict = errored ? 'error' : held && total.verdict === 'pass' ? 'pass' : 'fail';
  const why = all.map((entry) => `${entry.name}: ${entry.verdict}: ${entry.why}`);
  // The total says something the clients' own verdicts do not when a limit they share caps it.
  if (clients.length > 1 || behind || isSharedLimit(prediction.limit)) why.push(`all clients: ${total.verdict}: ${total.why}`);
  return { verdict, clients, server, total: errored ? { ...total, verdict: 'error' } : total, why };
}

/**
 * The clients' total against what the server held and the kernel queued: that, and at most `unqueued` more
 * (handshakes the clients completed whose final ACK the full queue dropped). Where the scenario states what the server
 * holds (`expected`), the total follows from it and the queues' capacity by the kernel's rule (backlog + 1 each), so a
 * wrong expectation fails here too; else from what the server's last look saw it hold and queue.
 */
function totalBehindQueue(
  total: TotalVerdict,
  behind: { accepted: number; queued: number; capacity: number; unqueued: number },
  expected: CountRange | undefined,
): TotalVerdict {
  const least = expected ? expected.min + behind.capacity : behind.accepted + behind.queued;
  const most = expected ? (expected.max === null ? null : expected.max + behind.capacity) : least;
  const allowed = { min: least, max: most === null ? null : most + behind.unqueued };
  const ok = inCount(total.observed, allowed);
  const sum = expected
    ? `${showCount(expected)} held (expect.holds) + ${formatCount(behind.capacity)} the kernel queues (backlog + 1 per full listening socket)`
    : `${formatCount(behind.accepted)} accepted + ${formatCount(behind.queued)} queued by the kernel`;
  const extra =
    behind.unqueued > 0
      ? `, up to ${formatCount(behind.unqueued)} more for handshakes whose final ACK the full queue dropped`
      : ", which the kernel's view makes exact (every further SYN is dropped)";
  const exact = least === allowed.max;
  return {
    ...total,
    // From the scenario's expectation the model predicts the total itself; from the kernel's view it is only allowed.
    ...(expected ? { predicted: allowed } : {}),
    allowed,
    verdict: ok ? 'pass' : 'fail',
    why: `${formatCount(total.observed)} ${exact ? (ok ? '=' : 'is not') : ok ? 'is within' : 'is outside'} ${sum}${exact ? '' : ` (${showCount(allowed)})`}${extra}`,
  };
}

/** The total judged against the kernel's limit alone: anything from 0 up to it. */
function totalUpTo(total: TotalVerdict): TotalVerdict {
  const allowed = upTo(total.allowed);
  const inRange = inCount(total.observed, allowed);
  return {
    ...total,
    allowed,
    verdict: inRange ? 'pass' : 'fail',
    why: `${formatCount(total.observed)} is ${inRange ? 'within' : 'past'} the kernel's total ${showCount(total.predicted)}`,
  };
}

/** Each client and the server judged as the probe's: against the predicted count and stop. */
function judgeProbes(
  prediction: Prediction,
  observations: Record<string, ContainerObservation>,
  tolerance: number | string,
): { clients: ContainerVerdict[]; server: ContainerVerdict } {
  const clients = prediction.clients.map((client) =>
    judgeContainer(observationKey(client), client.connections, client.limit, client.error, observations[observationKey(client)], tolerance),
  );
  // The server is judged on its count alone: its workers stop only when the run ends, or on EMFILE.
  const serverBinds = isSharedLimit(prediction.limit);
  // Out of files, a server worker fails accept() with ENFILE only if it tried one then.
  const serverError =
    prediction.limit === 'server-nofile'
      ? stopsWith('EMFILE')
      : prediction.limit === 'file-max'
        ? eitherStop(stopsWith('ENFILE'), NO_STOP)
        : NO_STOP;
  const judged = judgeContainer(
    SERVER_NAME,
    prediction.server.accepted,
    serverBinds ? prediction.limit : 'none',
    serverError,
    observations[SERVER_NAME],
    tolerance,
  );
  // The kernel hands accepted connections to whichever worker asks first, so with several workers one can use up its
  // share of descriptors (EMFILE) while the others accept the rest: the server as a whole was not stopped when its
  // count is the predicted one.
  const workers = prediction.server.workers.processes;
  const inRange = inCount(judged.observed, judged.allowed);
  const unevenShare = !serverBinds && workers > 1 && judged.verdict === 'fail' && judged.observedError === 'EMFILE' && inRange;
  const server: ContainerVerdict = unevenShare
    ? {
        ...judged,
        verdict: 'pass',
        why: `${formatCount(judged.observed)} is within the predicted ${showCount(judged.predicted)}; one of its ${workers} workers used up its share of descriptors (EMFILE) and the others accepted the rest: accepts are spread unevenly`,
      }
    : judged;
  return { clients, server };
}

/**
 * All clients together against the predicted total. The tolerance is per container: a count allows it once per
 * client, a percentage of the predicted total.
 */
function judgeTotal(prediction: Prediction, clients: ContainerVerdict[], tolerance: number | string): TotalVerdict {
  const predicted = prediction.total;
  const slack = typeof tolerance === 'number' ? tolerance * clients.length : toleranceFor(tolerance, predicted);
  const allowed = widened(predicted, slack);
  const observed = clients.reduce((sum, client) => sum + client.observed, 0);
  const inRange = inCount(observed, allowed);
  const toleranceText = slack > 0 ? ` (tolerance ${formatCount(slack)})` : '';
  const shared = isSharedLimit(prediction.limit) ? `, capped by ${prediction.limit}` : '';
  return {
    predicted,
    allowed,
    observed,
    verdict: inRange ? 'pass' : 'fail',
    why: `${formatCount(observed)} is ${inRange ? 'within' : 'outside'} the predicted total ${showCount(predicted)}${shared}${toleranceText}`,
  };
}
