import { describe, expect, it } from 'vitest';
import { chartData, SERVER_LINE } from '../../orchestrator/report/chart-data.ts';
import { churnChart, fillChart, intervalChart, rateChart, reportCharts, type ChartSpec } from '../../orchestrator/report/chart-specs.ts';
import { resultFixture } from './report-fixtures.ts';

type Layer = {
  data?: { values: Array<Record<string, unknown>> };
  mark: { type: string };
  encoding: Record<string, Record<string, unknown>>;
};
const layers = (spec: ChartSpec) => spec.layer as Layer[];
const markTypes = (spec: ChartSpec) => layers(spec).map((layer) => layer.mark.type);

describe('chart data from a real default-range result', () => {
  const result = resultFixture('default-range');
  const data = chartData(result);

  it('draws each client and the server on one time axis that starts when the first client started', () => {
    const containers = new Set(data.held.map((row) => row.container));
    expect([...containers]).toEqual(['client-1', 'client-2', SERVER_LINE]);
    expect(Math.min(...data.held.map((row) => row.seconds))).toBe(0);
    // Each line ends on what its container was observed to hold.
    for (const name of ['client-1', 'client-2']) expect(data.held.filter((row) => row.container === name).at(-1)?.connections).toBe(28231);
    expect(data.held.filter((row) => row.container === SERVER_LINE).at(-1)?.connections).toBe(56462);
  });

  it('one ceiling rule for the two clients that share it, one for the server, with the binding limit named', () => {
    expect(data.ceilings).toEqual([
      { connections: 28231, label: 'client-1, client-2: 28,231 predicted (port-range)' },
      { connections: 56462, label: 'server: 56,462 predicted' },
    ]);
    expect(data.bindingLimit).toBe('port-range');
  });

  // How much slower connect() gets past half the range is the machine's (npm run bench prints it); the chart shows
  // the rate against what is held, with the half of the range marked.
  it('the connect rate against connections held, with half the range (one parity) marked', () => {
    const rates = data.rate.filter((row) => row.container === 'client-1');
    expect(rates.length).toBeGreaterThan(1);
    expect(rates.every((row) => row.perSecond > 0 && row.held > 0 && row.held <= 28231)).toBe(true);
    expect(data.halfway).toEqual([{ held: 14115, label: 'half of 28,231: one parity used up' }]);
  });

  it('no churn lines in a hold run; an interval per container and one for all clients', () => {
    expect(data.churn).toEqual([]);
    expect(data.intervals.map((row) => [row.container, row.min, row.max, row.observed, row.verdict])).toEqual([
      ['client-1', 28231, 28231, 28231, 'pass'],
      ['client-2', 28231, 28231, 28231, 'pass'],
      ['server', 56462, 56462, 56462, 'pass'],
      ['all clients', 56462, 56462, 56462, result.total.verdict ?? 'not judged'],
    ]);
  });
});

describe('chart data from a real wide-range result', () => {
  it('the rate against what is held, and the half of 64,511 marked', () => {
    const data = chartData(resultFixture('wide-range'));
    for (const name of ['client-1', 'client-2']) {
      const rates = data.rate.filter((row) => row.container === name);
      expect(rates.length).toBeGreaterThan(1);
      expect(rates.every((row) => row.perSecond > 0 && row.held <= 64511)).toBe(true);
    }
    expect(data.halfway).toEqual([{ held: 32255, label: 'half of 64,511: one parity used up' }]);
  });
});

describe('chart data from a real time-wait-exhaustion result', () => {
  const data = chartData(resultFixture('time-wait-exhaustion'));

  it('churned connections and TIME_WAIT sockets over time: TIME_WAIT climbs to the range on the client, stays 0 on the server', () => {
    const lines = new Set(data.churn.map((row) => row.line));
    expect([...lines]).toEqual(['client-1 churned', 'client-1 TIME_WAIT', 'server TIME_WAIT']);
    const last = (line: string) => data.churn.filter((row) => row.line === line).at(-1)?.value;
    // The lines end on what the probe reported last: the count, and the TIME_WAITs left.
    const client = resultFixture('time-wait-exhaustion').clients[0]!;
    expect(last('client-1 TIME_WAIT')).toBe(client.timeWait);
    expect(last('client-1 churned')).toBe(client.observed);
    expect(Math.max(...data.churn.filter((row) => row.line === 'server TIME_WAIT').map((row) => row.value))).toBe(0);
    expect(data.held).toEqual([]);
    expect(data.rate).toEqual([]);
  });

  it('marks the first failure and the ports TIME_WAIT holds', () => {
    expect(data.failures).toHaveLength(1);
    expect(data.failures[0]?.label).toMatch(/^client-1: EADDRNOTAVAIL at 2\.\d s$/);
    expect(data.churnCeilings).toEqual([{ value: 1000, label: 'client-1: 1,000 usable ports, each held 60 s in TIME_WAIT' }]);
  });
});

describe('chart specs', () => {
  it('fill: lines by container, dashed ceiling rules with labels, axis titles, the binding limit in the subtitle', () => {
    const chart = fillChart(chartData(resultFixture('default-range')));
    expect(chart?.spec.title).toEqual({ text: 'Connections held over time', subtitle: 'binding limit: port-range' });
    expect(markTypes(chart!.spec)).toEqual(['line', 'rule', 'text']);
    const [line, rule, text] = layers(chart!.spec);
    expect(line?.encoding.x).toMatchObject({ field: 'seconds', title: 'seconds since the first client started' });
    expect(line?.encoding.y).toMatchObject({ field: 'connections', title: 'connections' });
    expect(line?.encoding.color?.scale).toEqual({
      domain: ['client-1', 'client-2', SERVER_LINE],
      range: ['#0969da', '#e16f24', '#24292f'],
    });
    expect(rule?.data?.values.map((row) => row.connections)).toEqual([28231, 56462]);
    expect(text?.encoding.text).toEqual({ field: 'label' });
  });

  it('rate: a log y scale and the halfway rule', () => {
    const chart = rateChart(chartData(resultFixture('default-range')));
    const [line, rule] = layers(chart!.spec);
    expect(line?.encoding.y).toMatchObject({ field: 'perSecond', scale: { type: 'log' }, title: 'new connections per second' });
    expect(line?.encoding.x).toMatchObject({ field: 'held', title: 'connections held' });
    expect(rule?.data?.values).toEqual([{ held: 14115, label: 'half of 28,231: one parity used up' }]);
  });

  it('churn: solid churn lines, dashed TIME_WAIT lines, the range as a rule and the failure as a red rule', () => {
    const chart = churnChart(chartData(resultFixture('time-wait-exhaustion')));
    expect(markTypes(chart!.spec)).toEqual(['line', 'rule', 'text', 'rule', 'text']);
    const [line, , , failure] = layers(chart!.spec);
    expect(line?.encoding.strokeDash).toMatchObject({ field: 'quantity', scale: { domain: ['churned', 'TIME_WAIT'] } });
    expect(failure?.mark).toMatchObject({ type: 'rule', color: '#cf222e' });
  });

  it('intervals: allowed band, predicted bar with end ticks, observed dot coloured by verdict', () => {
    const chart = intervalChart(chartData(resultFixture('default-range')));
    expect(markTypes(chart!.spec)).toEqual(['rule', 'rule', 'tick', 'tick', 'point']);
    expect(layers(chart!.spec)[4]?.encoding.color).toMatchObject({
      field: 'verdict',
      scale: { domain: ['pass', 'fail', 'error', 'measured', 'not judged'] },
    });
  });

  it('a hold run has fill, rate and interval charts; a churn run churn and intervals', () => {
    expect(reportCharts(chartData(resultFixture('default-range'))).map((chart) => chart.id)).toEqual(['fill', 'rate', 'intervals']);
    expect(reportCharts(chartData(resultFixture('time-wait-exhaustion'))).map((chart) => chart.id)).toEqual(['churn', 'intervals']);
  });
});

describe('the predicted fill time on the fill chart', () => {
  const withFills = (fills: Record<string, number>) => {
    const result = resultFixture('default-range');
    const fillTimes = Object.fromEntries(
      Object.entries(fills).map(([name, seconds]) => [name, { predictedSeconds: seconds, basis: '', observedSeconds: 30 }]),
    );
    return chartData({ ...result, run: { ...result.run, fillTimes } });
  };

  it('one upright rule for one estimate shared by every client, labelled at its left; none without an estimate', () => {
    const data = withFills({ 'client-1': 31.2, 'client-2': 30.8 });
    expect(data.fillPredicted).toEqual([{ seconds: 31, label: 'predicted fill: 31 s' }]);
    const rules = layers(fillChart(data)!.spec).filter((layer) => layer.data?.values === data.fillPredicted);
    expect(rules.map((layer) => [layer.mark.type, Object.keys(layer.encoding)[0]])).toEqual([
      ['rule', 'x'],
      ['text', 'x'],
    ]);
    expect(fillChart(data)!.caption).toContain('when the clients were predicted to have filled their ports');
    expect(chartData(resultFixture('default-range')).fillPredicted).toEqual([]);
    expect(fillChart(chartData(resultFixture('default-range')))!.caption).not.toContain('predicted to have filled');
  });

  it('clients with different estimates: a rule each, naming them', () => {
    expect(withFills({ 'client-1': 30, 'client-2': 400 }).fillPredicted).toEqual([
      { seconds: 30, label: 'client-1: predicted fill 30 s' },
      { seconds: 400, label: 'client-2: predicted fill 400 s' },
    ]);
  });
});
