import { mkdtemp, readFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseJunit } from '../report/parse-junit.ts';
import { runCli } from '../cli/run-cli.ts';
import { APPLICATION_SCENARIOS, SCALE_SCENARIOS, SHIPPED_EXPECTATIONS } from '../shipped-expectations.ts';
import { chartData } from '../../orchestrator/report/chart-data.ts';
import { inspectReport } from '../browser/inspect-report.ts';
import { portCount } from '../../orchestrator/scenario/port-range.ts';
import { FAMILIES } from '../../orchestrator/scenario/ip-family.ts';
import { loadScenario } from '../../orchestrator/scenario/load-scenario.ts';
import { expectAsShipped, readResults, reportIn } from './docker-helpers.ts';

/**
 * The scenarios that fill tens of thousands of ports are tested at the host's scale (test/scale/, SCALE_SCENARIOS),
 * and those that run software of their own by applications.test.ts.
 */
const SEED_SCENARIOS = Object.keys(SHIPPED_EXPECTATIONS).filter((name) => ![...APPLICATION_SCENARIOS, ...SCALE_SCENARIOS].includes(name));

/** Each scenario runs once, writing its checks as JUnit too; the tests that look at another side of a run share it. */
const runs = new Map<string, ReturnType<typeof runCli>>();
const runOnce = (name: string) => {
  if (!runs.has(name))
    runs.set(
      name,
      mkdtemp(path.join(os.tmpdir(), 'portlab-results-')).then((resultsDir) =>
        runCli([name, '--junit', path.join(resultsDir, 'junit.xml')], { resultsDir }),
      ),
    );
  return runs.get(name)!;
};

/**
 * Several at once (the engine project's maxConcurrency): each run has its own network namespaces and a range of a
 * few thousand ports, most of its time is a churn's duration or the engine starting and removing containers, and a
 * paced churn that falls behind on a busy machine says by how much (its prediction counts it).
 */
describe.concurrent("the seeds' claims, each as a shipped scenario on the real engine", () => {
  it.each(SEED_SCENARIOS)('%s: every container ends at the predicted count, stopped by the predicted limit', async (name) => {
    const result = await runOnce(name);
    expect(result.exitCode).toBe(0);
    const [run] = await readResults(result.resultsDir);
    expectAsShipped(name, run);
    // The same checks as CI systems read them: one case per container and one for all clients, none failed.
    const junit = parseJunit(await readFile(path.join(result.resultsDir, 'junit.xml'), 'utf8'));
    expect([junit['@_tests'], junit['@_failures'], junit['@_errors']]).toEqual([String(run!.clients.length + 2), '0', '0']);
  });

  // Dual stack: the server's IPv4 and IPv6 addresses are two destinations for the same local ports (the 4-tuple), and
  // the probe counts each connection by the family of the address it reached: every family its whole range.
  it("dual-stack: each family of the server's addresses takes the whole port range, as the probe counts them", async () => {
    const result = await runOnce('dual-stack');
    const [run] = await readResults(result.resultsDir);
    const { scenario } = await loadScenario('dual-stack');
    const perFamily = (name: string) => {
      const predicted = run!.prediction.measured.clients.find((client) => client.name === name)!;
      return predicted.connections.max! / FAMILIES[scenario.clients.find((group) => group.name === predicted.group)!.family].length;
    };
    const byName = Object.fromEntries(run!.clients.map((client) => [client.name, client]));
    expect(byName['ipv4-1']?.byFamily).toBeUndefined();
    expect(byName['ipv6-1']?.byFamily).toEqual({ ipv4: 0, ipv6: perFamily('ipv6-1') });
    expect(byName['dual-1']?.byFamily).toEqual({ ipv4: perFamily('dual-1'), ipv6: perFamily('dual-1') });
    expect(perFamily('dual-1')).toBe(perFamily('ipv4-1'));
  });

  // IPv6 source addresses added to the client's interface from the network's /64: each a destination's whole range.
  it('ipv6-source-addresses: every connection over IPv6, one port range per source address', async () => {
    const result = await runOnce('ipv6-source-addresses');
    const [run] = await readResults(result.resultsDir);
    const { scenario } = await loadScenario('ipv6-source-addresses');
    const ports = portCount(run!.prediction.measured.clients[0]!.portRange);
    for (const client of run!.clients) {
      const group = scenario.clients.find((candidate) => client.name.startsWith(`${candidate.name}-`))!;
      expect(client.byFamily).toEqual({ ipv4: 0, ipv6: ports * group.sourceAddresses });
    }
  });

  // TIME_WAIT sits on the side that closed first, one entry per 4-tuple (docs/model.md, "TIME_WAIT"): at most one
  // per local port the client has for this destination (its 1,000 usable ports). Closing first, the client holds
  // all of them when connect() fails, less any an RST killed after that; it entered one for every connection it
  // closed, never fewer than it has left. When the server closes first, how many 4-tuples it ends with depends on
  // which ports connect() took again (about one per even port here), which the model does not predict.
  it.each([
    ['time-wait-exhaustion', 'client-1'],
    ['server-closes-first', 'server'],
  ] as const)('%s: the TIME_WAIT entries sit on the side that closed first (%s)', async (name, closer) => {
    const result = await runOnce(name);
    const [run] = await readResults(result.resultsDir);
    const containers = [...(run?.clients ?? []), run?.server];
    const onCloser = containers.find((container) => container?.name === closer)?.timeWait ?? 0;
    const elsewhere = containers.filter((container) => container?.name !== closer).map((container) => container?.timeWait ?? 0);
    const usablePorts = portCount(run!.prediction.measured.clients[0]!.portRange) - run!.prediction.measured.clients[0]!.reservedPorts.min;
    expect(onCloser).toBeGreaterThan(0);
    expect(onCloser).toBeLessThanOrEqual(usablePorts);
    expect(Math.max(...elsewhere)).toBe(0);
    if (closer === 'client-1') expect(run?.clients[0]?.timeWaitEntered).toBeGreaterThanOrEqual(onCloser);
    const client = run?.clients[0];
    if (closer === 'client-1') {
      // It failed before its 10 s of churning were up, at the first connect() with no port left: that failure is
      // what stopped its one worker, not the end of its duration.
      expect(client?.firstFailure?.errno).toBe('EADDRNOTAVAIL');
      expect(client?.firstFailure?.atMs).toBe(client?.stoppedAfterMs);
      expect(client?.workers.map((worker) => worker.errno)).toEqual(['EADDRNOTAVAIL']);
      // The report: TIME_WAIT plotted as the probe sampled it, never past the ports, and the failure marked.
      const data = chartData(run!);
      const plotted = data.churn.filter((row) => row.line === 'client-1 TIME_WAIT').map((row) => row.value);
      expect(Math.max(...plotted)).toBeGreaterThan(0);
      expect(Math.max(...plotted)).toBeLessThanOrEqual(usablePorts);
      expect(data.failures.map((failure) => failure.label)).toEqual([expect.stringMatching(/^client-1: EADDRNOTAVAIL at \d+\.\d s$/)]);
      const seen = await inspectReport(await reportIn(result.resultsDir), 'run-time-wait-exhaustion');
      expect(seen.charts.churn).toMatchObject({ svg: true, lines: 3, rules: 2 });
      expect(seen.consoleErrors).toEqual([]);
    } else {
      expect(client?.firstFailure).toBeNull();
    }
  });
});
