import { HELPER_LIMITS, LIMIT_NAMES } from '../scenario/field-schemas.ts';
import { phaseKey } from '../scenario/names.ts';
import { z } from 'zod';

/** The resource that stops a scenario; docs/model.md explains each. */
export const Limit = z.enum([...LIMIT_NAMES, 'none']);

/** A limit all clients share: the server's descriptors, the conntrack table, the host's open files. */
export const isSharedLimit = (limit: Limit) =>
  limit === 'server-nofile' || limit === 'conntrack' || limit === 'file-max' || (HELPER_LIMITS as readonly string[]).includes(limit);
export type Limit = z.infer<typeof Limit>;

/** An inclusive count interval; min === max is an exact prediction, max null means "no upper bound". */
export const CountRange = z.strictObject({ min: z.number().int(), max: z.number().int().nullable() });
export type CountRange = z.infer<typeof CountRange>;

/**
 * How a client's workers are predicted to stop: with one of `errnos`, or, when `orNone`, not stopped by any (it
 * connects to its end). Nothing may stop it: no errno and `orNone`.
 */
const PredictedStopShape = z.strictObject({ errnos: z.array(z.string()), orNone: z.boolean() });
export type PredictedStop = z.infer<typeof PredictedStopShape>;

/** Results before schema version 3 wrote a stop as one string, "EADDRNOTAVAIL|none", or null: read as the same set. */
const fromStopText = (text: unknown) =>
  text === null
    ? { errnos: [], orNone: true }
    : typeof text === 'string'
      ? { errnos: text.split('|').filter((errno) => errno !== 'none'), orNone: text.split('|').includes('none') }
      : text;
export const PredictedStop = z.preprocess(fromStopText, PredictedStopShape);

/** Nothing is predicted to stop it. */
export const NO_STOP: PredictedStop = { errnos: [], orNone: true };
/** Stopped by one of these errnos (and nothing else). */
export const stopsWith = (...errnos: string[]): PredictedStop => ({ errnos: [...new Set(errnos)], orNone: false });
/** Either outcome: what either prediction allows. */
export const eitherStop = (a: PredictedStop, b: PredictedStop): PredictedStop => ({
  errnos: [...new Set([...a.errnos, ...b.errnos])],
  orNone: a.orNone || b.orNone,
});
/** Whether what stopped a container (an errno, or null for nothing) is one the prediction allows. */
export const stopAllows = (stop: PredictedStop, observed: string | null): boolean =>
  observed === null ? stop.orNone : stop.errnos.includes(observed);
/** "EADDRNOTAVAIL", "EADDRNOTAVAIL or EMFILE", "EADDRNOTAVAIL or none"; "-" when nothing may stop it. */
export const showStop = (stop: PredictedStop): string =>
  stop.errnos.length === 0 ? (stop.orNone ? '-' : 'nothing') : [...stop.errnos, ...(stop.orNone ? ['none'] : [])].join(' or ');

export const NofileLimit = z.strictObject({ soft: z.number().int(), hard: z.number().int() });

/** How a container's workers are laid out so that the scenario's own limits, not the engine's, bind. */
export const WorkerPlan = z.strictObject({
  processes: z.number().int().min(1),
  /** What the scenario asked for; null when it leaves nofile to the engine's default. */
  requestedNofile: NofileLimit.nullable(),
  /** What the container is given (what the engine grants). */
  appliedNofile: NofileLimit,
  /** Descriptors each worker holds before its first connection (stdio, listening sockets). */
  fdsOpen: z.number().int(),
  /** Connections each worker may hold; the probe lowers its soft nofile to budget + fdsOpen. */
  workerBudgets: z.array(z.number().int()),
  /** Plain words on how the plan differs from the request, when it does. */
  note: z.string().nullable(),
});
export type WorkerPlan = z.infer<typeof WorkerPlan>;

/**
 * What the scenario states an application container holds (its `expect:`), in the model's terms: the connections it
 * holds at once as a count interval, and the limit it expects to bind (application, or one the model names).
 */
export const Expected = z.strictObject({ holds: CountRange, bound: z.string().optional() });
export type Expected = z.infer<typeof Expected>;

export const ClientPrediction = z.strictObject({
  /** Container (compose service) name, e.g. client-1. */
  name: z.string(),
  /** The scenario's client group it belongs to. */
  group: z.string(),
  /** Which of the group's phases this is (1-based); null for a group without phases. */
  phase: z.number().int().nullable(),
  mode: z.enum(['hold', 'churn']),
  workers: WorkerPlan,
  targets: z.array(z.number().int()),
  portRange: z.strictObject({ low: z.number().int(), high: z.number().int() }),
  /** Ports of the range that connect() skips (bound in the namespace, or ip_local_reserved_ports). */
  reservedPorts: CountRange,
  connections: CountRange,
  limit: Limit,
  /** What the client's workers should stop with. */
  error: PredictedStop,
  /** An application client's stated expectation; absent: it is measured, not judged. */
  expected: Expected.optional(),
  reasoning: z.array(z.string()),
});
export type ClientPrediction = z.infer<typeof ClientPrediction>;

/** Where a client's (or one phase's) observation is kept: client-1, or client-1/phase-2. */
export const observationKey = (client: { name: string; phase: number | null }) => phaseKey(client.name, client.phase);

export const ServerPrediction = z.strictObject({
  workers: WorkerPlan,
  listenPorts: z.array(z.number().int()),
  /** Completed connections the kernel queues on all targeted listening sockets: (min(backlog, somaxconn) + 1) each. */
  acceptQueue: z.number().int(),
  accepted: CountRange,
  /** An application server's stated expectation; absent: it is measured, not judged. */
  expected: Expected.optional(),
  reasoning: z.array(z.string()),
});

export const Prediction = z.strictObject({
  /** "assumed": documented defaults stand in for facts not yet measured; "measured": the probes reported them. */
  basis: z.enum(['assumed', 'measured']),
  clients: z.array(ClientPrediction),
  server: ServerPrediction,
  /** Connections all clients together end up with (held, or churned in churn mode). */
  total: CountRange,
  limit: Limit,
  reasoning: z.array(z.string()),
});
export type Prediction = z.infer<typeof Prediction>;
