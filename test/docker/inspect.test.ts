import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../../orchestrator/common/project-root.ts';
import { DockerEngine } from '../../orchestrator/engine/docker/engine.ts';
import { backendFor } from '../../orchestrator/cli/backends.ts';
import { inspectContainer, lookThroughEngine } from '../../orchestrator/engine/local/inspect-container.ts';
import type { NamespaceLook } from '../../orchestrator/predict/inspection-schema.ts';
import { runPortlab } from '../cli/run-cli.ts';
import { ASSUMED_ENVIRONMENT } from '../../orchestrator/predict/environment.ts';
import { predict } from '../../orchestrator/predict/predict.ts';
import { loadScenario } from '../../orchestrator/scenario/load-scenario.ts';
import { busiestProcessOf, eventually, probeDone, processesOf, runOnNetwork } from './docker-helpers.ts';

/**
 * `portlab inspect` on containers portlab did not start: a probe server and client and a redis, started by hand
 * with `docker run` as a user would, then inspected. The headroom must match what the kernel holds (read here from
 * the host's /proc, not through portlab), and the inspected containers must be as they were.
 */
const tag = randomBytes(3).toString('hex');
const names = {
  network: `insp-net-${tag}`,
  server: `insp-server-${tag}`,
  client: `insp-client-${tag}`,
  redis: `insp-redis-${tag}`,
  idle: `insp-idle-${tag}`,
  churner: `insp-churner-${tag}`,
  closer: `insp-closer-${tag}`,
  loopRedis: `insp-loop-redis-${tag}`,
  loopChurner: `insp-loop-churner-${tag}`,
};
const dockerCli = (...args: string[]) => execa('docker', args);
let image = '';

/** What must not change in an inspected container: its processes and its files. */
const stateOf = async (container: string) => ({
  processes: (await dockerCli('top', container, '-o', 'pid,args')).stdout,
  files: (await dockerCli('diff', container)).stdout,
});

const inspectJson = async (container: string) => {
  const result = await runPortlab(['inspect', container, '--json']);
  expect(result.exitCode, result.stderr).toBe(0);
  return JSON.parse(result.stdout);
};

beforeAll(async () => {
  await execa('bash', [path.join(PROJECT_ROOT, 'scripts', 'build-app-images.sh'), 'redis'], { stdio: 'inherit' });
  image = await backendFor('local', new DockerEngine()).buildProbe(new AbortController().signal, () => undefined);
  await dockerCli('network', 'create', names.network);
  await runOnNetwork(
    names.server,
    names.network,
    '--ulimit',
    'nofile=20000:20000',
    image,
    'server',
    '--ports',
    '5000',
    '--fd-budget',
    '19000',
  );
  await runOnNetwork(
    ...[names.client, names.network, '--sysctl', 'net.ipv4.ip_local_port_range=61000 61999', '--ulimit', 'nofile=20000:20000'],
    ...[image, 'client', '--server', names.server, '--ports', '5000', '--fd-budget', '19000'],
  );
  await runOnNetwork(names.redis, names.network, 'portlab.invalid/redis:7.0', '--port', '6379', '--save', '', '--protected-mode', 'no');
  await dockerCli('create', '--name', names.idle, '--network', names.network, image, 'limits');
  // The client has filled its range once its probe says so: a `done` line (EADDRNOTAVAIL).
  await probeDone(names.client, 'the client filling its range');
}, 15 * 60_000);

afterAll(async () => {
  await execa(
    'docker',
    ['rm', '-f', names.server, names.client, names.redis, names.idle, names.churner, names.closer, names.loopRedis, names.loopChurner],
    {
      reject: false,
    },
  );
  await execa('docker', ['network', 'rm', names.network], { reject: false });
});

describe("portlab inspect: the model pointed at running containers that are not portlab's", () => {
  it('a client that filled its range: 0 more connections to the server, the port range binds, as the kernel holds it', async () => {
    const before = await stateOf(names.client);
    const json = await inspectJson(names.client);
    const [destination] = json.headroom.destinations;
    expect(json.headroom.destinations).toHaveLength(1);
    expect(destination).toMatchObject({
      port: 5000,
      portsUsed: 1000,
      portsFree: 0,
      left: 0,
      limit: 'port-range',
      states: { ESTABLISHED: 1000 },
    });
    // Its descriptors, right to the unit, as the host's /proc counts them for its busiest process.
    const busiest = await busiestProcessOf(names.client);
    expect(json.headroom.descriptors).toMatchObject({ fds: busiest.fds, nofile: busiest.nofile, free: busiest.nofile - busiest.fds });
    // Read-only: the same processes and files after as before, and no inspecting container left behind.
    expect(await stateOf(names.client)).toEqual(before);
    expect((await dockerCli('ps', '-aq', '--filter', 'label=io.portlab.inspects')).stdout).toBe('');
    // What would lift it, as a scenario to try: the client as it is, predicted by portlab at what it holds now.
    expect(json.lifts.map((lift: { name: string }) => lift.name)).toEqual(['widest-range', 'two-server-ports', 'two-source-addresses']);
    const tryIt = await loadScenario(path.resolve(PROJECT_ROOT, json.scenarioFile));
    const [asIs] = predict(tryIt.scenario, ASSUMED_ENVIRONMENT).clients;
    expect([asIs?.group, asIs?.connections.max, asIs?.limit]).toEqual(['as-is', destination.portsUsed, 'port-range']);
    // And as a page, like a run's report: the destination, what binds it, what would lift it.
    const page = await readFile(path.resolve(PROJECT_ROOT, json.page), 'utf8');
    expect(page).toContain(`<h1>${names.client}</h1>`);
    expect(page).toMatch(/first to run out: [\d.]+:5000, port-range, 0 more/);
    expect(page).toContain(`portlab run ${json.scenarioFile}`);
    // A person's table says the same.
    const table = await runPortlab(['inspect', names.client]);
    expect(table.stdout).toMatch(/:5000\s+1,000 ESTABLISHED\s+1,000\s+0\s+0\s+port-range/);
  });

  it("the server: its listener's queue room and the descriptors accept() has left, right to the unit", async () => {
    const before = await stateOf(names.server);
    const json = await inspectJson(names.server);
    const listener = json.headroom.listeners.find((entry: { port: number }) => entry.port === 5000);
    // backlog 4096 (the probe's listen(), capped by somaxconn 4096): the queue holds one more than that.
    expect(listener).toMatchObject({ dockerDns: false, backlog: 4096, queued: 0, queueRoom: 4097, accepted: 1000 });
    const busiest = await busiestProcessOf(names.server);
    expect(listener.descriptorsFree).toBe(busiest.nofile - busiest.fds);
    // Docker's DNS listener is named as such, not taken for the application's.
    expect(json.headroom.listeners.filter((entry: { dockerDns: boolean }) => entry.dockerDns)).toHaveLength(1);
    expect(await stateOf(names.server)).toEqual(before);
  });

  it('a redis started by hand: its listener and its own nofile, as its process has them', async () => {
    await eventually(
      async () => ((await dockerCli('logs', names.redis)).stdout.includes('Ready to accept connections') ? true : undefined),
      30_000,
      'redis starting',
    );
    const json = await inspectJson(names.redis);
    expect(json.headroom.listeners.map((entry: { port: number }) => entry.port)).toContain(6379);
    const [redis] = await processesOf(names.redis);
    expect(json.headroom.descriptors).toMatchObject({ process: 'redis-server', fds: redis!.fds, nofile: redis!.nofile });
    expect(json.headroom.destinations).toEqual([]);
  });

  it('a client that closes first with tcp_tw_reuse 0: TIME-WAITs hold its range, and tcp_tw_reuse 1 is what lifts it', async () => {
    // 100 ports, churned as fast as it can to a server that closes its end on the client's FIN: its connect() fails
    // once every port is in TIME_WAIT (60 s each), and the probe then waits, so the namespace holds them while it is
    // inspected.
    await runOnNetwork(names.closer, names.network, image, 'server', '--ports', '5000', '--close', 'on-eof', '--fd-budget', '1000');
    await runOnNetwork(
      ...[names.churner, names.network, '--sysctl', 'net.ipv4.ip_local_port_range=61000 61099', '--sysctl', 'net.ipv4.tcp_tw_reuse=0'],
      ...[image, 'client', '--server', names.closer, '--ports', '5000', '--mode', 'churn', '--close', 'client'],
      ...['--duration-ms', '600000', '--fd-budget', '100'],
    );
    const done = await probeDone(names.churner, 'the churner running out of ports');
    expect(JSON.parse(done)).toMatchObject({ errno: 'EADDRNOTAVAIL', timeWait: 100 });
    const json = await inspectJson(names.churner);
    const [destination] = json.headroom.destinations;
    expect(destination).toMatchObject({ port: 5000, states: { 'TIME-WAIT': 100 }, portsUsed: 100, left: 0, limit: 'port-range' });
    expect(destination.timeWait).toMatchObject({ count: 100, runsOutAbovePerSecond: 1 });
    const reuse = json.lifts.find((lift: { name: string }) => lift.name === 'tw-reuse');
    expect(reuse).toMatchObject({ connections: 100, group: { mode: 'churn', sysctls: { 'net.ipv4.tcp_tw_reuse': '1' } } });
    // The file to try it: the container churning as it is runs out of its 100 ports; with tcp_tw_reuse 1 it does not.
    const tryIt = await loadScenario(path.resolve(PROJECT_ROOT, json.scenarioFile));
    const byGroup = Object.fromEntries(predict(tryIt.scenario, ASSUMED_ENVIRONMENT).clients.map((client) => [client.group, client]));
    expect(byGroup['as-is-churning']).toMatchObject({ limit: 'time-wait', connections: { min: 100 } });
    expect(byGroup['tw-reuse']).toMatchObject({ limit: 'none' });
  });

  it('a redis churned over 127.0.0.1 from inside its own namespace, tcp_tw_reuse 2: reuse after 1 s, no tcp_tw_reuse lift', async () => {
    // The default tcp_tw_reuse 2 reuses a TIME_WAIT to or from a loopback address (tcp_twsk_unique). A probe in the
    // redis container's network namespace churns to 127.0.0.1:6379 through 100 ports, faster than 100 a second, so
    // its connect() fails with every port in a TIME_WAIT younger than the reuse delay; then it waits, and the
    // namespace holds them while it is inspected.
    const range = ['--sysctl', 'net.ipv4.ip_local_port_range=61000 61099'];
    await runOnNetwork(names.loopRedis, names.network, ...range, 'portlab.invalid/redis:7.0', '--port', '6379', '--save', '');
    await eventually(
      async () => ((await dockerCli('logs', names.loopRedis)).stdout.includes('Ready to accept connections') ? true : undefined),
      30_000,
      'redis starting',
    );
    await dockerCli(
      ...['run', '-d', '--name', names.loopChurner, '--network', `container:${names.loopRedis}`, image, 'client'],
      ...['--server', '127.0.0.1', '--ports', '6379', '--mode', 'churn', '--close', 'client', '--duration-ms', '600000'],
      ...['--fd-budget', '100'],
    );
    const done = JSON.parse(await probeDone(names.loopChurner, 'the loopback churner running out of ports'));
    expect(done).toMatchObject({ errno: 'EADDRNOTAVAIL' });
    const json = await inspectJson(names.loopRedis);
    expect(json.namespace.sysctls['net.ipv4.tcp_tw_reuse']).toBe('2');
    const destination = json.headroom.destinations.find((entry: { address: string }) => entry.address === '127.0.0.1');
    expect(destination).toMatchObject({ port: 6379, timeWait: { reuseSeconds: 1 } });
    expect(destination.timeWait.count).toBeGreaterThan(0);
    expect(destination.timeWait.reuse).toContain('tcp_tw_reuse 2 to a loopback address (127.0.0.1)');
    // The TIME-WAITs are older than the delay by now: their ports are free for the next connect() to it.
    expect(destination.portsFree).toBe(100 - (destination.portsUsed - destination.timeWait.count));
    expect((json.lifts ?? []).map((lift: { name: string }) => lift.name)).not.toContain('tw-reuse');
  });

  it('from this machine or through the engine, the same look: no container made where portlab may enter from here', async () => {
    // Root, the engine on this machine: the probe enters the client's namespace as a host binary (inspect --pid's
    // way). Where it could not (a remote engine, no root), it runs in a container joined to the client's; both must
    // read the same namespace the same way. The client has filled its range and holds still.
    const engine = new DockerEngine();
    const found = (await engine.containers.find(names.client))!;
    const since = (await dockerCli('version', '-f', '{{.Server.Os}}').then(() => Math.floor(Date.now() / 1000))) - 1;
    const fromHere = await inspectContainer(
      engine,
      async () => image,
      names.client,
      () => undefined,
    );
    const throughEngine = await lookThroughEngine(engine, image, found);
    // The engine's own record of containers made since: the engine's way made one, this machine's way none.
    const created = await dockerCli(
      ...['events', '--since', String(since), '--until', String(Math.ceil(Date.now() / 1000) + 1)],
      ...['--filter', 'event=create', '--filter', `label=io.portlab.inspects=${found.id}`, '--format', '{{.Actor.Attributes.name}}'],
    );
    expect(created.stdout.trim().split('\n')).toHaveLength(1);
    const summary = (look: NamespaceLook) => ({
      range: look.portRange,
      sockets: look.destinations.map((entry) => [entry.address, entry.port, entry.states]),
      listeners: look.listeners.map((entry) => [entry.address, entry.port, entry.backlog, entry.queue]),
      descriptors: look.processes.map((entry) => [entry.fds, entry.nofile]).sort(),
    });
    expect(summary(fromHere.look)).toEqual(summary(throughEngine));
    expect(summary(fromHere.look).sockets).toEqual([[expect.any(String), 5000, { ESTABLISHED: 1000 }]]);
  });

  it('a container that is not running, or not there: one line, exit 2, nothing created', async () => {
    const idle = await runPortlab(['inspect', names.idle]);
    expect(idle.exitCode).toBe(2);
    expect(idle.stderr.trim()).toBe(`portlab: container ${names.idle} is created, not running: there is nothing of it to inspect`);
    const none = await runPortlab(['inspect', `no-such-${tag}`]);
    expect(none.exitCode).toBe(2);
    expect(none.stderr.trim()).toBe(`portlab: the Docker engine at /var/run/docker.sock has no container named no-such-${tag}`);
  });
});
