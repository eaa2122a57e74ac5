import { z } from 'zod';

/** How many points a stored series keeps at most; a longer one is thinned evenly in time (the last point stays). */
export const MAX_SERIES_POINTS = 1_000;

/**
 * How one container's count moved during a run, column by column: point i is (t[i], count[i], timeWait[i]).
 * Taken from the probe's own `progress`, `limit` and `done` lines, so every time is the probe's.
 */
export const ContainerSeries = z.strictObject({
  /** Wall-clock time of the probe's start (ms since the epoch); `t` counts from there. null if it never said. */
  probeStartedAt: z.number().int().nullable(),
  /** ms since the probe started. */
  t: z.array(z.number().int().nonnegative()),
  /** Connections held (hold), churned (churn) or accepted (server), over all its workers, at t. */
  count: z.array(z.number().int().nonnegative()),
  /** Sockets of its network namespace in TIME_WAIT at t (churn runs); null when the probe does not report it. */
  timeWait: z.array(z.number().int().nullable()).nullable(),
});
export type ContainerSeries = z.infer<typeof ContainerSeries>;

export type SeriesPoint = { t: number; count: number; timeWait: number | null };

/** Keeps at most `max` points: the last point of each of `max - 1` equal slices of time, plus the first. Pure. */
export function thinPoints(points: readonly SeriesPoint[], max = MAX_SERIES_POINTS): SeriesPoint[] {
  if (points.length <= max) return [...points];
  const first = points[0]!;
  const last = points.at(-1)!;
  const span = Math.max(1, last.t - first.t);
  const slices = max - 1;
  const kept: SeriesPoint[] = [first];
  const sliceOf = (at: SeriesPoint) => Math.min(slices - 1, Math.floor(((at.t - first.t) / span) * slices));
  for (let index = 1; index < points.length; index++) {
    const point = points[index]!;
    const next = points[index + 1];
    // The last point of its slice (or of the whole series) stands for the slice.
    if (next === undefined || sliceOf(next) !== sliceOf(point)) kept.push(point);
  }
  return kept;
}

/** Points -> the stored columns. */
export function toSeries(points: readonly SeriesPoint[], probeStartedAt: number | null): ContainerSeries {
  const thinned = thinPoints(points);
  const reportsTimeWait = thinned.some((point) => point.timeWait !== null);
  return {
    probeStartedAt,
    t: thinned.map((point) => point.t),
    count: thinned.map((point) => point.count),
    timeWait: reportsTimeWait ? thinned.map((point) => point.timeWait) : null,
  };
}

/** The stored columns -> points (for the report). */
export function seriesPoints(series: ContainerSeries): SeriesPoint[] {
  return series.t.map((t, index) => ({ t, count: series.count[index] ?? 0, timeWait: series.timeWait?.[index] ?? null }));
}
