import { parsePortRange, portCount } from '../scenario/port-range.ts';
import { showAxisValue } from '../scenario/sweep-file.ts';
import type { SweepSummary } from './sweep-schema.ts';
import type { Chart } from './chart-specs.ts';

export type SweepChartRow = {
  x: number | string;
  series: string;
  predictedMin: number;
  predictedMax: number | null;
  observed: number;
  verdict: string;
  point: number;
};

const PORT_RANGE_AXIS = /(^|\.)net\.ipv4\.ip_local_port_range$/;

/**
 * How the first axis is drawn: a port range by its number of ports, numbers as numbers, anything else as
 * categories in the file's order.
 */
export function firstAxisScale(axis: SweepSummary['axes'][number]): {
  title: string;
  of: (value: unknown) => number | string;
  type: 'quantitative' | 'ordinal';
} {
  const ranges = axis.values.map((value) => (typeof value === 'string' ? parsePortRange(value) : undefined));
  if (PORT_RANGE_AXIS.test(axis.key) && ranges.every((range) => range !== undefined)) {
    return { title: `ports in ${axis.key}`, of: (value) => portCount(parsePortRange(String(value))!), type: 'quantitative' };
  }
  if (axis.values.every((value) => typeof value === 'number'))
    return { title: axis.key, of: (value) => value as number, type: 'quantitative' };
  if (axis.values.every(Array.isArray))
    return { title: `${axis.key} (how many)`, of: (value) => (value as unknown[]).length, type: 'quantitative' };
  return { title: axis.key, of: showAxisValue, type: 'ordinal' };
}

/** The sweep's rows: one per point that ran, all clients together. Pure. */
export function sweepChartRows(summary: SweepSummary): SweepChartRow[] {
  const [first, ...others] = summary.axes;
  if (!first) return [];
  const scale = firstAxisScale(first);
  return summary.points.flatMap((point) => {
    if (!point.total) return [];
    const series =
      others.length > 0 ? others.map((axis) => `${axis.key} = ${showAxisValue(point.values[axis.key])}`).join('; ') : 'observed';
    return [
      {
        x: scale.of(point.values[first.key]),
        series,
        predictedMin: point.total.predicted.min,
        predictedMax: point.total.predicted.max,
        observed: point.total.observed,
        verdict: point.verdict,
        point: point.index,
      },
    ];
  });
}

/** Connections (all clients) against the first axis: the prediction as a band and a dashed line, what was observed as points. */
export function sweepChart(summary: SweepSummary): Chart | null {
  const rows = sweepChartRows(summary);
  const first = summary.axes[0];
  if (rows.length === 0 || !first) return null;
  const scale = firstAxisScale(first);
  const x = {
    field: 'x',
    type: scale.type,
    title: scale.title,
    ...(scale.type === 'ordinal' ? { sort: first.values.map(showAxisValue) } : {}),
  };
  const color = { field: 'series', type: 'nominal', title: summary.axes.length > 1 ? 'other axes' : null };
  return {
    id: 'sweep',
    caption:
      'Each point is one run: connections of all its clients together (held, or churned). The band and dashed line are what the model predicted for that setting; a point on its line is a prediction confirmed.',
    spec: {
      $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
      title: { text: `${summary.name}: connections against ${first.key}` },
      width: 640,
      height: 320,
      config: { font: 'sans-serif', legend: { orient: 'bottom', columns: 2, labelLimit: 400 } },
      data: { values: rows },
      layer: [
        {
          transform: [{ filter: 'datum.predictedMax !== null' }],
          mark: { type: 'area', opacity: 0.15 },
          encoding: { x, y: { field: 'predictedMin', type: 'quantitative' }, y2: { field: 'predictedMax' }, color },
        },
        {
          mark: { type: 'line', strokeDash: [6, 4] },
          encoding: { x, y: { field: 'predictedMin', type: 'quantitative', title: 'connections, all clients' }, color },
        },
        {
          mark: { type: 'point', filled: true, size: 90, opacity: 1 },
          encoding: {
            x,
            y: { field: 'observed', type: 'quantitative' },
            color,
            shape: {
              field: 'verdict',
              type: 'nominal',
              title: 'verdict',
              scale: { domain: ['pass', 'fail', 'error', 'aborted'], range: ['circle', 'cross', 'triangle-up', 'square'] },
            },
          },
        },
      ],
    },
  };
}
