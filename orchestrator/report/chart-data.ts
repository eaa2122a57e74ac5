import { TIME_WAIT_SECONDS } from '../predict/kernel-facts.ts';
import { seriesPoints, type ContainerSeries } from '../observe/series.ts';
import { formatCount } from '../predict/count-range.ts';
import { observationKey, type ClientPrediction } from '../predict/prediction-schema.ts';
import { SERVER_NAME } from '../scenario/names.ts';
import { portCount } from '../scenario/port-range.ts';
import { boundLimitOf, rateShapedByApplication } from './bound-by.ts';
import type { ResultWithSeries, RunResult } from './result-schema.ts';

/**
 * The rows the report's charts draw, taken from a result alone. Pure. Times are seconds since the first client's
 * probe started (every probe stamps its start with the host's clock), so the server's line starts a little before 0.
 */
export type ChartData = {
  /** Hold clients' connections over time, and the server's accepted count. */
  held: Array<{ seconds: number; connections: number; container: string }>;
  /** Each hold client's predicted ceiling (clients with the same one share a rule), and the server's. */
  ceilings: Array<{ connections: number; label: string }>;
  /** When the clients were predicted to have filled their ports (clients with the same estimate share a rule). */
  fillPredicted: Array<{ seconds: number; label: string }>;
  /** Hold clients: connections per second between consecutive points, against connections held. */
  rate: Array<{ held: number; perSecond: number; container: string }>;
  /** Where half a hold client's predicted ports are used: connect() prefers one parity, so the rate falls there. */
  halfway: Array<{ held: number; label: string }>;
  /** Churn: connections churned and sockets in TIME_WAIT over time, one line each. */
  churn: Array<{ seconds: number; value: number; line: string; quantity: 'churned' | 'TIME_WAIT' }>;
  /** Churn clients limited by TIME_WAIT: the ports they can churn through before the first one is free again. */
  churnCeilings: Array<{ value: number; label: string }>;
  /** The first failure of each churning container. */
  failures: Array<{ seconds: number; label: string }>;
  /** Phases of a phased client, as spans of time. */
  phases: Array<{ from: number; to: number; label: string }>;
  /** Predicted interval, the interval the tolerance allows, and the observed count, per container (and in total). */
  intervals: Array<{
    container: string;
    min: number;
    max: number;
    allowedMin: number;
    allowedMax: number;
    observed: number;
    verdict: string;
    label: string;
  }>;
  /** An application's kernel view over time: one line per quantity per application container. */
  kernel: Array<{ seconds: number; value: number; line: string }>;
  bindingLimit: string;
  /** An application of the user's own shaped the connect rate (rateShapedByApplication), not the kernel's port search. */
  rateByApplication: boolean;
};

/** The server's line in the charts, kept apart from the clients' colours. */
export const SERVER_LINE = 'server (accepted)';

type Timed = { name: string; series: ContainerSeries; prediction: ClientPrediction | undefined };

const round = (value: number, digits: number) => Number(value.toFixed(digits));

/** The result's series on one time axis: which container is which, and when each point was. */
type Timeline = {
  result: ResultWithSeries;
  predictions: Map<string, ClientPrediction>;
  holding: Timed[];
  churning: Timed[];
  server: Timed | undefined;
  timed: Timed[];
  secondsOf: (series: ContainerSeries, t: number) => number;
};

function timelineOf(result: ResultWithSeries): Timeline {
  const predictions = new Map(result.prediction.measured.clients.map((client) => [observationKey(client), client]));
  const timed: Timed[] = [...result.clients, result.server].flatMap((container) =>
    container.series ? [{ name: container.name, series: container.series, prediction: predictions.get(container.name) }] : [],
  );
  const clientStarts = timed.filter((entry) => entry.name !== SERVER_NAME).flatMap((entry) => entry.series.probeStartedAt ?? []);
  const origin = clientStarts.length > 0 ? Math.min(...clientStarts) : null;
  return {
    result,
    predictions,
    timed,
    holding: timed.filter((entry) => entry.prediction?.mode === 'hold'),
    churning: timed.filter((entry) => entry.prediction?.mode === 'churn'),
    server: timed.find((entry) => entry.name === SERVER_NAME),
    secondsOf: (series, t) =>
      round(((origin === null || series.probeStartedAt === null ? 0 : series.probeStartedAt - origin) + t) / 1000, 3),
  };
}

/** A series on the shared time axis, from 0: the server listens before the clients start, with nothing to show. */
function fromZero(timeline: Timeline, series: ContainerSeries) {
  const points = seriesPoints(series).map((point) => ({ ...point, seconds: timeline.secondsOf(series, point.t) }));
  const before = points.filter((point) => point.seconds < 0).at(-1);
  const after = points.filter((point) => point.seconds >= 0);
  return before && after[0]?.seconds !== 0 ? [{ ...before, seconds: 0 }, ...after] : after;
}

const limitOf = (timeline: Timeline, name: string) => timeline.predictions.get(name)?.limit ?? 'none';

/** The fill times the run predicted, one rule per estimate (to the second), naming its clients. */
function fillPredictedRows(result: ResultWithSeries): ChartData['fillPredicted'] {
  const byEstimate = new Map<number, string[]>();
  for (const [name, fill] of Object.entries(('fillTimes' in result.run && result.run.fillTimes) || {})) {
    const seconds = Math.round(fill.predictedSeconds);
    byEstimate.set(seconds, [...(byEstimate.get(seconds) ?? []), name]);
  }
  // One estimate for every client needs no names.
  return [...byEstimate].map(([seconds, names]) => ({
    seconds,
    label: byEstimate.size === 1 ? `predicted fill: ${seconds} s` : `${names.join(', ')}: predicted fill ${seconds} s`,
  }));
}

/** Hold clients with the same predicted ceiling share one rule: ceiling -> the clients' names. */
function holdCeilings(timeline: Timeline): Map<number, string[]> {
  const byCeiling = new Map<number, string[]>();
  for (const entry of timeline.holding) {
    const max = entry.prediction?.connections.max;
    if (max !== null && max !== undefined) byCeiling.set(max, [...(byCeiling.get(max) ?? []), entry.name]);
  }
  return byCeiling;
}

function heldRows(timeline: Timeline): ChartData['held'] {
  const { holding, server } = timeline;
  return [...holding, ...(server && holding.length > 0 ? [server] : [])].flatMap((entry) =>
    fromZero(timeline, entry.series).map((point) => ({
      seconds: point.seconds,
      connections: point.count,
      container: entry.name === SERVER_NAME ? SERVER_LINE : entry.name,
    })),
  );
}

function ceilingRows(timeline: Timeline, byCeiling: Map<number, string[]>): ChartData['ceilings'] {
  const ceilings = [...byCeiling].map(([connections, names]) => ({
    connections,
    label: `${names.join(', ')}: ${formatCount(connections)} predicted (${limitOf(timeline, names[0]!)})`,
  }));
  const serverMax = timeline.result.prediction.measured.server.accepted.max;
  if (timeline.holding.length > 0 && serverMax !== null && !byCeiling.has(serverMax)) {
    ceilings.push({ connections: serverMax, label: `server: ${formatCount(serverMax)} predicted` });
  }
  return ceilings;
}

function rateRows(timeline: Timeline): ChartData['rate'] {
  return timeline.holding.flatMap((entry) => {
    const points = seriesPoints(entry.series);
    return points.slice(1).flatMap((point, index) => {
      const before = points[index]!;
      const elapsed = point.t - before.t;
      const gained = point.count - before.count;
      // A log scale has no zero: stretches with no new connection are left out rather than drawn at 0.
      return elapsed > 0 && gained > 0
        ? [{ held: point.count, perSecond: round((gained * 1000) / elapsed, 1), container: entry.name }]
        : [];
    });
  });
}

function churnRows(timeline: Timeline): ChartData['churn'] {
  const { churning, server } = timeline;
  return [...churning, ...(server && churning.length > 0 ? [server] : [])].flatMap((entry) =>
    fromZero(timeline, entry.series).flatMap(({ seconds, ...point }) => {
      const rows: ChartData['churn'] = [];
      if (entry.name !== SERVER_NAME) rows.push({ seconds, value: point.count, line: `${entry.name} churned`, quantity: 'churned' });
      if (point.timeWait !== null) rows.push({ seconds, value: point.timeWait, line: `${entry.name} TIME_WAIT`, quantity: 'TIME_WAIT' });
      return rows;
    }),
  );
}

function churnCeilingRows(timeline: Timeline): ChartData['churnCeilings'] {
  return timeline.churning.flatMap((entry) => {
    const prediction = entry.prediction;
    if (prediction?.limit !== 'time-wait') return [];
    const usable = portCount(prediction.portRange) - prediction.reservedPorts.min;
    return [{ value: usable, label: `${entry.name}: ${formatCount(usable)} usable ports, each held ${TIME_WAIT_SECONDS} s in TIME_WAIT` }];
  });
}

function failureRows(timeline: Timeline): ChartData['failures'] {
  return timeline.churning.flatMap((entry) => {
    const failure = timeline.result.clients.find((client) => client.name === entry.name)?.firstFailure;
    if (!failure) return [];
    const seconds = timeline.secondsOf(entry.series, failure.atMs);
    return [{ seconds, label: `${entry.name}: ${failure.errno} at ${seconds.toFixed(1)} s` }];
  });
}

function phaseRows(timeline: Timeline): ChartData['phases'] {
  return timeline.timed.flatMap((entry) => {
    if (entry.prediction?.phase === null || entry.prediction?.phase === undefined) return [];
    const times = entry.series.t.slice(1).map((t) => timeline.secondsOf(entry.series, t));
    if (times.length === 0) return [];
    return [{ from: Math.min(...times), to: Math.max(...times), label: `phase ${entry.prediction.phase} (${entry.prediction.mode})` }];
  });
}

/** Each application container's kernel view as lines: ESTABLISHED, held by it, queued, closing, TIME_WAIT, its descriptors. */
function kernelRows(timeline: Timeline): ChartData['kernel'] {
  const quantities = [
    ['established', 'ESTABLISHED'],
    ['held', 'held by the application'],
    ['queued', 'in the accept queue'],
    ['closing', 'closing'],
    ['timeWait', 'TIME_WAIT'],
    ['fds', 'descriptors'],
  ] as const;
  return [...timeline.result.clients, timeline.result.server].flatMap((container) => {
    const kernel = container.kernel;
    const series = container.series;
    if (!kernel || !series) return [];
    return quantities.flatMap(([key, name]) => {
      const values = kernel.series[key];
      // A quantity that stayed 0 the whole run is left out: it would only crowd the legend.
      if (values.every((value) => value === 0)) return [];
      return values.map((value, index) => ({
        seconds: Math.max(0, timeline.secondsOf(series, kernel.series.t[index] ?? 0)),
        value,
        line: `${container.name} ${name}`,
      }));
    });
  });
}

function intervalRows(result: ResultWithSeries): ChartData['intervals'] {
  const intervalOf = (container: RunResult['clients'][number]): ChartData['intervals'][number] => {
    const top = Math.max(container.observed, container.predicted.min);
    return {
      container: container.name,
      min: container.predicted.min,
      max: container.predicted.max ?? top,
      allowedMin: container.allowed.min,
      allowedMax: container.allowed.max ?? top,
      observed: container.observed,
      verdict: container.verdict,
      label: `${formatCount(container.observed)} observed`,
    };
  };
  const intervals = [...result.clients, result.server].map(intervalOf);
  if (result.clients.length > 1) {
    const total = result.total;
    const top = Math.max(total.observed, total.predicted.min);
    intervals.push({
      container: 'all clients',
      min: total.predicted.min,
      max: total.predicted.max ?? top,
      allowedMin: total.allowed?.min ?? total.predicted.min,
      allowedMax: total.allowed ? (total.allowed.max ?? top) : (total.predicted.max ?? top),
      observed: total.observed,
      // Results written before totals were judged have no verdict for them.
      verdict: total.verdict ?? 'not judged',
      label: `${formatCount(total.observed)} observed`,
    });
  }
  return intervals;
}

const boundByApplication = (result: ResultWithSeries, name: string) =>
  result.clients.find((client) => client.name === name)?.bound?.by === 'application';

export function chartData(result: ResultWithSeries): ChartData {
  const timeline = timelineOf(result);
  const byCeiling = holdCeilings(timeline);
  return {
    held: heldRows(timeline),
    ceilings: ceilingRows(timeline, byCeiling),
    fillPredicted: fillPredictedRows(result),
    rate: rateRows(timeline),
    // Half the ports: where the port search slows. Not for a client an application stopped short of its ports.
    halfway: [...byCeiling].flatMap(([connections, names]) =>
      limitOf(timeline, names[0]!) === 'port-range' && !names.some((name) => boundByApplication(result, name))
        ? [{ held: Math.floor(connections / 2), label: `half of ${formatCount(connections)}: one parity used up` }]
        : [],
    ),
    churn: churnRows(timeline),
    churnCeilings: churnCeilingRows(timeline),
    failures: failureRows(timeline),
    phases: phaseRows(timeline),
    intervals: intervalRows(result),
    kernel: kernelRows(timeline),
    bindingLimit: boundLimitOf(result),
    rateByApplication: rateShapedByApplication(result),
  };
}
