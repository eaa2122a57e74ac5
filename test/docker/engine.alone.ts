import { mkdtemp, readFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { beforeAll, describe, expect, it } from 'vitest';
import { DockerEngine } from '../../orchestrator/engine/docker/engine.ts';
import { hostTables, measureEngine } from '../../orchestrator/engine/local/preflight.ts';
import { ensureProbeImage } from '../../orchestrator/engine/probe-image.ts';
import { CLI_COMMAND, runCli, runPortlab } from '../cli/run-cli.ts';
import {
  addressOf,
  conntrackStatesFrom,
  containersLabelled,
  docker,
  eventually,
  inspectHeadroom,
  networksLabelled,
  OWN,
  ownContainers,
  readResults,
} from './docker-helpers.ts';

const engine = new DockerEngine();

beforeAll(async () => {
  await engine.version();
  await ensureProbeImage(engine);
});

describe('engine preflight', () => {
  it('measures what nofile the engine grants, and whether it can grant more', async () => {
    const image = await ensureProbeImage(engine);
    const facts = await measureEngine(engine, image, 1_000_000, {
      prefix: 'portlab-test-preflight',
      labels: { 'io.portlab.managed': 'true', 'io.portlab.test': 'preflight' },
    });
    // Whatever this host grants, the measurement must be self-consistent and read from a real container.
    expect(facts.defaultNofile.soft).toBeGreaterThan(0);
    expect(facts.defaultNofile.hard).toBeGreaterThanOrEqual(facts.defaultNofile.soft);
    if (facts.nofileCeiling !== null) expect(facts.nofileCeiling).toBe(facts.defaultNofile.hard);
    expect(facts.conntrack?.max).toBe(Number(await readFile('/proc/sys/net/netfilter/nf_conntrack_max', 'utf8')));
    // Its own containers are gone (what else the engine holds is not this test's).
    expect(await containersLabelled('io.portlab.test=preflight')).toEqual([]);
  });

  it("reads the host's conntrack table with a probe in the host's network namespace", async () => {
    const image = await ensureProbeImage(engine);
    const { conntrack: table, host } = await hostTables(engine, image, {
      prefix: 'portlab-test-conntrack',
      labels: { 'io.portlab.managed': 'true', 'io.portlab.test': 'conntrack' },
    });
    // The kernel-wide limits beside it: fs.file-max as this process reads it, files and memory in use now.
    expect(host.files?.max).toBe(Number(await readFile('/proc/sys/fs/file-max', 'utf8')));
    expect(host.files?.allocated).toBeGreaterThan(0);
    expect(host.memoryAvailableKb).toBeGreaterThan(0);
    // The host's own table: its maximum as this process reads it (the count moves as entries come and go).
    expect(table?.max).toBe(Number(await readFile('/proc/sys/net/netfilter/nf_conntrack_max', 'utf8')));
    expect(table?.established).toBeGreaterThanOrEqual(0);
    expect(table?.established).toBeLessThanOrEqual(table?.inUse ?? -1);
    expect(await containersLabelled('io.portlab.test=conntrack')).toEqual([]);
  });
});

/** Starts the CLI on a scenario that takes tens of seconds and returns once its three containers exist. */
async function startSlowRun() {
  const resultsDir = await mkdtemp(path.join(os.tmpdir(), 'portlab-results-'));
  const cli = execa(CLI_COMMAND[0], [...CLI_COMMAND[1], 'test/fixtures/slow-hold.yml'], {
    reject: false,
    env: { PORTLAB_RESULTS_DIR: resultsDir },
  });
  // Running, not just created: by then preflight's own container (the conntrack reading) is gone.
  await eventually(
    async () =>
      (await docker.listContainers({ filters: { label: ['io.portlab.scenario=slow-hold', OWN], status: ['running'] } })).length === 3
        ? true
        : undefined,
    60_000,
    'the run to start',
  );
  return { cli, resultsDir };
}

describe('a run on the engine', () => {
  it('runs a small scenario to the predicted counts and removes everything it created', async () => {
    const result = await runCli(['test/fixtures/small-range.yml']);
    expect(result.stderr).not.toContain('internal error');
    expect(result.exitCode).toBe(0);
    const [run] = await readResults(result.resultsDir);
    expect(run?.verdict).toBe('pass');
    // Two server ports: each client's 1,000 local ports serve both destinations.
    expect(run?.clients.map((client) => [client.name, client.observed, client.observedError])).toEqual([
      ['client-1', run?.clients[0]?.predicted.max, 'EADDRNOTAVAIL'],
      ['client-2', run?.clients[1]?.predicted.max, 'EADDRNOTAVAIL'],
    ]);
    // Exact once measured: 1,000 ports less the DNS listener's where it sits inside 40000-40999, per destination.
    for (const client of run?.clients ?? []) {
      const inRange =
        run?.environment.containers[client.name]?.boundPorts.filter((port) => port >= 40000 && port <= 40999).length ?? Number.NaN;
      expect(client.predicted).toEqual({ min: 2 * (1000 - inRange), max: 2 * (1000 - inRange) });
    }
    expect(run?.server.observed).toBe((run?.clients[0]?.observed ?? 0) + (run?.clients[1]?.observed ?? 0));
    expect(run?.environment.containers['client-1']?.sysctlsApplied['net.ipv4.ip_local_port_range']).toBe('40000 40999');
    expect(await containersLabelled(`io.portlab.run-id=${run?.run.id}`)).toEqual([]);
    expect(await networksLabelled(`io.portlab.run-id=${run?.run.id}`)).toEqual([]);
  });

  it('a run whose containers cannot start ends as an error (exit 3) and leaves nothing behind', async () => {
    const result = await runCli(['test/fixtures/start-fails.yml']);
    expect(result.exitCode).toBe(3);
    const [run] = await readResults(result.resultsDir);
    expect(run?.verdict).toBe('error');
    expect(run?.run.failure).toMatch(/^starting container portlab-start-fails-\w+-client-1-1/);
    expect(result.stdout).toContain('start-fails: ERROR');
    expect(await ownContainers('io.portlab.scenario=start-fails')).toEqual([]);
    expect(await networksLabelled(`io.portlab.run-id=${run?.run.id}`)).toEqual([]);
  });

  it('Ctrl-C (SIGINT) stops the run, removes its containers and network, and exits 130', async () => {
    const { cli, resultsDir } = await startSlowRun();
    cli.kill('SIGINT');
    const ended = await cli;
    expect(ended.exitCode).toBe(130);
    expect(String(ended.stderr)).toContain('SIGINT: stopping the run and removing its containers');
    expect(await ownContainers('io.portlab.scenario=slow-hold')).toEqual([]);
    const [run] = await readResults(resultsDir);
    expect(run?.run.endReason).toBe('interrupted');
    expect(run?.verdict).toBe('aborted');
    expect(await networksLabelled(`io.portlab.run-id=${run?.run.id}`)).toEqual([]);
  });

  it('after a crash (SIGKILL), --cleanup finds the leftovers by label and removes them', async () => {
    const { cli } = await startSlowRun();
    cli.kill('SIGKILL');
    await cli;
    const left = await docker.listContainers({ all: true, filters: { label: ['io.portlab.scenario=slow-hold', OWN] } });
    expect(left).toHaveLength(3);
    const runId = left[0]?.Labels['io.portlab.run-id'];
    const cleanup = await runCli(['--cleanup']);
    expect(cleanup.exitCode).toBe(0);
    // Every orphan is removed, this run's among them, with what it was.
    expect(cleanup.stdout).toMatch(/^removed .*: their portlab process is gone/);
    expect(cleanup.stdout).toContain(`${runId} (3 containers, 1 network)`);
    expect(await containersLabelled(`io.portlab.run-id=${runId}`)).toEqual([]);
    expect(await networksLabelled(`io.portlab.run-id=${runId}`)).toEqual([]);
  });

  it('a run cut by its time limit is incomplete (exit 1), with how far each client got, and leaves nothing', async () => {
    const result = await runCli(['test/fixtures/cut-short.yml']);
    expect(result.exitCode).toBe(1);
    const [run] = await readResults(result.resultsDir);
    expect(run?.run.endReason).toBe('duration');
    expect(run?.verdict).toBe('incomplete');
    expect(run?.why[0]).toMatch(/^the run reached its time limit while clients were still going/);
    // The client's last lines (on SIGTERM) were read: every worker's final count is in (its stop time with it),
    // short of the range, stopped by the signal, not by a limit (a worker that used its share of descriptors and
    // handed over to the next is not a stop).
    const client = run?.clients[0];
    expect(client?.stoppedAfterMs).not.toBeNull();
    expect(client?.observed).toBeLessThan(client?.predicted.min ?? 0);
    expect(client?.observedError).toBeNull();
    expect(client?.workers.reduce((sum, worker) => sum + worker.count, 0)).toBe(client?.observed);
    expect(await containersLabelled(`io.portlab.run-id=${run?.run.id}`)).toEqual([]);
  });

  it('every run starts by removing what runs whose process is gone left behind, and says so in one line', async () => {
    const { cli } = await startSlowRun();
    cli.kill('SIGKILL');
    await cli;
    const orphans = await docker.listContainers({ all: true, filters: { label: ['io.portlab.scenario=slow-hold', OWN] } });
    expect(orphans).toHaveLength(3);
    const runId = orphans[0]?.Labels['io.portlab.run-id'];
    const next = await runCli(['test/fixtures/small-range.yml']);
    expect(next.exitCode).toBe(0);
    expect(next.stderr).toContain(
      `removed what earlier runs left behind (their portlab process is gone): ${runId} (3 containers, 1 network)`,
    );
    expect(await ownContainers('io.portlab.scenario=slow-hold')).toEqual([]);
  });

  it('--keep leaves the run up, each container holding what it held; portlab inspect reads it as the result says; portlab rm removes it', async () => {
    const result = await runCli(['test/fixtures/small-range.yml', '--keep']);
    expect(result.exitCode).toBe(0);
    const [run] = await readResults(result.resultsDir);
    const kept = await containersLabelled(`com.docker.compose.project=${run?.run.project}`);
    expect(kept.sort()).toEqual([`/${run?.run.project}-client-1-1`, `/${run?.run.project}-client-2-1`, `/${run?.run.project}-server-1`]);
    // Still running after portlab exited, each as the run left it: inspecting a client and the server gives back the
    // result's counts, every destination of the client used up (the port range, 0 left).
    const states = await Promise.all(kept.map(async (name) => (await docker.getContainer(name.slice(1)).inspect()).State.Status));
    expect(states).toEqual(['running', 'running', 'running']);
    const client = await inspectHeadroom(`${run?.run.project}-client-1-1`);
    const clientResult = run!.clients.find((entry) => entry.name === 'client-1')!;
    expect(client.destinations.map((destination: { port: number }) => destination.port).sort()).toEqual([5000, 5001]);
    expect(client.destinations.reduce((sum: number, destination: { portsUsed: number }) => sum + destination.portsUsed, 0)).toBe(
      clientResult.observed,
    );
    expect(client.destinations.map((destination: { left: number; limit: string }) => [destination.left, destination.limit])).toEqual([
      [0, 'port-range'],
      [0, 'port-range'],
    ]);
    const server = await inspectHeadroom(`${run?.run.project}-server-1`);
    const accepted = server.listeners
      .filter((listener: { dockerDns: boolean }) => !listener.dockerDns)
      .reduce((sum: number, listener: { accepted: number }) => sum + listener.accepted, 0);
    expect(accepted).toBe(run!.server.observed);
    // portlab ls lists it (its owner, the run's process, is gone; it was kept); portlab rm <id> removes it.
    const ls = await runPortlab(['ls', '--format', 'json']);
    expect(ls.exitCode).toBe(0);
    const { runs } = JSON.parse(ls.stdout) as { runs: Array<Record<string, unknown>> };
    expect(runs.find((each) => each.id === run?.run.id)).toMatchObject({
      scenario: 'small-range',
      owner: 'gone',
      kept: true,
      byHand: false,
      containers: 3,
      networks: 1,
    });
    // Still held, as the host's conntrack table counts them: one ESTABLISHED entry per connection of the client's.
    const clientAddress = await addressOf(`${run?.run.project}-client-1-1`);
    expect((await conntrackStatesFrom(clientAddress)).ESTABLISHED).toBe(clientResult.observed);
    const rm = await runPortlab(['rm', run!.run.id]);
    expect([rm.exitCode, rm.stdout.trim()]).toEqual([0, `removed ${run?.run.id} (3 containers, 1 network)`]);
    expect(await containersLabelled(`io.portlab.run-id=${run?.run.id}`)).toEqual([]);
    expect(JSON.parse((await runPortlab(['ls', '--format', 'json'])).stdout).runs).toEqual([]);
  });
});
