import { mkdtemp, readdir, readFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { RunResult } from '../../orchestrator/report/result-schema.ts';
import { SweepSummary } from '../../orchestrator/report/sweep-schema.ts';
import { runPortlab } from '../cli/run-cli.ts';
import { inspectReport } from '../browser/inspect-report.ts';
import { parseJunit } from '../report/parse-junit.ts';
import { eventually, networksLabelled, ownContainers, startSweep, sweepDir } from './docker-helpers.ts';

describe('a sweep on the real engine', () => {
  it('runs every point in turn, goes on past a point that fails, and writes CSV, JSON and a chart; --keep keeps each point', async () => {
    const junitFile = path.join(await mkdtemp(path.join(os.tmpdir(), 'portlab-junit-')), 'sweep.xml');
    const { cli, resultsDir } = await startSweep(['test/fixtures/sweep-small.yml', '--junit', junitFile, '--keep']);
    const ended = await cli;
    // Two points whose clients cannot start end as errors: exit 3, but the other points ran and passed.
    expect(ended.exitCode).toBe(3);
    expect(String(ended.stderr)).toMatch(/sweep-small: point 4 of 4 \(/);
    const dir = await sweepDir(resultsDir);
    const summary = SweepSummary.parse(JSON.parse(await readFile(path.join(dir, 'sweep.json'), 'utf8')));
    expect(summary).toMatchObject({ status: 'complete', verdict: 'error', pointCount: 4 });
    expect(summary.points.map((point) => point.verdict)).toEqual(['pass', 'error', 'pass', 'error']);
    // Width 100 and 200, less the DNS listener's port where it sat inside the range: each exactly as measured.
    for (const point of [summary.points[0], summary.points[2]]) {
      expect(point?.total?.predicted.min).toBe(point?.total?.predicted.max);
      expect(point?.total?.observed).toBe(point?.total?.predicted.max);
    }
    expect(summary.points[1]?.failure).toMatch(/^starting container /);
    // As CI systems read it: a test suite per point; the points that passed have no failure or error, every check of
    // a point that ended in an error is an error.
    const junit = parseJunit(await readFile(junitFile, 'utf8'));
    expect(
      junit.testsuite.map((suite) => [suite['@_failures'], suite['@_errors'] === suite['@_tests'] ? 'all' : suite['@_errors']]),
    ).toEqual([
      ['0', '0'],
      ['0', 'all'],
      ['0', '0'],
      ['0', 'all'],
    ]);
    expect(junit.testsuite[0]?.['@_name']).toMatch(
      /^sweep-small point 1 \(clients\.sysctls\.net\.ipv4\.ip_local_port_range = 40000 40099; /,
    );

    const files = await readdir(dir);
    for (const point of summary.points) {
      expect(files).toContain(point.resultFile);
      expect(files).toContain(point.reportFile);
    }
    const csv = (await readFile(path.join(dir, 'sweep.csv'), 'utf8')).split('\r\n');
    expect(csv[0]).toMatch(
      /^point,clients\.sysctls\.net\.ipv4\.ip_local_port_range,clients\.sysctls\.net\.ipv4\.ip_local_reserved_ports,container,/,
    );
    expect(csv.filter((line) => /^1,/.test(line)).map((line) => line.split(',')[3])).toEqual(['client-1', 'server', 'all clients']);

    const seen = await inspectReport(path.join(dir, 'sweep.html'), 'sweep-small');
    expect(seen.verdict).toBe('ERROR');
    expect(seen.charts.sweep).toMatchObject({
      svg: true,
      axisTitles: ['ports in clients.sysctls.net.ipv4.ip_local_port_range', 'connections, all clients'],
    });
    // Every point that ran drew an observed point: the two that passed, and the two errors (0 observed).
    expect(seen.charts.sweep?.points).toBe(4);
    expect(seen.consoleErrors).toEqual([]);
    expect(seen.requests).toEqual([]);

    // --keep: each point that ran is still on the engine, as `portlab ls` shows; `portlab rm` removes them all.
    const runIds = await Promise.all(
      summary.points.map(async (point) => (JSON.parse(await readFile(path.join(dir, point.resultFile!), 'utf8')) as RunResult).run.id),
    );
    const { runs } = JSON.parse((await runPortlab(['ls', '--format', 'json'])).stdout) as { runs: Array<Record<string, unknown>> };
    for (const [index, point] of summary.points.entries())
      if (point.verdict === 'pass')
        expect(runs.find((run) => run.id === runIds[index])).toMatchObject({ scenario: point.name, kept: true, containers: 2 });
    const listed = runIds.filter((id) => runs.some((run) => run.id === id));
    expect((await runPortlab(['rm', ...listed])).exitCode).toBe(0);
    for (const point of summary.points) expect(await ownContainers(`io.portlab.scenario=${point.name}`)).toEqual([]);
  });

  it('odd-socket-ranges: every odd width named on each socket is used whole, exactly as predicted (tolerance 0)', async () => {
    const { cli, resultsDir } = await startSweep(['odd-socket-ranges']);
    expect((await cli).exitCode).toBe(0);
    const summary = SweepSummary.parse(JSON.parse(await readFile(path.join(await sweepDir(resultsDir), 'sweep.json'), 'utf8')));
    expect(summary.points.map((point) => point.verdict)).toEqual(['pass', 'pass', 'pass', 'pass']);
    // Two clients, each its socket range's whole width: 3, 5, 777 and 1,501 ports.
    expect(summary.points.map((point) => point.total?.observed)).toEqual([6, 10, 1554, 3002]);
  });

  it('Ctrl-C stops at once, removes the running point, keeps what finished and writes the summary as aborted (exit 130)', async () => {
    const { cli, resultsDir } = await startSweep(['test/fixtures/sweep-slow.yml']);
    await eventually(
      async () => ((await ownContainers('io.portlab.scenario=sweep-slow-1')).length === 3 ? true : undefined),
      60_000,
      'the first point to start',
    );
    cli.kill('SIGINT');
    const ended = await cli;
    expect(ended.exitCode).toBe(130);
    const summary = SweepSummary.parse(JSON.parse(await readFile(path.join(await sweepDir(resultsDir), 'sweep.json'), 'utf8')));
    expect(summary).toMatchObject({ status: 'aborted', verdict: 'aborted', pointCount: 2 });
    expect(summary.points.map((point) => point.verdict)).toEqual(['aborted']);
    // Other tests run beside this one: look at this sweep's things only.
    expect(await ownContainers('io.portlab.scenario=sweep-slow-1')).toEqual([]);
    expect((await networksLabelled('io.portlab.managed=true')).filter((name) => name.startsWith('portlab-sweep-slow-'))).toEqual([]);
  });
});
