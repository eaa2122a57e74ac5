import { copyFile, mkdtemp, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { runReportCli } from '../cli/run-cli.ts';
import { asVersion1, RESULT_FIXTURES_DIR, resultFixture } from '../report/report-fixtures.ts';
import { inspectReport } from './inspect-report.ts';

let dir: string;

/** `npm run report` on a copy of a real result, as a user would regenerate a page. */
async function reportOf(name: string): Promise<string> {
  const file = path.join(dir, `${name}.json`);
  await copyFile(path.join(RESULT_FIXTURES_DIR, `${name}.json`), file);
  const run = await runReportCli([file]);
  expect(run.exitCode).toBe(0);
  return file.replace(/\.json$/, '.html');
}

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'portlab-reports-'));
});

describe('reports in headless Chromium', () => {
  it('default-range: the fill chart draws two clients and the server under their ceilings; the rate chart its log axis', async () => {
    const seen = await inspectReport(await reportOf('default-range'), 'report-default-range');
    expect(seen.verdict).toBe('PASS');
    expect(Object.keys(seen.charts)).toEqual(['fill', 'rate', 'intervals']);
    expect(seen.charts.fill).toMatchObject({
      svg: true,
      lines: 3,
      rules: 2,
      title: 'Connections held over time',
      axisTitles: ['seconds since the first client started', 'connections'],
      legendLabels: ['client-1', 'client-2', 'server (accepted)'],
    });
    expect(seen.charts.rate).toMatchObject({ lines: 2, rules: 1, axisTitles: ['connections held', 'new connections per second'] });
    // The allowed and predicted bars are rules too; one observed dot per container and one for all clients.
    expect(seen.charts.intervals).toMatchObject({ points: 4, axisTitles: ['connections'] });
    expect(seen.consoleErrors).toEqual([]);
    expect(seen.requests).toEqual([]);
  });

  it('time-wait-exhaustion: churn and TIME_WAIT lines, the failure marked', async () => {
    const seen = await inspectReport(await reportOf('time-wait-exhaustion'), 'report-time-wait-exhaustion');
    expect(Object.keys(seen.charts)).toEqual(['churn', 'intervals']);
    expect(seen.charts.churn).toMatchObject({
      lines: 3,
      // the 1,000 usable ports, and the failure
      rules: 2,
      axisTitles: ['seconds since the first client started', 'connections churned / sockets in TIME_WAIT'],
    });
    expect(seen.charts.churn?.legendLabels).toEqual(expect.arrayContaining(['client-1 churned', 'client-1 TIME_WAIT', 'server TIME_WAIT']));
    expect(seen.consoleErrors).toEqual([]);
    expect(seen.requests).toEqual([]);
  });

  it('a result of schema version 1 opens as a page with no plots and the note', async () => {
    const file = path.join(dir, 'old-default-range.json');
    await writeFile(file, JSON.stringify(asVersion1(resultFixture('default-range'))));
    expect((await runReportCli([file])).exitCode).toBe(0);
    const seen = await inspectReport(file.replace(/\.json$/, '.html'), 'report-schema-1');
    expect(seen.charts).toEqual({});
    expect(seen.noSeriesNote).toMatch(/^This result has no time series/);
    expect(seen.consoleErrors).toEqual([]);
  });
});
