import { TIME_WAIT_SECONDS } from '../predict/kernel-facts.ts';
import { HELPER_LIMITS } from '../scenario/field-schemas.ts';
import { SERVER_LINE, type ChartData } from './chart-data.ts';

/** A Vega-Lite specification: plain data, built here and rendered to SVG by render-chart.ts. */
export type ChartSpec = Record<string, unknown> & { title: { text: string; subtitle?: string } };

/** One chart of the report: its id in the page, its spec, and a caption that says how to read it. */
export type Chart = { id: string; spec: ChartSpec; caption: string };

const WIDTH = 640;
const HEIGHT = 300;
const SECONDS = { field: 'seconds', type: 'quantitative', title: 'seconds since the first client started' } as const;
const RULE_COLOR = '#555';
const VERDICT_COLORS = {
  domain: ['pass', 'fail', 'error', 'measured', 'not judged'],
  range: ['#1a7f37', '#cf222e', '#9a6700', '#0969da', '#57606a'],
};

const PALETTE = ['#0969da', '#e16f24', '#8250df', '#1a7f37', '#bf3989', '#9a6700', '#0a3069', '#cf222e'];

/** Clients in the palette's colours, in order of appearance; the server in near-black, whatever their number. */
function containerColors(names: string[]) {
  const domain = [...new Set(names)];
  let next = 0;
  return { domain, range: domain.map((name) => (name === SERVER_LINE ? '#24292f' : PALETTE[next++ % PALETTE.length])) };
}

const base = (title: string, subtitle?: string) => ({
  $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
  title: subtitle ? { text: title, subtitle } : { text: title },
  width: WIDTH,
  height: HEIGHT,
  config: { font: 'sans-serif', legend: { orient: 'bottom', columns: 4 } },
});

/**
 * A dashed rule at `field` for each row: horizontal (axis y) labelled at the left edge, or upright (axis x) labelled
 * at the top, to the right of the rule or, `before`, to its left (a rule near the right edge).
 */
function labelledRules(values: Array<Record<string, unknown>>, field: string, axis: 'x' | 'y', before = false) {
  const position = { field, type: 'quantitative' };
  return [
    { data: { values }, mark: { type: 'rule', strokeDash: [6, 4], color: RULE_COLOR }, encoding: { [axis]: position } },
    {
      data: { values },
      mark:
        axis === 'y'
          ? { type: 'text', align: 'left', baseline: 'bottom', dx: 4, dy: -3, color: RULE_COLOR }
          : { type: 'text', align: before ? 'right' : 'left', baseline: 'top', dx: before ? -4 : 4, dy: 4, angle: 0, color: RULE_COLOR },
      encoding:
        axis === 'y'
          ? { y: position, x: { value: 0 }, text: { field: 'label' } }
          : { x: position, y: { value: 0 }, text: { field: 'label' } },
    },
  ];
}

/** 1. Connections held over time, each client's predicted ceiling as a rule, the server's accepted count as a line. */
export function fillChart(data: ChartData): Chart | null {
  if (data.held.length === 0) return null;
  return {
    id: 'fill',
    caption:
      "Each line is one container's count as its probe reported it. Dashed rules are the predicted ceilings; a client that stops on its rule stopped where the model said, for the reason named." +
      (data.fillPredicted.length > 0
        ? ' The upright rule is when the clients were predicted to have filled their ports: where their lines reach their ceilings is when they did.'
        : ''),
    spec: {
      ...base('Connections held over time', `binding limit: ${data.bindingLimit}`),
      layer: [
        {
          data: { values: data.held },
          mark: { type: 'line', interpolate: 'linear' },
          encoding: {
            x: SECONDS,
            y: { field: 'connections', type: 'quantitative', title: 'connections' },
            color: {
              field: 'container',
              type: 'nominal',
              title: 'container',
              scale: containerColors(data.held.map((row) => row.container)),
            },
          },
        },
        ...labelledRules(data.ceilings, 'connections', 'y'),
        ...(data.fillPredicted.length > 0 ? labelledRules(data.fillPredicted, 'seconds', 'x', true) : []),
      ],
    },
  };
}

const THROUGH_HELPER = new Set<string>(HELPER_LIMITS);

/** 2. Connect rate against connections held, log scale: where one parity of the range is used up the rate falls. */
export function rateChart(data: ChartData): Chart | null {
  if (data.rate.length === 0) return null;
  return {
    id: 'rate',
    caption: data.rateByApplication
      ? "Here an application of your own bound, not the kernel's port search: the rate fell where it stopped taking connections (later ones waited in its accept queue, or for connect()'s timeout once the queue was full)."
      : THROUGH_HELPER.has(data.bindingLimit)
        ? "Here every connection went through the network helper (slirp4netns), which finds each packet's socket by walking the list of those it holds (libslirp's solookup): the rate falls as it holds more, whatever the kernel's port search."
        : 'connect() tries ports of one parity first (__inet_hash_connect); once those are used, every connect() walks them before it finds a free one. In a range of tens of thousands of ports the rate falls by orders of magnitude past the dashed rule; a small range is scanned too fast to show it.',
    spec: {
      ...base('Connect rate against connections held', 'log scale'),
      layer: [
        {
          data: { values: data.rate },
          mark: { type: 'line', interpolate: 'linear', point: false },
          encoding: {
            x: { field: 'held', type: 'quantitative', title: 'connections held' },
            y: { field: 'perSecond', type: 'quantitative', title: 'new connections per second', scale: { type: 'log' } },
            color: {
              field: 'container',
              type: 'nominal',
              title: 'container',
              scale: containerColors(data.rate.map((row) => row.container)),
            },
          },
        },
        ...labelledRules(data.halfway, 'held', 'x'),
      ],
    },
  };
}

/** 3. Churn: connections churned and sockets in TIME_WAIT over time, the first failure marked, phases shaded. */
export function churnChart(data: ChartData): Chart | null {
  if (data.churn.length === 0) return null;
  return {
    id: 'churn',
    caption: `Solid lines count connections opened and closed; dashed lines count sockets in TIME_WAIT, which the side that closed first keeps for ${TIME_WAIT_SECONDS} s. A red rule marks the first failure.`,
    spec: {
      ...base('Churn and TIME_WAIT over time'),
      layer: [
        ...(data.phases.length > 0
          ? [
              {
                data: { values: data.phases },
                mark: { type: 'rect', opacity: 0.12, color: '#0969da' },
                encoding: { x: { field: 'from', type: 'quantitative' }, x2: { field: 'to' } },
              },
              {
                data: { values: data.phases },
                mark: { type: 'text', align: 'left', baseline: 'top', dx: 4, dy: 4, color: '#0969da' },
                encoding: { x: { field: 'from', type: 'quantitative' }, y: { value: 0 }, text: { field: 'label' } },
              },
            ]
          : []),
        {
          data: { values: data.churn },
          mark: { type: 'line', interpolate: 'linear' },
          encoding: {
            x: SECONDS,
            y: { field: 'value', type: 'quantitative', title: 'connections churned / sockets in TIME_WAIT' },
            color: { field: 'line', type: 'nominal', title: 'line' },
            strokeDash: {
              field: 'quantity',
              type: 'nominal',
              title: 'quantity',
              scale: {
                domain: ['churned', 'TIME_WAIT'],
                range: [
                  [1, 0],
                  [6, 3],
                ],
              },
            },
          },
        },
        ...labelledRules(data.churnCeilings, 'value', 'y'),
        ...(data.failures.length > 0
          ? [
              {
                data: { values: data.failures },
                mark: { type: 'rule', color: '#cf222e', strokeWidth: 2 },
                encoding: { x: { field: 'seconds', type: 'quantitative' } },
              },
              {
                data: { values: data.failures },
                mark: { type: 'text', align: 'right', baseline: 'top', dx: -4, dy: 18, color: '#cf222e' },
                encoding: { x: { field: 'seconds', type: 'quantitative' }, y: { value: 0 }, text: { field: 'label' } },
              },
            ]
          : []),
      ],
    },
  };
}

/** 4. Predicted interval (and what the tolerance allows) against the observed count, per container. */
export function intervalChart(data: ChartData): Chart | null {
  if (data.intervals.length === 0) return null;
  const container = { field: 'container', type: 'nominal', title: null, sort: null };
  return {
    id: 'intervals',
    caption:
      'The dark bar is the predicted interval (ticks at its ends), the light one what the tolerance allows; the dot is what was observed, coloured by its verdict.',
    spec: {
      ...base('Predicted against observed'),
      height: { step: 36 },
      data: { values: data.intervals },
      layer: [
        {
          mark: { type: 'rule', strokeWidth: 10, color: '#d0d7de' },
          encoding: {
            y: container,
            // Not from zero: a band of 1,000-1,055 must be visible, and a dot at the edge must not be cut.
            // Counts are whole numbers: without a format, a domain of one value is labelled 1,000.000000.
            x: {
              field: 'allowedMin',
              type: 'quantitative',
              title: 'connections',
              scale: { zero: false, padding: 16 },
              axis: { format: ',d' },
            },
            x2: { field: 'allowedMax' },
          },
        },
        {
          mark: { type: 'rule', strokeWidth: 4, color: '#57606a' },
          encoding: { y: container, x: { field: 'min', type: 'quantitative' }, x2: { field: 'max' } },
        },
        { mark: { type: 'tick', thickness: 2, color: '#24292f' }, encoding: { y: container, x: { field: 'min', type: 'quantitative' } } },
        { mark: { type: 'tick', thickness: 2, color: '#24292f' }, encoding: { y: container, x: { field: 'max', type: 'quantitative' } } },
        {
          mark: { type: 'point', filled: true, size: 90, opacity: 1 },
          encoding: {
            y: container,
            x: { field: 'observed', type: 'quantitative' },
            color: { field: 'verdict', type: 'nominal', title: 'verdict', scale: VERDICT_COLORS },
            tooltip: { field: 'label' },
          },
        },
      ],
    },
  };
}

/** Every chart a result supports, in the order the page shows them. */
/** An application's namespace as its observer saw it: what the kernel held for it, over time. */
export function kernelChart(data: ChartData): Chart | null {
  if (data.kernel.length === 0) return null;
  return {
    id: 'kernel',
    caption:
      'What the kernel held for each application of your own, from its observer (sock_diag and /proc): connections ESTABLISHED, those of them the application holds (accepted, for a server), completed connections waiting in the accept queue, connections closing, sockets in TIME_WAIT, and the descriptors of its busiest process.',
    spec: {
      ...base("The kernel's view of each application"),
      layer: [
        {
          data: { values: data.kernel },
          mark: { type: 'line', interpolate: 'step-after' },
          encoding: {
            x: SECONDS,
            y: { field: 'value', type: 'quantitative', title: 'sockets / descriptors' },
            // Lines are named "<container> <quantity>": room for the longest, "server held by the application".
            color: { field: 'line', type: 'nominal', title: 'line', scale: { range: PALETTE }, legend: { labelLimit: 320 } },
          },
        },
      ],
    },
  };
}

export function reportCharts(data: ChartData): Chart[] {
  return [fillChart(data), rateChart(data), churnChart(data), kernelChart(data), intervalChart(data)].filter(
    (chart): chart is Chart => chart !== null,
  );
}
