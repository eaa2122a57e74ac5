import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { backendFor } from '../orchestrator/cli/backends.ts';
import { formatTable } from '../orchestrator/cli/format-table.ts';
import { PROJECT_ROOT } from '../orchestrator/common/project-root.ts';
import { DockerEngine } from '../orchestrator/engine/docker/engine.ts';

/**
 * `npm run bench -- --inspect [CONNECTIONS]`: how long `portlab inspect` takes on a namespace of many sockets. A
 * probe server and a probe client share one container's network namespace (the client's container joins the
 * server's), the client connecting to 127.0.0.1 over the widest range until it holds CONNECTIONS / 2 connections
 * (50,000 unless said): both ends are sockets of that namespace. Then, timed from outside as a person would wait:
 * `portlab inspect <container> --json` (the command's wall, node's start and the probe container's included), and a
 * scrape of `portlab inspect --serve` (a look per scrape). Figures only; everything it started is removed.
 */
const PORTLAB = path.join(PROJECT_ROOT, 'dist', 'portlab.mjs');
const docker = (...args: string[]) => execa('docker', args);

const freePort = () =>
  new Promise<number>((resolve) => {
    const server = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });

/** Waits until the container's namespace holds `sockets` TCP sockets or more, as the kernel counts them (sockstat). */
async function waitForSockets(container: string, sockets: number): Promise<void> {
  const deadline = Date.now() + 10 * 60_000;
  for (;;) {
    const pid = (await docker('inspect', '-f', '{{.State.Pid}}', container)).stdout.trim();
    const { stdout } = await execa('cat', [`/proc/${pid}/net/sockstat`]);
    const inuse = Number(/^TCP: inuse (\d+)/m.exec(stdout)?.[1] ?? 0);
    if (inuse >= sockets) return;
    if (Date.now() > deadline) throw new Error(`the namespace reached ${inuse} sockets, not ${sockets}, in 10 minutes`);
    await new Promise((resolve) => setTimeout(resolve, 1000));
  }
}

export async function inspectSpeedBench(connectionsText: string | undefined): Promise<void> {
  const sockets = Number(connectionsText ?? 100_000);
  if (!Number.isInteger(sockets) || sockets < 2 || sockets > 120_000) throw new Error('--inspect takes a socket count from 2 to 120,000');
  const half = Math.floor(sockets / 2);
  const image = await backendFor('local', new DockerEngine()).buildProbe(new AbortController().signal, () => undefined);
  const tag = randomBytes(3).toString('hex');
  const server = `bench-inspect-${tag}`;
  const client = `bench-inspect-client-${tag}`;
  const results = await mkdtemp(path.join(os.tmpdir(), 'portlab-bench-inspect-'));
  const env = { ...process.env, INIT_CWD: '', PORTLAB_RESULTS_DIR: results };
  let serve: ReturnType<typeof execa> | null = null;
  try {
    const workers = String(Math.ceil(half / 15_000));
    await docker(
      ...['run', '-d', '--name', server, '--network', 'none', '--ulimit', 'nofile=20000:20000'],
      ...['--sysctl', 'net.ipv4.ip_local_port_range=1024 65535', image, 'server', '--ports', '5000'],
      ...['--processes', workers, '--fd-budget', String(half + 1000)],
    );
    await docker(
      ...['run', '-d', '--name', client, '--network', `container:${server}`, '--ulimit', 'nofile=20000:20000', image],
      ...['client', '--server', '127.0.0.1', '--ports', '5000', '--processes', workers, '--fd-budget', String(half)],
    );
    const filling = Date.now();
    await waitForSockets(server, 2 * half);
    const fillSeconds = (Date.now() - filling) / 1000;
    const rows: string[][] = [];
    for (let round = 1; round <= 3; round++) {
      const started = performance.now();
      const ran = await execa(process.execPath, [PORTLAB, 'inspect', server, '--json'], { env, reject: false });
      const seconds = (performance.now() - started) / 1000;
      if (ran.exitCode !== 0) throw new Error(`portlab inspect exited ${ran.exitCode}: ${String(ran.stderr).trim()}`);
      const json = JSON.parse(String(ran.stdout));
      const seen = json.headroom.destinations.reduce(
        (sum: number, entry: { states: Record<string, number> }) => sum + Object.values(entry.states).reduce((a, b) => a + b, 0),
        0,
      );
      rows.push([`portlab inspect --json (${round})`, seconds.toFixed(2), String(seen)]);
    }
    const port = await freePort();
    serve = execa(process.execPath, [PORTLAB, 'inspect', server, '--serve', `127.0.0.1:${port}`], { env, reject: false });
    for (let tries = 0; tries < 100; tries++) {
      if (
        await fetch(`http://127.0.0.1:${port}/`).then(
          () => true,
          () => false,
        )
      )
        break;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    for (let round = 1; round <= 3; round++) {
      const started = performance.now();
      const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
      const seconds = (performance.now() - started) / 1000;
      const inUse = /^portlab_destination_ports_in_use\{[^}]*\} (\d+)$/m.exec(text)?.[1] ?? '?';
      rows.push([`a scrape of --serve (${round})`, seconds.toFixed(2), inUse]);
    }
    process.stdout.write(
      `a namespace of ${sockets.toLocaleString('en-US')} TCP sockets (${half.toLocaleString('en-US')} loopback connections, filled in ${fillSeconds.toFixed(0)} s)\n`,
    );
    process.stdout.write(`${formatTable(['what', 'seconds', 'connections seen out'], rows)}\n`);
  } finally {
    serve?.kill('SIGTERM');
    await serve?.catch(() => undefined);
    await execa('docker', ['rm', '-f', client, server], { reject: false });
    await rm(results, { recursive: true, force: true });
  }
}
