import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli, runPortlab } from '../cli/run-cli.ts';
import { chartData, SERVER_LINE } from '../../orchestrator/report/chart-data.ts';
import { inspectReport } from '../browser/inspect-report.ts';
import { busiestProcessOf, containersLabelled, inspectHeadroom, expectAsShipped, readResults, reportIn } from '../docker/docker-helpers.ts';

/**
 * The shipped scenarios that fill tens of thousands of ports, run as a user runs them, judged by what the kernel
 * really did. One after another, beside the other engine tests (whose runs stay small): at most one of these
 * holds its connections at a time, so the host's conntrack table (262,144 here) has room for all that is live and
 * what the last one left closing.
 */
describe('shipped scenarios on the real engine', () => {
  it('default-range: each client stops at 28,231 (28,232 default ports - the DNS listener) with EADDRNOTAVAIL', async () => {
    const result = await runCli(['default-range']);
    expect(result.exitCode).toBe(0);
    expect(result.stdout).toMatch(/^default-range: PASS/m);
    const [run] = await readResults(result.resultsDir);
    for (const client of run?.clients ?? []) {
      expect(client).toMatchObject({
        observed: 28231,
        predicted: { min: 28231, max: 28231 },
        observedError: 'EADDRNOTAVAIL',
        verdict: 'pass',
      });
      const environment = run?.environment.containers[client.name];
      expect(environment?.sysctlsApplied['net.ipv4.ip_local_port_range']).toBe('32768 60999');
      // The DNS listener's port was bound before the probe started, inside the default range.
      expect(environment?.boundPorts.filter((port) => port >= 32768 && port <= 60999)).toHaveLength(1);
    }
    expect(run?.server.observed).toBe(56462);
    expect(run?.clients).toHaveLength(2);
    expect(run?.verdict).toBe('pass');
    const compose = await readFile(path.join(result.resultsDir, run?.composeFile ?? ''), 'utf8');
    expect(compose).toContain('io.portlab.scenario: default-range');
    expect(await containersLabelled(`io.portlab.run-id=${run?.run.id}`)).toEqual([]);

    // The report: both clients climb to 28,231 under their drawn ceiling, the server to 56,462.
    const report = await reportIn(result.resultsDir);
    expect(result.stdout).toContain(`report: ${path.relative(process.cwd(), report)}`);
    const data = chartData(run!);
    for (const name of ['client-1', 'client-2', SERVER_LINE]) {
      const counts = data.held.filter((row) => row.container === name).map((row) => row.connections);
      // A climb from 0, sampled on the way (the probe reports every 1 % of its age), to the count.
      expect(counts[0]).toBe(0);
      expect(counts.length).toBeGreaterThan(2);
      expect(Math.max(...counts)).toBe(name === SERVER_LINE ? 56462 : 28231);
    }
    expect(data.ceilings.map((rule) => rule.connections)).toEqual([28231, 56462]);
    const seen = await inspectReport(report, 'run-default-range');
    expect(seen.verdict).toBe('PASS');
    // Two ceilings, and the predicted fill time when the engine had filled ports before in this suite (one estimate
    // for both clients: one rule).
    const estimates = new Set(Object.values(run!.run.fillTimes ?? {}).map((fill) => Math.round(fill.predictedSeconds)));
    expect(data.fillPredicted.map((rule) => rule.seconds)).toEqual([...estimates]);
    expect(seen.charts.fill).toMatchObject({
      svg: true,
      lines: 3,
      rules: 2 + estimates.size,
      legendLabels: ['client-1', 'client-2', SERVER_LINE],
    });
    expect(seen.charts.rate).toMatchObject({ svg: true, lines: 2 });
    expect(seen.consoleErrors).toEqual([]);
    expect(seen.requests).toEqual([]);
  });

  it("server-on-host: a client reaching a server on the host's network through the bridge holds its own 64,511", async () => {
    const result = await runCli(['server-on-host']);
    expect(result.exitCode).toBe(0);
    const [run] = await readResults(result.resultsDir);
    expectAsShipped('server-on-host', run);
    expect(run?.environment.networkHelper).toBeUndefined();
  });

  it('server-beyond-65535: one listening port holds 3 x 28,231 = 84,693 connections', async () => {
    const result = await runCli(['server-beyond-65535']);
    expect(result.exitCode).toBe(0);
    const [run] = await readResults(result.resultsDir);
    expectAsShipped('server-beyond-65535', run);
  });

  it('wide-range: "1024 65535" gives each client 64,511 connections to one server port', async () => {
    const result = await runCli(['wide-range']);
    expect(result.exitCode).toBe(0);
    const [run] = await readResults(result.resultsDir);
    for (const client of run?.clients ?? []) {
      expect(client).toMatchObject({ observed: 64511, observedError: 'EADDRNOTAVAIL', verdict: 'pass' });
      expect(run?.environment.containers[client.name]?.sysctlsApplied['net.ipv4.ip_local_port_range']).toBe('1024 65535');
    }
    // One listening port holds far more than 65,535 connections: the 4-tuple names a connection.
    expect(run?.server.observed).toBe(129022);
    expect(run?.verdict).toBe('pass');

    // The report's rate plot marks half the range, where one parity is used up (docs/model.md, "Time to fill");
    // how much slower connect() gets past it is the machine's, printed by `npm run bench -- wide-range`.
    const data = chartData(run!);
    for (const name of ['client-1', 'client-2']) expect(data.rate.filter((row) => row.container === name).length).toBeGreaterThan(1);
    expect(data.halfway.map((rule) => rule.held)).toEqual([32255]);
    const seen = await inspectReport(await reportIn(result.resultsDir), 'run-wide-range');
    expect(seen.charts.rate).toMatchObject({ svg: true, lines: 2, rules: 1 });
    expect(seen.consoleErrors).toEqual([]);
  });
  it('default-range --keep stays up: portlab inspect reads its client and server as the result says, to the unit', async () => {
    const result = await runCli(['default-range', '--keep']);
    expect(result.exitCode).toBe(0);
    const [run] = await readResults(result.resultsDir);
    const project = run!.run.project;
    try {
      const inspect = (container: string) => inspectHeadroom(`${project}-${container}`);
      // A client that filled its range: every port of it held to the server's one port, none left.
      const client = await inspect('client-1-1');
      expect(client.destinations).toHaveLength(1);
      expect(client.destinations[0]).toMatchObject({
        port: 5000,
        portsUsed: run!.clients[0]!.observed,
        portsFree: 0,
        left: 0,
        limit: 'port-range',
      });
      // The server: what it accepted, its queue's room (backlog 4,096 + 1, nothing waiting), its descriptors as the
      // host counts them for its busiest process.
      const server = await inspect('server-1');
      const listener = server.listeners.find((entry: { port: number }) => entry.port === 5000);
      expect(listener).toMatchObject({ accepted: run!.server.observed, queued: 0, queueRoom: 4097 });
      const busiest = await busiestProcessOf(`${project}-server-1`);
      expect(listener?.descriptorsFree).toBe(busiest.nofile - busiest.fds);
    } finally {
      await runPortlab(['rm', run!.run.id]);
    }
    expect(await containersLabelled(`io.portlab.run-id=${run?.run.id}`)).toEqual([]);
  });
});
