import { z } from 'zod';
import { CountRange, Limit } from '../predict/prediction-schema.ts';
import { ContainerVerdict, RunVerdict } from '../verdict/verdict-schema.ts';

export const SWEEP_SCHEMA_VERSION = 1;

/** How a point ended: its run's verdict. */
export const PointVerdict = RunVerdict;
export type PointVerdict = z.infer<typeof PointVerdict>;

/** One container of one point, as the CSV has it: its verdict, less the reasoning (in the point's own result). */
export const SweepContainerRow = ContainerVerdict.pick({
  name: true,
  predicted: true,
  observed: true,
  limit: true,
  predictedError: true,
  observedError: true,
  verdict: true,
});

export const SweepPointSummary = z.strictObject({
  /** 1-based, in the order the points ran (the cross product, first axis slowest). */
  index: z.number().int().min(1),
  name: z.string(),
  /** Each axis's value at this point, by axis key. */
  values: z.record(z.string(), z.unknown()),
  verdict: PointVerdict,
  /** Wall-clock seconds of the point, from start to its files written. */
  seconds: z.number(),
  /** The point's own files, relative to the sweep's directory; null when the run wrote none. */
  resultFile: z.string().nullable(),
  reportFile: z.string().nullable(),
  /** All clients together, predicted (as measured) and observed. */
  total: z.strictObject({ predicted: CountRange, observed: z.number().int() }).nullable(),
  /** The limit the prediction names for the point as a whole. */
  limit: Limit.nullable(),
  containers: z.array(SweepContainerRow),
  failure: z.string().nullable(),
});
export type SweepPointSummary = z.infer<typeof SweepPointSummary>;

/** sweep.json: a sweep's points and how each ended. */
export const SweepSummary = z.strictObject({
  schemaVersion: z.literal(SWEEP_SCHEMA_VERSION),
  name: z.string(),
  description: z.string(),
  file: z.string(),
  startedAt: z.string(),
  endedAt: z.string(),
  /** complete: every point ran; aborted: Ctrl-C stopped it; error: the engine failed and the sweep stopped. */
  status: z.enum(['complete', 'aborted', 'error']),
  failure: z.string().nullable(),
  /** pass only if every point passed. */
  verdict: PointVerdict,
  axes: z.array(z.strictObject({ key: z.string(), values: z.array(z.unknown()) })),
  /** How many points the sweep has; `points` lists those that ran. */
  pointCount: z.number().int(),
  points: z.array(SweepPointSummary),
});
export type SweepSummary = z.infer<typeof SweepSummary>;

/** sweep.json's shape as JSON Schema, generated from the zod schema the code validates with. */
export function sweepJsonSchema(): Record<string, unknown> {
  return {
    ...z.toJSONSchema(SweepSummary, { target: 'draft-2020-12', unrepresentable: 'any' }),
    $id: 'https://portlab.invalid/schemas/sweep-summary.schema.json',
    title: 'portlab sweep summary',
    description: 'One sweep: a scenario run at every point of a grid of settings, predicted against observed per point.',
  };
}
