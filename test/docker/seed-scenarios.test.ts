import { describe, expect, it } from 'vitest';
import { runCli } from '../cli/run-cli.ts';
import { SHIPPED_EXPECTATIONS } from '../shipped-expectations.ts';
import { chartData } from '../../orchestrator/report/chart-data.ts';
import { inspectReport } from '../browser/inspect-report.ts';
import { expectAsShipped, readResults, reportIn } from './docker-helpers.ts';

/** The scenarios that fill tens of thousands of ports have tests of their own (big-fills.test.ts). */
const SEED_SCENARIOS = Object.keys(SHIPPED_EXPECTATIONS).filter((name) => !['default-range', 'wide-range', 'server-beyond-65535'].includes(name));

/** Each scenario runs once; the tests that look at another side of a run share it. */
const runs = new Map<string, ReturnType<typeof runCli>>();
const runOnce = (name: string) => {
  if (!runs.has(name)) runs.set(name, runCli([name]));
  return runs.get(name)!;
};

describe('the seeds\' claims, each as a shipped scenario on the real engine', () => {
  it.each(SEED_SCENARIOS)('%s: every container ends at the predicted count, stopped by the predicted limit', async (name) => {
    const result = await runOnce(name);
    expect(result.exitCode).toBe(0);
    const [run] = await readResults(result.resultsDir);
    expectAsShipped(name, run);
  });

  // Closing first, the client leaves one TIME_WAIT per port of its range (1,000). When the server closes first, the
  // client's ports are free at once and connect() keeps to the even ones it prefers (__inet_hash_connect), so the
  // server ends with about one TIME_WAIT per even port: ~500 (measured 499-500), each new connection taking over
  // the entry of the last one from that port.
  it.each([
    ['time-wait-exhaustion', 'client-1', 900],
    ['server-closes-first', 'server', 450],
  ] as const)('%s: the TIME_WAIT entries sit on the side that closed first (%s)', async (name, closer, atLeast) => {
    const result = await runOnce(name);
    const [run] = await readResults(result.resultsDir);
    const containers = [...(run?.clients ?? []), run?.server];
    const onCloser = containers.find((container) => container?.name === closer)?.timeWait ?? 0;
    const elsewhere = containers.filter((container) => container?.name !== closer).map((container) => container?.timeWait ?? 0);
    expect(onCloser).toBeGreaterThanOrEqual(atLeast);
    expect(Math.max(...elsewhere)).toBe(0);
    const client = run?.clients[0];
    if (closer === 'client-1') {
      // It failed within its 10 s of churning, at the first connect() with no port left.
      expect(client?.firstFailure?.errno).toBe('EADDRNOTAVAIL');
      expect(client?.firstFailure?.atMs).toBeLessThan(10_000);
      // The report: TIME_WAIT rises to about the range (1,000 ports) and the failure is marked.
      const data = chartData(run!);
      expect(Math.max(...data.churn.filter((row) => row.line === 'client-1 TIME_WAIT').map((row) => row.value))).toBeGreaterThanOrEqual(atLeast);
      expect(data.failures.map((failure) => failure.label)).toEqual([expect.stringMatching(/^client-1: EADDRNOTAVAIL at \d+\.\d s$/)]);
      const seen = await inspectReport(await reportIn(result.resultsDir), 'run-time-wait-exhaustion');
      expect(seen.charts.churn).toMatchObject({ svg: true, lines: 3, rules: 2 });
      expect(seen.consoleErrors).toEqual([]);
    } else {
      expect(client?.firstFailure).toBeNull();
    }
  });
});
