import { z } from 'zod';
import { CountRange, Limit, PredictedStop } from '../predict/prediction-schema.ts';

export const Verdict = z.enum(['pass', 'fail', 'error']);
export type Verdict = z.infer<typeof Verdict>;

/**
 * How a whole run ended: judged (pass, fail), or not judged because it did not run to its end: error (it failed),
 * aborted (Ctrl-C), incomplete (its time limit cut it while clients were still going).
 */
export const RunVerdict = z.enum([...Verdict.options, 'aborted', 'incomplete']);
export type RunVerdict = z.infer<typeof RunVerdict>;

/**
 * A container's verdict; `measured` for an application of the user's own whose scenario states no expectation of it
 * (what it did is shown, not judged: no PASS for what was only measured); `not judged` when its run did not run to
 * its end (it failed, was interrupted or cut).
 */
export const ContainerVerdictValue = z.enum([...Verdict.options, 'measured', 'not judged']);
export type ContainerVerdictValue = z.infer<typeof ContainerVerdictValue>;

/**
 * What bound a container, named from what was observed: a kernel limit (the model's name for it) or the
 * application's own, with the evidence in words. Set where an application of the user's own ran.
 */
export const Bound = z.strictObject({
  limit: z.string(),
  by: z.enum(['kernel', 'application']),
  evidence: z.string(),
});
export type Bound = z.infer<typeof Bound>;

export const ContainerVerdict = z.strictObject({
  name: z.string(),
  predicted: CountRange,
  /** The interval the observed count may fall in: the prediction widened by the scenario's tolerance. */
  allowed: CountRange,
  observed: z.number().int(),
  limit: Limit,
  predictedError: PredictedStop,
  observedError: z.string().nullable(),
  verdict: ContainerVerdictValue,
  why: z.string(),
  bound: Bound.optional(),
});
export type ContainerVerdict = z.infer<typeof ContainerVerdict>;

/** All clients together: judged on their summed count against the predicted total (a shared limit predicts it exactly). */
export const TotalVerdict = z.strictObject({
  predicted: CountRange,
  allowed: CountRange,
  observed: z.number().int(),
  verdict: Verdict,
  why: z.string(),
});
export type TotalVerdict = z.infer<typeof TotalVerdict>;

export const Judgement = z.strictObject({
  verdict: Verdict,
  clients: z.array(ContainerVerdict),
  server: ContainerVerdict,
  total: TotalVerdict,
  why: z.array(z.string()),
});
export type Judgement = z.infer<typeof Judgement>;
