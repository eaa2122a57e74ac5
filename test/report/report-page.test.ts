import { describe, expect, it } from 'vitest';
import { chartData } from '../../orchestrator/report/chart-data.ts';
import { reportCharts } from '../../orchestrator/report/chart-specs.ts';
import { renderChart } from '../../orchestrator/report/render-chart.ts';
import { NO_SERIES_NOTE, reportPage } from '../../orchestrator/report/report-page.ts';
import { asVersion1, resultFixture } from './report-fixtures.ts';

const FILES = { result: 'default-range-20261123T192710Z.json', compose: 'default-range-20261123T192710Z.compose.yml' };

async function pageOf(name: Parameters<typeof resultFixture>[0]) {
  const result = resultFixture(name);
  const charts = await Promise.all(reportCharts(chartData(result)).map(async (chart) => ({ ...chart, svg: await renderChart(chart) })));
  return reportPage(result, charts, FILES);
}

describe('the report page', () => {
  it('is one self-contained file: inline SVG and CSS, no script, nothing to fetch', async () => {
    const html = await pageOf('default-range');
    expect(html).toMatch(/^<!doctype html>/);
    expect(html).not.toMatch(/<script/i);
    expect(html).not.toMatch(/<link|<img|@import|url\((?!#)/i);
    expect(html).not.toMatch(/(src|href)="https?:/i);
    expect(html).toContain(`content="default-src 'none'; style-src 'unsafe-inline'; img-src data:"`);
    expect(html.match(/<svg /g)).toHaveLength(3);
  });

  it('shows the scenario, its verdict, where it ran, the table, the arithmetic and the files', async () => {
    const html = await pageOf('default-range');
    expect(html).toContain('<h1>default-range <span class="verdict pass" id="verdict">PASS</span></h1>');
    expect(html).toContain('only 28,232 connections were created');
    expect(html).toMatch(/Docker 20\.10\.\S+ \(API 1\.41\), kernel /);
    expect(html).toContain('client-1: 100,000 asked, 20,000 granted, 2 worker processes');
    expect(html).toMatch(/<td>client-1<\/td><td class="number">28,231<\/td>/);
    expect(html).toMatch(/<tr class="total"><td>all clients<\/td><td class="number">56,462<\/td>/);
    // The clients' DNS listeners sit on different ports, so each has its own arithmetic.
    expect(html).toContain('<h3>client-1</h3>');
    const dnsPort = resultFixture('default-range').environment.containers['client-1']!.boundPorts[0];
    expect(html).toContain(`port ${dnsPort}: Docker&#39;s embedded DNS listener`);
    expect(html).toContain('ip_local_port_range 32768-60999 = 28,232 ports');
    expect(html).toContain(`result: ${FILES.result}`);
    // One SVG per chart, each with ids of its own.
    for (const id of ['fill', 'rate', 'intervals']) expect(html).toContain(`<figure id="chart-${id}"><svg role="img"`);
  });

  it('containers whose arithmetic is the same share one heading', () => {
    const result = resultFixture('default-range');
    const [first, second] = result.prediction.measured.clients;
    const same = { ...second!, reasoning: first!.reasoning.map((line) => line.replaceAll('client-1', 'client-2')) };
    const measured = { ...result.prediction.measured, clients: [first!, same] };
    const html = reportPage({ ...result, prediction: { ...result.prediction, measured } }, [], FILES);
    expect(html).toContain('<h3>client-1, client-2</h3>');
    expect(html.match(/<h3>/g)).toHaveLength(2);
  });

  it('escapes what comes from the scenario file', async () => {
    const result = resultFixture('extra-listen-ports');
    const html = reportPage({ ...result, scenario: { ...result.scenario, description: '<script>alert(1)</script> & more' } }, [], FILES);
    expect(html).toContain('&lt;script&gt;alert(1)&lt;/script&gt; &amp; more');
    expect(html).not.toContain('<script>');
  });

  it('a result of schema version 1 (no series) gives a page without plots and a one-line note', () => {
    const html = reportPage(asVersion1(resultFixture('default-range')), [], FILES);
    expect(html).toContain(`<p class="note" id="no-series">${NO_SERIES_NOTE}</p>`);
    expect(html).not.toContain('<svg');
    expect(html).toContain('result schema version 1');
  });
});
