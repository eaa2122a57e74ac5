import { mkdtemp, readdir, readFile, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { beforeAll, describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../../orchestrator/common/project-root.ts';
import { chartData } from '../../orchestrator/report/chart-data.ts';
import { runCli } from '../cli/run-cli.ts';
import { inspectReport } from '../browser/inspect-report.ts';
import { containersLabelled, networksLabelled, readResults, reportIn } from './docker-helpers.ts';

/**
 * Real software portlab did not write, from Debian's packages in images FROM scratch, run through portlab on the
 * real engine: the limit that bound named from the kernel's view, and the counts the kernel makes exact, exact.
 */
beforeAll(async () => {
  await execa('bash', [path.join(PROJECT_ROOT, 'scripts', 'build-app-images.sh')], { stdio: 'inherit' });
}, 15 * 60_000);

const run = async (scenario: string) => {
  const result = await runCli([scenario]);
  const [stored] = await readResults(result.resultsDir);
  // Nothing of this run is left (other engine test files run beside this one: only its own run is looked at).
  expect(await containersLabelled(`io.portlab.run-id=${stored!.run.id}`)).toEqual([]);
  expect(await networksLabelled(`io.portlab.run-id=${stored!.run.id}`)).toEqual([]);
  return { result, stored: stored! };
};

describe('software of its own under test, with the kernel beside it', () => {
  it("nginx's worker_connections: the application's own limit, named with the kernel's evidence", async () => {
    const { result, stored } = await run('nginx-worker-connections');
    expect(result.exitCode).toBe(0);
    expect(stored.verdict).toBe('pass');
    const [client] = stored.clients;
    // The probe client got every one of its 2,000 ports: nginx accepted each connection before it closed it.
    expect(client).toMatchObject({ observed: 2000, limit: 'port-range', observedError: 'EADDRNOTAVAIL', verdict: 'pass' });
    const kernel = stored.server.kernel!;
    expect(stored.server.bound).toMatchObject({ limit: 'application', by: 'application' });
    expect(stored.server.bound?.evidence).toContain('closed');
    // Fewer than its 512 worker_connections at once, with nearly all of its descriptors free.
    expect(kernel.peakAccepted).toBeGreaterThan(0);
    expect(kernel.peakAccepted).toBeLessThan(512);
    expect(kernel.app.nofile! - kernel.app.peakFds).toBeGreaterThan(10_000);
    // The kernel accounts for every connection: held by nginx, or closed by it and waiting for the client's FIN.
    expect((kernel.states.ESTABLISHED ?? 0) + (kernel.states['FIN-WAIT-2'] ?? 0)).toBe(2000);
    expect(stored.server.observed).toBe(kernel.peakAccepted);
    // The report shows the kernel's view, as Chromium renders it: its chart, and what bound with the evidence.
    const report = await reportIn(result.resultsDir);
    const seen = await inspectReport(report, 'nginx-worker-connections');
    expect(seen.charts.kernel).toMatchObject({ svg: true, title: "The kernel's view of each application" });
    expect(seen.charts.kernel?.lines).toBeGreaterThanOrEqual(2);
    expect(seen.charts.kernel?.legendLabels).toContain('server ESTABLISHED');
    expect(seen.consoleErrors).toEqual([]);
    expect(seen.requests).toEqual([]);
    const html = await readFile(report, 'utf8');
    expect(html).toContain("The kernel's view of your software");
    expect(html).toContain('application (bound, application)');
  });

  it("redis-server's maxclients: settled, exactly 100 held, the other 900 closed by the server", async () => {
    const { result, stored } = await run('redis-maxclients');
    expect(result.exitCode).toBe(0);
    expect(stored.verdict).toBe('pass');
    expect(stored.clients[0]).toMatchObject({ observed: 1000, limit: 'port-range', verdict: 'pass' });
    expect(stored.server.bound).toMatchObject({ limit: 'application', by: 'application' });
    // At most at once it may hold a few past 100 for an instant (it accepts, then closes with its error); settled,
    // it holds exactly its maxclients.
    expect(stored.server.observed).toBeGreaterThanOrEqual(100);
    expect(stored.server.kernel?.states).toMatchObject({ ESTABLISHED: 100, 'FIN-WAIT-2': 900 });
  });

  it("haproxy's maxconn: it stops accepting, the kernel queues backlog + 1 more, and the client holds exactly both", async () => {
    const { result, stored } = await run('haproxy-maxconn');
    expect(result.exitCode).toBe(0);
    expect(stored.verdict).toBe('pass');
    const kernel = stored.server.kernel!;
    // Settled (its last look): haproxy holds its 100, the kernel queues the rest.
    const last = kernel.series.t.length - 1;
    expect(kernel.series.held[last]).toBe(100);
    expect(kernel.series.established[last]! - kernel.series.queued[last]!).toBe(100);
    // What it held at once, socket by socket in one look, never past its maxconn.
    expect(kernel.peakAccepted).toBe(100);
    // haproxy's backlog is its maxconn; one more than the backlog fits the queue (sk_acceptq_is_full).
    expect(kernel.listeners).toEqual([{ port: 8080, backlog: 100, peakQueue: 101 }]);
    expect(stored.server.bound).toMatchObject({ limit: 'application', by: 'application' });
    expect(stored.server.bound?.evidence).toContain('the server accepted 100 and then stopped accepting');
    expect(stored.clients[0]).toMatchObject({ observed: 201, observedError: 'ETIMEDOUT', verdict: 'pass' });
    expect(stored.total).toMatchObject({ observed: 201, allowed: { min: 201, max: 201 }, verdict: 'pass' });
    // The plots say what bound: the application, not the client's port range it never came near.
    const charts = chartData(stored);
    expect(charts.bindingLimit).toBe("application (its own limit, the kernel's view shows)");
    expect(charts.halfway).toEqual([]);
  });

  it('wrk asked for 2,000 connections from 1,000 ports: the port range binds it, exactly, as the kernel shows', async () => {
    const { result, stored } = await run('wrk-port-range');
    expect(result.exitCode).toBe(0);
    expect(stored.verdict).toBe('pass');
    expect(stored.prediction.measured.clients[0]).toMatchObject({ connections: { min: 1000, max: 1000 }, limit: 'port-range' });
    expect(stored.clients[0]).toMatchObject({
      observed: 1000,
      observedError: 'EADDRNOTAVAIL',
      bound: { limit: 'port-range', by: 'kernel' },
    });
    expect(stored.clients[0]?.kernel?.peakInUse).toBe(1000);
    // nginx had room for all of them: no limit of its own bound.
    expect(stored.server.bound).toMatchObject({ by: 'kernel', limit: 'port-range' });
    expect(stored.server.observed).toBeLessThanOrEqual(1000);
  });

  it('an application client that fails at once: an error naming it and what it printed, exit 3, nothing left', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'portlab-app-'));
    const file = path.join(dir, 'bad-wrk.yml');
    await writeFile(
      file,
      'server:\n  image: portlab-app/redis:7.0\n  command: ["--port", "6379", "--save", "", "--protected-mode", "no"]\n  ports: [6379]\nclients:\n  name: wrk\n  image: portlab-app/wrk:4.1\n  command: ["--no-such-option"]\n',
    );
    const { result, stored } = await run(file);
    expect(result.exitCode).toBe(3);
    expect(stored.verdict).toBe('error');
    expect(stored.clients[0]).toMatchObject({ verdict: 'error', observed: 0 });
    // wrk's own usage text, which it prints when it does not know an option, and how it ended.
    expect(stored.clients[0]?.why).toMatch(
      /^wrk-1 ended without one connection to the server \(exit code 1\); it printed: .*(unrecognized option|Usage: wrk)/,
    );
    expect(stored.clients[0]?.applicationEnd).toMatchObject({ image: 'portlab-app/wrk:4.1', exitCode: 1 });
  });

  it('a server application that exits at once: its exit code and last lines, exit 3, nothing left', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'portlab-app-'));
    const file = path.join(dir, 'nginx-exits.yml');
    await writeFile(file, 'server:\n  image: portlab-app/nginx:1.22\n  command: ["-c", "/no-such.conf"]\n  ports: [8080]\n');
    const { result, stored } = await run(file);
    expect(result.exitCode).toBe(3);
    expect(stored.verdict).toBe('error');
    // nginx's own words for a configuration file it cannot open.
    expect(stored.run.failure).toMatch(
      /^container server exited before it was ready \(its application portlab-app\/nginx:1\.22 exited with code 1; its last lines: .*\[emerg\].*"\/no-such\.conf" failed/,
    );
  });

  it('an image that is not on the engine and cannot be pulled: one line naming it and what to do, exit 3, nothing created', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'portlab-app-'));
    const file = path.join(dir, 'no-image.yml');
    await writeFile(file, 'server:\n  image: portlab-test/no-such-image:1\n  ports: [8080]\nclients:\n  count: 2\n');
    const result = await runCli([file]);
    expect(result.exitCode).toBe(3);
    expect(result.stderr).toMatch(
      /^portlab: image portlab-test\/no-such-image:1 \(server\) is not on this engine and could not be pulled \(.+\): build or load it there/m,
    );
    expect(
      result.stderr
        .trim()
        .split('\n')
        .filter((line) => line.startsWith('portlab:')),
    ).toHaveLength(1);
    // Refused before anything of the run existed: no result, no compose file, no container.
    expect(await readdir(result.resultsDir)).toEqual([]);
    expect(await containersLabelled('io.portlab.scenario=no-image')).toEqual([]);
  });

  it('a server that does not listen where the scenario says: one line saying where it does listen, exit 3', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'portlab-app-'));
    const file = path.join(dir, 'wrong-port.yml');
    const config = path.join(PROJECT_ROOT, 'scenarios', 'files', 'nginx-4096.conf');
    await writeFile(file, `server:\n  image: portlab-app/nginx:1.22\n  volumes: ["${config}:/etc/nginx/nginx.conf:ro"]\n  ports: [8080]\n`);
    const { result, stored } = await run(file);
    expect(result.exitCode).toBe(3);
    expect(stored.run.failure).toMatch(
      /the application did not listen on every one of ports 8080 within 20 s \(it listens on: [0-9, ]*\b80\b/,
    );
  });
});
