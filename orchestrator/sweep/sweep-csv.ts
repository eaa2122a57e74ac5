import { showAxisValue } from '../scenario/sweep-file.ts';
import type { SweepSummary } from '../report/sweep-schema.ts';
import { showStop } from '../predict/prediction-schema.ts';

/** RFC 4180: a field with a comma, quote or line break is quoted, quotes doubled. */
const field = (value: string | number | null) => {
  const text = value === null ? '' : String(value);
  return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
};

/**
 * sweep.csv: a row per point and container (and one for all clients together), with the axis values, predicted
 * min and max (max empty when unbounded), observed, limit, errors, verdict and the point's seconds. Pure.
 */
export function sweepCsv(summary: SweepSummary): string {
  const axes = summary.axes.map((axis) => axis.key);
  const header = [
    'point',
    ...axes,
    'container',
    'predicted_min',
    'predicted_max',
    'observed',
    'limit',
    'predicted_error',
    'observed_error',
    'verdict',
    'seconds',
  ];
  const rows = summary.points.flatMap((point) => {
    const values = axes.map((axis) => showAxisValue(point.values[axis]));
    const seconds = point.seconds.toFixed(1);
    const containers = point.containers.map((container) => [
      point.index,
      ...values,
      container.name,
      container.predicted.min,
      container.predicted.max,
      container.observed,
      container.limit,
      container.predictedError.errnos.length === 0 ? null : showStop(container.predictedError),
      container.observedError,
      container.verdict,
      seconds,
    ]);
    const total = point.total
      ? [
          [
            point.index,
            ...values,
            'all clients',
            point.total.predicted.min,
            point.total.predicted.max,
            point.total.observed,
            point.limit,
            null,
            null,
            point.verdict,
            seconds,
          ],
        ]
      : [[point.index, ...values, '', null, null, null, null, null, null, point.verdict, seconds]];
    return [...containers, ...total];
  });
  return [header, ...rows].map((row) => row.map(field).join(',')).join('\r\n') + '\r\n';
}
