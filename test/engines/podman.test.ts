import { execFileSync } from 'node:child_process';
import { mkdtemp, readFile, readdir, chmod, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../../orchestrator/common/project-root.ts';
import { DockerEngine } from '../../orchestrator/engine/docker/engine.ts';
import { PODMAN_ENDPOINT } from '../../orchestrator/engine/endpoint.ts';
import { RunResult } from '../../orchestrator/report/result-schema.ts';
import { runCli, runPortlab } from '../cli/run-cli.ts';
import { rootlessUser } from '../podman-answers.ts';
import { changeHostSetting } from '../../orchestrator/engine/host-settings.ts';
import { HOST_SETTINGS_ALLOWED, hostSettingsNote } from '../docker/host-settings.ts';

/**
 * The scenarios on Podman, through its Docker-compatible service as `portlab run --engine podman` reaches it: rootful
 * (root's /run/podman/podman.sock) and, where a user of its own is given, rootless (that user's service, portlab run
 * as that user). Each run's prediction is portlab's own and its verdict is judged against what the kernel held.
 */
const readResult = async (resultsDir: string) => {
  const [file] = (await readdir(resultsDir)).filter((name) => name.endsWith('.json'));
  return RunResult.parse(JSON.parse(await readFile(path.join(resultsDir, file!), 'utf8')));
};
const podman = DockerEngine.at(PODMAN_ENDPOINT);

describe('rootful Podman: --engine podman', () => {
  it("default-range: 28,232 per client, predicted and observed (aardvark-dns holds no port in the container's namespace)", async () => {
    const run = await runCli(['default-range', '--engine', 'podman']);
    expect(run.exitCode, run.stderr).toBe(0);
    const result = await readResult(run.resultsDir);
    expect(result.run.engine).toBe('podman');
    for (const client of result.clients) {
      expect([client.predicted, client.observed, client.verdict]).toEqual([{ min: 28232, max: 28232 }, 28232, 'pass']);
      expect(result.environment.containers[client.name]?.boundPorts).toEqual([]);
    }
    // Before anything was measured the model said why: no DNS listener inside the namespace.
    expect(result.prediction.before.clients[0]?.reasoning.join('\n')).toContain(
      "0 held by a DNS listener: the engine's DNS server listens outside the container's namespace",
    );
    // The report names the engine it ran on, and how to rerun its compose file there.
    const page = await readFile(
      path.join(
        run.resultsDir,
        (await readdir(run.resultsDir)).find((file) => file.endsWith('.html'))!,
      ),
      'utf8',
    );
    expect(page).toMatch(/<dt>engine<\/dt><dd>Podman 4\.\d+\.\d+ \(API /);
    expect(page).toContain(`DOCKER_HOST=${PODMAN_ENDPOINT.address()} docker-compose -p ${result.run.project}`);
    // The compose file names nproc beside nofile exactly where the engine needed it (measured by preflight).
    const compose = await readFile(
      path.join(
        run.resultsDir,
        (await readdir(run.resultsDir)).find((file) => file.endsWith('.compose.yml'))!,
      ),
      'utf8',
    );
    expect(compose.includes('nproc:')).toBe(Boolean(result.environment.engineNprocWithNofile));
  });

  it('shipped local scenarios, the probe alone and third-party software: the verdicts Docker gives, predicted here', async () => {
    // Debian's redis and haproxy built on Podman as `portlab images build --engine podman` builds them.
    const built = await runPortlab(['images', 'build', 'redis', 'haproxy', '--engine', 'podman']);
    expect(built.exitCode, built.stderr).toBe(0);
    const names = ['extra-listen-ports', 'nofile-limit', 'time-wait-exhaustion', 'dual-stack', 'redis-maxclients', 'haproxy-maxconn'];
    for (const name of names) {
      const run = await runCli([name, '--engine', 'podman']);
      const result = await readResult(run.resultsDir);
      expect([name, run.exitCode, result.verdict], run.stdout).toEqual([name, 0, 'pass']);
    }
  });

  it("a kept run on Podman: portlab ls lists it as Podman's, inspect --engine podman reads it, rm removes it, nothing left", async () => {
    const run = await runCli(['extra-listen-ports', '--engine', 'podman', '--keep']);
    expect(run.exitCode, run.stderr).toBe(0);
    const { run: meta } = await readResult(run.resultsDir);
    const ls = JSON.parse((await runPortlab(['ls', '--format', 'json'])).stdout) as { runs: Array<Record<string, unknown>> };
    expect(ls.runs.find((entry) => entry.id === meta.id)).toMatchObject({ engine: 'Podman', scenario: 'extra-listen-ports', kept: true });
    // portlab inspect reads the kept server on Podman as the run saw it: both ports' accepted connections.
    const inspected = await runPortlab(['inspect', `${meta.project}-server-1`, '--engine', 'podman', '--json']);
    expect(inspected.exitCode, inspected.stderr).toBe(0);
    const { headroom } = JSON.parse(inspected.stdout) as { headroom: { listeners: Array<{ port: number; accepted: number }> } };
    expect(headroom.listeners.reduce((sum, listener) => sum + listener.accepted, 0)).toBe(3000);
    const rm = await runPortlab(['rm', meta.id]);
    expect(rm.exitCode, rm.stderr).toBe(0);
    expect(await podman.containers.list({ 'io.portlab.run-id': meta.id })).toEqual([]);
  });

  it("bad input: a scenario placed on a swarm's nodes is refused before anything is made, one line naming the field, exit 2", async () => {
    const run = await runCli(['scenarios/swarm/lab-per-node.yml', '--engine', 'podman']);
    expect(run.exitCode).toBe(2);
    expect(run.stderr.trim().split('\n')).toHaveLength(1);
    expect(run.stderr).toMatch(/placement places containers on a swarm's nodes, and Podman has no swarm/);
    expect(await podman.containers.list({ 'io.portlab.scenario': 'lab-per-node' })).toEqual([]);
  });
});

const rootless = rootlessUser();

/** `npm run scenario -- <args>` as the rootless user, on that user's own Podman, with results in a fresh directory. */
async function runAsUser(user: string, args: string[]) {
  const uid = execFileSync('id', ['-u', user]).toString().trim();
  const home = execFileSync('getent', ['passwd', user]).toString().split(':')[5]!;
  const resultsDir = await mkdtemp(path.join(os.tmpdir(), 'portlab-rootless-'));
  await chmod(resultsDir, 0o777);
  const run = await execa(
    'runuser',
    [
      '-u',
      user,
      '--',
      'env',
      `HOME=${home}`,
      `XDG_RUNTIME_DIR=/run/user/${uid}`,
      `PORTLAB_RESULTS_DIR=${resultsDir}`,
      'INIT_CWD=',
      ...(process.env.PORTLAB_SESSION ? [`PORTLAB_SESSION=${process.env.PORTLAB_SESSION}`] : []),
      process.execPath,
      path.join(PROJECT_ROOT, 'dist', 'main.mjs'),
      ...args,
      '--engine',
      'podman',
    ],
    { reject: false, cwd: os.tmpdir() },
  );
  return { run, resultsDir };
}

describe.skipIf('notRun' in rootless)(`rootless Podman${'notRun' in rootless ? `: ${rootless.notRun}` : ''}`, () => {
  it('extra-listen-ports as the user, on its own Podman: the container-to-container limits as rootful', async () => {
    const { user } = rootless as { user: string };
    const { run, resultsDir } = await runAsUser(user, ['extra-listen-ports']);
    expect(run.exitCode, `${run.stdout}\n${run.stderr}`).toBe(0);
    const result = await readResult(resultsDir);
    expect(result.run.engine).toBe('podman');
    expect(result.clients.map((client) => [client.name, client.observed, client.verdict])).toEqual([
      ['two-ports-1', 2000, 'pass'],
      ['one-port-1', 1000, 'pass'],
    ]);
  });

  it.skipIf(!HOST_SETTINGS_ALLOWED)(
    `the host's own range binds the helper's sockets: 1,000 host ports, 1,000 connections, ENETUNREACH${hostSettingsNote('narrows net.ipv4.ip_local_port_range to 1,000 ports for a moment')}`,
    async () => {
      const { user } = rootless as { user: string };
      const dir = await mkdtemp(path.join(os.tmpdir(), 'portlab-host-range-'));
      await chmod(dir, 0o755);
      const file = path.join(dir, 'host-range.yml');
      await writeFile(
        file,
        'server: { network: host, ports: [29121], ulimits: { nofile: 10000 } }\nclients: { ulimits: { nofile: 10000 }, sysctls: { net.ipv4.ip_local_port_range: "1024 65535" } }\n',
      );
      await chmod(file, 0o644);
      // Journaled before it is made, restored here, and by the next portlab command should this process die first.
      const change = await changeHostSetting('net.ipv4.ip_local_port_range', '40000 40999');
      try {
        const { run, resultsDir } = await runAsUser(user, [file]);
        expect(run.exitCode, `${run.stdout}\n${run.stderr}`).toBe(0);
        const result = await readResult(resultsDir);
        expect(result.environment.host?.portRange).toEqual({ low: 40000, high: 40999 });
        expect(
          result.clients.map((client) => [client.observed, client.predicted, client.limit, client.observedError, client.verdict]),
        ).toEqual([[1000, { min: 1000, max: 1000 }, 'host-port-range', 'ENETUNREACH', 'pass']]);
      } finally {
        await change.restore();
      }
    },
  );
});
