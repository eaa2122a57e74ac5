import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { describe, expect, it } from 'vitest';
import { sweepExitCode } from '../../orchestrator/cli/sweep-command.ts';
import { sweepChart, sweepChartRows } from '../../orchestrator/report/sweep-chart.ts';
import { PROJECT_ROOT } from '../../orchestrator/common/project-root.ts';
import { sweepCsv } from '../../orchestrator/sweep/sweep-csv.ts';
import { sweepJsonSchema, SweepSummary, type SweepPointSummary } from '../../orchestrator/report/sweep-schema.ts';
import { stopsWith } from '../../orchestrator/predict/prediction-schema.ts';

const container = (name: string, observed: number, predicted: number, verdict: 'pass' | 'fail' = 'pass') => ({
  name,
  predicted: { min: predicted, max: predicted },
  observed,
  limit: 'port-range' as const,
  predictedError: stopsWith('EADDRNOTAVAIL'),
  observedError: 'EADDRNOTAVAIL',
  verdict,
});

function point(
  index: number,
  range: string,
  count: number,
  perClient: number,
  verdict: SweepPointSummary['verdict'] = 'pass',
): SweepPointSummary {
  const clients = Array.from({ length: count }, (_, i) => container(`client-${i + 1}`, perClient, perClient));
  return {
    index,
    name: `range-width-${index}`,
    values: { 'clients.sysctls.net.ipv4.ip_local_port_range': range, 'clients.count': count },
    verdict,
    seconds: 3.25,
    resultFile: `range-width-${index}-20261123T000000Z.json`,
    reportFile: `range-width-${index}-20261123T000000Z.html`,
    total: { predicted: { min: perClient * count, max: perClient * count }, observed: perClient * count },
    limit: 'port-range',
    containers: [...clients, container('server', perClient * count, perClient * count)],
    failure: null,
  };
}

const SUMMARY: SweepSummary = SweepSummary.parse({
  schemaVersion: 1,
  name: 'range-width',
  description: 'widths',
  file: 'sweeps/range-width.yml',
  startedAt: '2026-11-23T00:00:00.000Z',
  endedAt: '2026-11-23T00:01:00.000Z',
  status: 'complete',
  failure: null,
  verdict: 'pass',
  axes: [
    { key: 'clients.sysctls.net.ipv4.ip_local_port_range', values: ['61000 61499', '61000 61999'] },
    { key: 'clients.count', values: [1, 2] },
  ],
  pointCount: 4,
  points: [
    point(1, '61000 61499', 1, 500),
    point(2, '61000 61499', 2, 500),
    point(3, '61000 61999', 1, 1000),
    point(4, '61000 61999', 2, 1000),
  ],
});

describe('sweep.csv', () => {
  it('a row per point and container, then all clients, with the axis values in their own columns', () => {
    const lines = sweepCsv(SUMMARY).split('\r\n');
    expect(lines[0]).toBe(
      'point,clients.sysctls.net.ipv4.ip_local_port_range,clients.count,container,predicted_min,predicted_max,observed,limit,predicted_error,observed_error,verdict,seconds',
    );
    expect(lines.slice(1, 4)).toEqual([
      '1,61000 61499,1,client-1,500,500,500,port-range,EADDRNOTAVAIL,EADDRNOTAVAIL,pass,3.3',
      '1,61000 61499,1,server,500,500,500,port-range,EADDRNOTAVAIL,EADDRNOTAVAIL,pass,3.3',
      '1,61000 61499,1,all clients,500,500,500,port-range,,,pass,3.3',
    ]);
    expect(lines).toHaveLength(1 + 3 + 4 + 3 + 4 + 1);
    expect(lines.at(-1)).toBe('');
  });

  it('quotes a field with a comma or a quote, as spreadsheets read it', () => {
    const targets = SweepSummary.parse({
      ...SUMMARY,
      axes: [{ key: 'clients.targets', values: [[5000, 5001]] }],
      points: [{ ...point(1, '', 1, 1000), values: { 'clients.targets': [5000, 5001] }, failure: 'x' }],
    });
    expect(sweepCsv(targets).split('\r\n')[1]).toMatch(/^1,"5000, 5001",client-1,/);
  });

  it('a point that left no result still has a row, with its verdict', () => {
    const broken = SweepSummary.parse({
      ...SUMMARY,
      points: [{ ...point(1, '61000 61499', 1, 500, 'error'), total: null, limit: null, containers: [] }],
    });
    expect(sweepCsv(broken).split('\r\n')[1]).toBe('1,61000 61499,1,,,,,,,,error,3.3');
  });
});

describe('the sweep chart', () => {
  it('a port range axis is drawn by its width; one series per value of the other axes', () => {
    expect(sweepChartRows(SUMMARY)).toEqual([
      { x: 500, series: 'clients.count = 1', predictedMin: 500, predictedMax: 500, observed: 500, verdict: 'pass', point: 1 },
      { x: 500, series: 'clients.count = 2', predictedMin: 1000, predictedMax: 1000, observed: 1000, verdict: 'pass', point: 2 },
      { x: 1000, series: 'clients.count = 1', predictedMin: 1000, predictedMax: 1000, observed: 1000, verdict: 'pass', point: 3 },
      { x: 1000, series: 'clients.count = 2', predictedMin: 2000, predictedMax: 2000, observed: 2000, verdict: 'pass', point: 4 },
    ]);
    const spec = sweepChart(SUMMARY)!.spec;
    const layers = spec.layer as Array<{ mark: { type: string }; encoding: Record<string, Record<string, unknown>> }>;
    expect(layers.map((layer) => layer.mark.type)).toEqual(['area', 'line', 'point']);
    expect(layers[0]?.encoding.x).toEqual({
      field: 'x',
      type: 'quantitative',
      title: 'ports in clients.sysctls.net.ipv4.ip_local_port_range',
    });
    expect(layers[1]?.encoding.y).toMatchObject({ field: 'predictedMin', title: 'connections, all clients' });
    expect(layers[2]?.encoding.y).toEqual({ field: 'observed', type: 'quantitative' });
    expect(spec.title.text).toBe('range-width: connections against clients.sysctls.net.ipv4.ip_local_port_range');
  });

  it("numbers are numbers, lists are counted, anything else is a category in the file's order", () => {
    const axis = (values: unknown[]) =>
      sweepChart(
        SweepSummary.parse({ ...SUMMARY, axes: [{ key: 'k', values }], points: [{ ...point(1, '', 1, 1), values: { k: values[0] } }] }),
      )!.spec;
    const x = (spec: ReturnType<typeof axis>) => (spec.layer as Array<{ encoding: { x: unknown } }>)[2]?.encoding.x;
    expect(x(axis([300, 600]))).toEqual({ field: 'x', type: 'quantitative', title: 'k' });
    expect(x(axis([[5000], [5000, 5001]]))).toEqual({ field: 'x', type: 'quantitative', title: 'k (how many)' });
    expect(x(axis(['b', 'a']))).toEqual({ field: 'x', type: 'ordinal', title: 'k', sort: ['b', 'a'] });
  });
});

describe('sweep.json', () => {
  it('validates against the published JSON Schema, regenerated by npm run schema', async () => {
    const validate = new Ajv2020({ strict: false }).compile(sweepJsonSchema());
    expect(validate(JSON.parse(JSON.stringify(SUMMARY)))).toBe(true);
    expect(validate({ ...SUMMARY, status: 'maybe' })).toBe(false);
    const committed = JSON.parse(await readFile(path.join(PROJECT_ROOT, 'schemas', 'sweep-summary.schema.json'), 'utf8'));
    expect(committed).toEqual(sweepJsonSchema());
  });

  it('exit codes: 0 all pass, 1 a point failed, 3 an error, 130 aborted', () => {
    expect(sweepExitCode(SUMMARY)).toBe(0);
    expect(sweepExitCode({ ...SUMMARY, verdict: 'fail' })).toBe(1);
    expect(sweepExitCode({ ...SUMMARY, verdict: 'error' })).toBe(3);
    expect(sweepExitCode({ ...SUMMARY, verdict: 'aborted' })).toBe(130);
  });
});
