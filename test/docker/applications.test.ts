import { mkdtemp, readdir, readFile, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../../orchestrator/common/project-root.ts';
import { chartData } from '../../orchestrator/report/chart-data.ts';
import { runCli, runPortlab } from '../cli/run-cli.ts';
import { inspectReport } from '../browser/inspect-report.ts';
import { buildAppImages, clientPorts, run, shippedFile, shippedScenario } from './application-helpers.ts';
import { engineProxy } from './engine-proxy.ts';
import { containersLabelled, inspectHeadroom, ownContainers, readResults, reportIn } from './docker-helpers.ts';

/**
 * Real software portlab did not write, from Debian's packages in images FROM scratch, run through portlab on the
 * real engine: the limit that bound named from the kernel's view, and the counts the kernel makes exact, exact.
 */
beforeAll(async () => {
  await buildAppImages();
}, 15 * 60_000);

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
    // Judged against the scenario's expectation, from nginx's connection pool: 447 to 479 held at once.
    expect(stored.server).toMatchObject({ verdict: 'pass', allowed: { min: 447, max: 479 } });
    // What worker_connections leaves for clients: nginx's worker counts its own listening socket and its channel to
    // the master among its connections (ngx_event_process_init), so at most 512 - 2 = 510 at once, with nearly all
    // of its descriptors free. (It stops accepting for a while when fewer than an eighth are free, so fewer.)
    const workerConnections = Number(/worker_connections (\d+);/.exec(await shippedFile('nginx-512.conf'))?.[1]);
    expect(workerConnections).toBe(512);
    expect(kernel.peakAccepted).toBeGreaterThan(0);
    expect(kernel.peakAccepted).toBeLessThanOrEqual(workerConnections - 2);
    expect(kernel.app.nofile! - kernel.app.peakFds).toBeGreaterThan(10_000);
    // The kernel accounts for every port of the client's range: held by nginx, or closed by it (its side waits in
    // FIN-WAIT-2 for the client's FIN).
    const ports = await clientPorts('nginx-worker-connections');
    expect(ports).toBe(2000);
    expect((kernel.states.ESTABLISHED ?? 0) + (kernel.states['FIN-WAIT-2'] ?? 0)).toBe(ports);
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
    // nginx took every connection and closed what it had no room for: the client's connect rate is the kernel's
    // port search, and the rate plot says so (not that the application held connects back).
    expect(chartData(stored).rateByApplication).toBe(false);
    expect(html).toContain('connect() tries ports of one parity first');
  });

  it('nginx-worker-connections --keep stays up: portlab inspect reads nginx and the client as the result says', async () => {
    const result = await runCli(['nginx-worker-connections', '--keep']);
    expect(result.exitCode).toBe(0);
    const [stored] = await readResults(result.resultsDir);
    const project = stored!.run.project;
    try {
      const inspect = (container: string) => inspectHeadroom(`${project}-${container}`);
      // The server's container is nginx's observer: the same network and PID namespaces, so nginx's listener and
      // processes. What it holds now is what the run's last look saw it hold.
      const server = await inspect('server-1');
      const listener = server.listeners.find((entry: { port: number; dockerDns: boolean }) => entry.port === 80 && !entry.dockerDns);
      const kernel = stored!.server.kernel!;
      expect(listener).toMatchObject({ accepted: kernel.series.held.at(-1), queued: 0 });
      expect(server.descriptors?.process).toBe('nginx');
      // The probe client used its whole range to nginx's port: none left, the port range binds.
      const client = await inspect('client-1-1');
      expect(client.destinations).toHaveLength(1);
      expect(client.destinations[0]).toMatchObject({ port: 80, portsUsed: stored!.clients[0]!.observed, left: 0, limit: 'port-range' });
    } finally {
      await runPortlab(['rm', stored!.run.id]);
    }
    expect(await containersLabelled(`io.portlab.run-id=${stored!.run.id}`)).toEqual([]);
  });

  it("redis-server's maxclients: settled, exactly 100 held, the other 900 closed by the server", async () => {
    const { result, stored } = await run('redis-maxclients');
    expect(result.exitCode).toBe(0);
    expect(stored.verdict).toBe('pass');
    expect(stored.clients[0]).toMatchObject({ observed: 1000, limit: 'port-range', verdict: 'pass' });
    expect(stored.server.bound).toMatchObject({ limit: 'application', by: 'application' });
    expect(stored.server).toMatchObject({ verdict: 'pass', allowed: { min: 100, max: 101 } });
    // Its maxclients as the scenario's command gives it, and the client's ports as its range gives them: settled, redis
    // holds exactly maxclients (socket by socket, those with a descriptor), and has closed the rest.
    const command = (await shippedScenario('redis-maxclients')).server.command!;
    const maxclients = Number(command[command.indexOf('--maxclients') + 1]);
    const ports = await clientPorts('redis-maxclients');
    expect([maxclients, ports]).toEqual([100, 1000]);
    const kernel = stored.server.kernel!;
    expect(kernel.series.held.at(-1)).toBe(maxclients);
    expect(kernel.states).toMatchObject({ ESTABLISHED: maxclients, 'FIN-WAIT-2': ports - maxclients });
  });

  it("haproxy's maxconn: it stops accepting, the kernel queues backlog + 1 more, and the client holds exactly both", async () => {
    const { result, stored } = await run('haproxy-maxconn');
    expect(result.exitCode).toBe(0);
    expect(stored.verdict).toBe('pass');
    const kernel = stored.server.kernel!;
    // Its maxconn as its configuration gives it. haproxy's backlog is its maxconn, and one more than the backlog
    // fits the accept queue (sk_acceptq_is_full: a queue is full once it holds more than the backlog).
    const maxconn = Number(/^\s*maxconn (\d+)$/m.exec(await shippedFile('haproxy-maxconn-100.cfg'))?.[1]);
    expect(maxconn).toBe(100);
    const queued = maxconn + 1;
    // Settled (its last look): haproxy holds its maxconn, the kernel queues the rest.
    const last = kernel.series.t.length - 1;
    expect(kernel.series.held[last]).toBe(maxconn);
    expect(kernel.series.established[last]! - kernel.series.queued[last]!).toBe(maxconn);
    // What it held at once, socket by socket in one look, never past its maxconn.
    expect(kernel.peakAccepted).toBe(maxconn);
    expect(kernel.listeners).toEqual([{ port: 8080, backlog: maxconn, peakQueue: queued }]);
    expect(stored.server.bound).toMatchObject({ limit: 'application', by: 'application' });
    expect(stored.server.bound?.evidence).toContain(`the server accepted ${maxconn} and then stopped accepting`);
    expect(stored.server).toMatchObject({ observed: maxconn, allowed: { min: maxconn, max: maxconn }, verdict: 'pass' });
    // The client holds both, and its next connect() times out: the queue is full, the SYNs go unanswered.
    expect(stored.clients[0]).toMatchObject({ observed: maxconn + queued, observedError: 'ETIMEDOUT', verdict: 'pass' });
    expect(stored.total).toMatchObject({
      observed: maxconn + queued,
      allowed: { min: maxconn + queued, max: maxconn + queued },
      verdict: 'pass',
    });
    // The plots say what bound: the application, not the client's port range it never came near.
    const charts = chartData(stored);
    expect(charts.bindingLimit).toBe("application (its own limit, the kernel's view shows)");
    expect(charts.halfway).toEqual([]);
    // haproxy stopped accepting with its queue full: what the client's connects did was its doing.
    expect(charts.rateByApplication).toBe(true);
  });

  it('wrk asked for 2,000 connections from 1,000 ports: the port range binds it, exactly, as the kernel shows', async () => {
    const { result, stored } = await run('wrk-port-range');
    expect(result.exitCode).toBe(0);
    expect(stored.verdict).toBe('pass');
    expect(stored.prediction.measured.clients[0]).toMatchObject({ connections: { min: 1000, max: 1000 }, limit: 'port-range' });
    const ports = await clientPorts('wrk-port-range');
    expect(ports).toBe(1000);
    expect(stored.clients[0]).toMatchObject({ observed: ports, bound: { limit: 'port-range', by: 'kernel' }, verdict: 'pass' });
    // Observed means observed: wrk counts its connect errors but names no errno, so none is recorded for it.
    expect(stored.clients[0]!.observedError).toBeNull();
    const kernel = stored.clients[0]!.kernel!;
    expect(kernel.peakInUse).toBe(ports);
    // wrk's own account, independent of portlab's: every connection it asked for (-c) that the kernel did not
    // establish failed in connect() ("Socket errors: connect N").
    const command = (await shippedScenario('wrk-port-range')).clients[0]!.command!;
    const asked = Number(/^-c(\d+)$/.exec(command.find((arg) => /^-c\d+$/.test(arg))!)?.[1]);
    const errors = Number(/Socket errors: connect (\d+)/.exec(stored.clients[0]?.applicationEnd?.lastLines.join('\n') ?? '')?.[1]);
    expect(errors).toBe(asked - kernel.peakEstablished);
    expect(errors).toBeGreaterThan(0);
    // nginx had room for all of them: no limit of its own bound.
    expect(stored.server.bound).toMatchObject({ by: 'kernel', limit: 'port-range' });
    expect(stored.server.observed).toBeLessThanOrEqual(1000);
    expect(stored.server.verdict).toBe('pass');
  });

  it('redis-benchmark without keep-alive runs out of ports through TIME_WAIT: the port range bound, from its exit and the kernel', async () => {
    const { result, stored } = await run('redis-benchmark-time-wait');
    expect(result.exitCode).toBe(0);
    expect(stored.verdict).toBe('pass');
    const ports = await clientPorts('redis-benchmark-time-wait');
    expect(ports).toBe(1000);
    const [bench] = stored.clients;
    // Its own account: it ended on connect()'s EADDRNOTAVAIL, in glibc's words, before the requests it was asked for.
    expect(bench!.applicationEnd).toMatchObject({ exitCode: 1 });
    expect(bench!.applicationEnd!.lastLines.join('\n')).toContain('Cannot assign requested address');
    // The kernel's: its ports in TIME-WAIT (it closed each connection first), up to the range and never past it.
    const kernel = bench!.kernel!;
    expect(kernel.peakStates['TIME-WAIT']).toBeGreaterThan(ports / 2);
    expect(kernel.peakInUse).toBeLessThanOrEqual(ports);
    // What portlab names: the port range, through TIME_WAIT, by the kernel; not the application's own count.
    expect(bench).toMatchObject({
      limit: 'port-range',
      observedError: 'EADDRNOTAVAIL',
      bound: { limit: 'port-range', by: 'kernel' },
      verdict: 'pass',
    });
    expect(bench!.bound!.evidence).toContain('Cannot assign requested address" (EADDRNOTAVAIL');
    expect(bench!.bound!.evidence).toContain('a TIME-WAIT is a connection it closed first');
  });

  it('memcached closes what it accepts past its -c, its queue never full: its own limit, whatever its descriptors', async () => {
    const { result, stored } = await run('memcached-maxconns');
    expect(result.exitCode).toBe(0);
    expect(stored.verdict).toBe('pass');
    const ports = await clientPorts('memcached-maxconns');
    // The probe client got every port: memcached accepted each connection before it closed it.
    expect(stored.clients[0]).toMatchObject({ observed: ports, limit: 'port-range', observedError: 'EADDRNOTAVAIL' });
    const command = (await shippedScenario('memcached-maxconns')).server.command!;
    const maxconns = Number(command[command.indexOf('-c') + 1]);
    expect(maxconns).toBe(100);
    const kernel = stored.server.kernel!;
    // memcached sets its own nofile from -c, and its descriptors reach it; yet its queue never filled: it took
    // every connection and closed the ones past its room (its side in FIN-WAIT-2), so the kernel's EMFILE never came.
    expect(kernel.app.nofile).toBe(maxconns);
    expect(kernel.peakAccepted).toBeLessThan(maxconns);
    // Its queue never filled: a look may catch a handshake waiting a moment while memcached is busy (seen once with
    // the host loaded), never the backlog + 1 that accept()'s EMFILE would leave there.
    expect(kernel.listeners.every((listener) => listener.peakQueue < listener.backlog)).toBe(true);
    expect((kernel.states.ESTABLISHED ?? 0) + (kernel.states['FIN-WAIT-2'] ?? 0)).toBe(ports);
    expect(stored.server.bound).toMatchObject({ limit: 'application', by: 'application' });
    expect(stored.server.bound?.evidence).toContain('with its accept queue never full (');
    expect(stored.server).toMatchObject({ verdict: 'pass', allowed: { min: 75, max: 76 } });
  });

  it('an application client that fails at once: an error naming it and what it printed, exit 3, nothing left', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'portlab-app-'));
    const file = path.join(dir, 'bad-wrk.yml');
    await writeFile(
      file,
      'server:\n  image: portlab.invalid/redis:7.0\n  command: ["--port", "6379", "--save", "", "--protected-mode", "no"]\n  ports: [6379]\nclients:\n  name: wrk\n  image: portlab.invalid/wrk:4.1\n  command: ["--no-such-option"]\n',
    );
    const { result, stored } = await run(file);
    expect(result.exitCode).toBe(3);
    expect(stored.verdict).toBe('error');
    expect(stored.clients[0]).toMatchObject({ verdict: 'error', observed: 0 });
    // wrk's own usage text, which it prints when it does not know an option, and how it ended.
    expect(stored.clients[0]?.why).toMatch(
      /^wrk-1 ended without one connection to the server \(exit code 1\); it printed: .*(unrecognized option|Usage: wrk)/,
    );
    expect(stored.clients[0]?.applicationEnd).toMatchObject({ image: 'portlab.invalid/wrk:4.1', exitCode: 1 });
  });

  it('a server application that exits at once: its exit code and last lines, exit 3, nothing left', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'portlab-app-'));
    const file = path.join(dir, 'nginx-exits.yml');
    await writeFile(file, 'server:\n  image: portlab.invalid/nginx:1.22\n  command: ["-c", "/no-such.conf"]\n  ports: [8080]\n');
    const { result, stored } = await run(file);
    expect(result.exitCode).toBe(3);
    expect(stored.verdict).toBe('error');
    // nginx's own words for a configuration file it cannot open.
    expect(stored.run.failure).toMatch(
      /^container server exited before it was ready \(its application portlab\.invalid\/nginx:1\.22 exited with code 1; its last lines: .*\[emerg\].*"\/no-such\.conf" failed/,
    );
  });

  it.each([
    [
      "portlab's own name, a build it has not made here",
      'portlab.invalid/nginx:0.0-not-built',
      /^portlab: image portlab\.invalid\/nginx:0\.0-not-built \(server\) is portlab's build of Debian's nginx and is not on this engine: make it with `portlab images build nginx` and run again \(it is never pulled\)$/m,
    ],
    [
      'a name in .invalid of any other registry',
      'registry.invalid/portlab-test/no-such-image:1',
      /^portlab: image registry\.invalid\/portlab-test\/no-such-image:1 \(server\) is not on this engine, and its registry \(\.invalid\) cannot exist, so it is never pulled: build or load it there/m,
    ],
  ])(
    'an image missing from the engine, %s: never pulled, one line saying what makes it, exit 3, nothing created',
    async (_, image, line) => {
      const dir = await mkdtemp(path.join(os.tmpdir(), 'portlab-app-'));
      const file = path.join(dir, 'no-image.yml');
      await writeFile(file, `server:\n  image: ${image}\n  ports: [8080]\nclients:\n  count: 2\n`);
      // The engine behind a proxy that logs every API call: a pull is POST /images/create.
      const proxy = await engineProxy();
      try {
        const result = await runCli([file], { env: { DOCKER_HOST: proxy.dockerHost } });
        // The proxy saw portlab look for the image (GET /images/<name>/json), and never ask for it.
        expect(proxy.requests.some((request) => /^GET \S*\/images\/.+\/json$/.test(request))).toBe(true);
        expect(proxy.requests.filter((request) => request.includes('/images/create'))).toEqual([]);
        expect(result.exitCode).toBe(3);
        expect(result.stderr).toMatch(line);
        expect(
          result.stderr
            .trim()
            .split('\n')
            .filter((each) => each.startsWith('portlab:')),
        ).toHaveLength(1);
        // Refused before anything of the run existed: no result, no compose file, no container.
        expect(await readdir(result.resultsDir)).toEqual([]);
        expect(await ownContainers('io.portlab.scenario=no-image')).toEqual([]);
      } finally {
        await proxy.cut();
      }
    },
  );

  it('a server that does not listen where the scenario says: one line saying where it does listen, exit 3', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'portlab-app-'));
    const file = path.join(dir, 'wrong-port.yml');
    const config = path.join(PROJECT_ROOT, 'scenarios', 'files', 'nginx-4096.conf');
    await writeFile(
      file,
      `server:\n  image: portlab.invalid/nginx:1.22\n  volumes: ["${config}:/etc/nginx/nginx.conf:ro"]\n  ports: [8080]\n`,
    );
    const { result, stored } = await run(file);
    expect(result.exitCode).toBe(3);
    expect(stored.run.failure).toMatch(
      /the application did not listen on every one of ports 8080 within 20 s \(it listens on: [0-9, ]*\b80\b/,
    );
  });
});
