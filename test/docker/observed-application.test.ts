import { randomBytes } from 'node:crypto';
import { stat } from 'node:fs/promises';
import path from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../../orchestrator/common/project-root.ts';
import { backendFor } from '../../orchestrator/cli/backends.ts';
import { DockerEngine } from '../../orchestrator/engine/docker/engine.ts';
import { ensureObserverBinary, SWARM_CONFIG_MAX_BYTES } from '../../orchestrator/engine/probe-image.ts';
import { ContainerLog } from '../../orchestrator/observe/observation.ts';
import { parseProbeLine } from '../../orchestrator/observe/probe-events.ts';
import { SHIPPED_EXPECTATIONS } from '../shipped-expectations.ts';
import { eventually, inspectHeadroom, probeDone, runOnNetwork } from './docker-helpers.ts';

/**
 * The observer that starts the application itself (`observe ... -- COMMAND`), built against musl to travel as a swarm
 * config: here it is mounted read-only into Debian's nginx (its own image, unchanged), as a config is on a swarm
 * node, with nginx-worker-connections' settings, and what it reports must be what the two-container observer gives
 * on the local engine (the shipped count) and what `portlab inspect` reads of the same container from outside.
 */
const tag = randomBytes(3).toString('hex');
const names = { network: `obsapp-net-${tag}`, server: `obsapp-server-${tag}`, client: `obsapp-client-${tag}` };
const dockerCli = (...args: string[]) => execa('docker', args);
const NGINX = 'portlab.invalid/nginx:1.22';
let observer = '';

const linesOf = async (container: string) => {
  const { stdout, stderr } = await dockerCli('logs', container);
  return [...stdout.split('\n'), ...stderr.split('\n')].filter((line) => line.trim() !== '');
};

beforeAll(async () => {
  await execa('bash', [path.join(PROJECT_ROOT, 'scripts', 'build-app-images.sh'), 'nginx'], { stdio: 'inherit' });
  const probe = await backendFor('local', new DockerEngine()).buildProbe(new AbortController().signal, () => undefined);
  observer = await ensureObserverBinary();
  // The image's own entrypoint and command, as portlab reads them to start them under the observer.
  const config = JSON.parse((await dockerCli('image', 'inspect', NGINX, '--format', '{{json .Config}}')).stdout) as {
    Entrypoint: string[] | null;
    Cmd: string[] | null;
  };
  const command = [...(config.Entrypoint ?? []), ...(config.Cmd ?? [])];
  await dockerCli('network', 'create', names.network);
  await runOnNetwork(
    ...[names.server, names.network, '--ulimit', 'nofile=20000:20000'],
    ...[
      '-v',
      `${observer}:/portlab-observer:ro`,
      '-v',
      `${path.join(PROJECT_ROOT, 'scenarios/files/nginx-512.conf')}:/etc/nginx/nginx.conf:ro`,
    ],
    ...['--entrypoint', '/portlab-observer', NGINX, 'observe', '--role', 'server', '--ports', '80', '--'],
    ...command,
  );
  await runOnNetwork(
    ...[names.client, names.network, '--ulimit', 'nofile=20000:20000'],
    ...['--sysctl', 'net.ipv4.ip_local_port_range=10000 11999', probe, 'client', '--server', names.server, '--ports', '80'],
    ...['--connect-timeout-ms', '2000', '--fd-budget', '19000'],
  );
  await probeDone(names.client, 'the client filling its range', 120_000);
  // The observer looks every 250 ms: two more looks, and one of them came after the client's last connection.
  const looks = async () => (await linesOf(names.server)).filter((line) => line.includes('"event":"observe"')).length;
  const seen = await looks();
  await eventually(async () => ((await looks()) >= seen + 2 ? true : undefined), 30_000, "the observer's next looks");
}, 15 * 60_000);

afterAll(async () => {
  await execa('docker', ['rm', '-f', names.server, names.client], { reject: false });
  await execa('docker', ['network', 'rm', names.network], { reject: false });
});

describe('the observer that starts the application itself: one container, as a swarm task is', () => {
  it('is small enough to travel as a swarm config', async () => {
    expect((await stat(observer)).size).toBeLessThanOrEqual(SWARM_CONFIG_MAX_BYTES);
  });

  it("reports nginx's accepted connections as the local engine's observer does, and what inspect reads from outside", async () => {
    const lines = await linesOf(names.server);
    const log = new ContainerLog('server');
    for (const line of lines) log.addLine(line);
    const observed = log.snapshot();
    // What the two-container observer gives nginx-worker-connections' server on the local engine: every connection
    // the client made is a socket on port 80 (the shipped server count), nginx holding fewer than its 512 at once.
    expect(observed.kernel?.peakInUse).toBe(SHIPPED_EXPECTATIONS['nginx-worker-connections']!.server);
    expect(observed.kernel?.peakAccepted).toBeLessThan(512);
    expect(observed.kernel?.listeners).toEqual([{ port: 80, backlog: 511, peakQueue: expect.any(Number) }]);
    expect(observed.fatal).toEqual([]);
    // nginx's own output (its worker_connections complaint) comes through beside the observer's lines.
    expect(lines.some((line) => line.includes('worker_connections are not enough'))).toBe(true);
    // Its last look and portlab inspect's agree on the listener and on nginx's descriptors.
    const last = lines
      .map(parseProbeLine)
      .flatMap((parsed) => (parsed.ok && parsed.event.event === 'observe' ? [parsed.event] : []))
      .at(-1)!;
    const room = await inspectHeadroom(names.server);
    const listener = room.listeners.find((entry) => entry.port === 80)!;
    expect([listener.backlog, listener.queued]).toEqual([last.listeners[0]!.backlog, last.listeners[0]!.queue]);
    const nginx = last.processes.reduce((most, process) => (process.fds > most.fds ? process : most));
    expect(room.descriptors).toMatchObject({ fds: nginx.fds, nofile: nginx.nofile });
  });

  it('passes the stop on to the application, and says how it ended', async () => {
    await dockerCli('stop', names.server);
    const ends = (await linesOf(names.server)).map(parseProbeLine).flatMap((parsed) => (parsed.ok ? [parsed.event] : []));
    expect(ends.find((event) => event.event === 'exit')).toMatchObject({ role: 'server', code: 0, signal: null });
    expect(ends.at(-1)).toMatchObject({ event: 'done', reason: 'signal' });
    const { stdout } = await dockerCli('inspect', names.server, '--format', '{{.State.ExitCode}}');
    expect(stdout).toBe('0');
  });
});
