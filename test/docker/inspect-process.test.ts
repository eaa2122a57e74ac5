import { readFile } from 'node:fs/promises';
import { execa, type ResultPromise } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hostProbeBinary } from '../../orchestrator/engine/probe-image.ts';
import { runPortlab } from '../cli/run-cli.ts';
import { eventually } from './docker-helpers.ts';

/**
 * `portlab inspect --pid` and `--host`: the model pointed at processes no engine started. A probe server and client
 * run in a network namespace made with `unshare --net` (no Docker, no named namespace left behind: it goes with its
 * processes), the client's range narrowed there to 100 ports and filled over loopback; then portlab, with no engine
 * to talk to (DOCKER_HOST names a socket that is not there), inspects the client by its pid.
 */
const NO_ENGINE = { DOCKER_HOST: 'unix:///nonexistent/portlab-no-engine.sock' };
let namespace: ResultPromise | null = null;
const pids: Record<string, number> = {};
let output = '';

beforeAll(async () => {
  const probe = await hostProbeBinary(() => undefined);
  const script = [
    'ip link set lo up',
    'echo "61000 61099" > /proc/sys/net/ipv4/ip_local_port_range',
    `"${probe}" server --ports 5000 --fd-budget 1000 & echo "server=$!"`,
    `"${probe}" client --server 127.0.0.1 --ports 5000 --fd-budget 1000 & echo "client=$!"`,
    'wait',
  ].join('\n');
  namespace = execa('unshare', ['--net', '--', 'sh', '-c', script], { reject: false, buffer: false, detached: true });
  namespace.stdout!.on('data', (chunk: Buffer) => {
    output += chunk.toString();
    for (const [, role, pid] of output.matchAll(/^(server|client)=(\d+)$/gm)) pids[role!] = Number(pid);
    // The probe holds its connections in a worker process of its own: the one whose descriptors they are.
    for (const [, role, pid] of output.matchAll(/"event":"worker","role":"(server|client)","worker":0,"pid":(\d+)/g))
      pids[`${role}Worker`] = Number(pid);
  });
  // The client has filled its 100 ports once it says so: a `done` line (EADDRNOTAVAIL), and then it holds them.
  await eventually(async () => (output.includes('"event":"done"') ? true : undefined), 60_000, 'the client filling its range');
}, 5 * 60_000);

afterAll(async () => {
  if (namespace?.pid) process.kill(-namespace.pid, 'SIGKILL');
  await namespace?.catch(() => undefined);
});

describe('portlab inspect --pid and --host: any process, no engine', () => {
  it('a client in a namespace made by unshare: its destination and the listener beside it, as for a container', async () => {
    expect(JSON.parse(output.split('\n').find((line) => line.includes('"event":"done"'))!)).toMatchObject({ errno: 'EADDRNOTAVAIL' });
    const worker = pids.clientWorker!;
    const result = await runPortlab(['inspect', '--pid', String(worker), '--json'], { env: NO_ENGINE });
    expect(result.exitCode, result.stderr).toBe(0);
    const json = JSON.parse(result.stdout);
    const comm = (await readFile(`/proc/${worker}/comm`, 'utf8')).trim();
    expect(json.target).toEqual({ kind: 'process', id: String(worker), name: `${comm} (pid ${worker})` });
    expect(json.namespace.portRange).toEqual({ low: 61000, high: 61099 });
    expect(json.headroom.destinations).toEqual([
      expect.objectContaining({
        address: '127.0.0.1',
        port: 5000,
        states: { ESTABLISHED: 100 },
        portsUsed: 100,
        portsFree: 0,
        left: 0,
        limit: 'port-range',
      }),
    ]);
    expect(json.headroom.listeners).toEqual([expect.objectContaining({ port: 5000, sockets: 1, accepted: 100 })]);
    // Only the namespace's own processes, and the one asked about is whose descriptors count.
    const inNamespace = [namespace!.pid, pids.server, pids.client, pids.serverWorker, pids.clientWorker];
    expect(json.namespace.processes.map((entry: { pid: number }) => entry.pid).sort()).toEqual(inNamespace.sort());
    const fds = (await execa('ls', [`/proc/${worker}/fd`])).stdout.split('\n').length;
    expect(json.headroom.descriptors).toMatchObject({ process: comm, fds });
    // The table a person reads says the same.
    const table = await runPortlab(['inspect', '--pid', String(worker)], { env: NO_ENGINE });
    expect(table.stdout.split('\n')[0]).toBe(`${comm} (pid ${worker})`);
    expect(table.stdout).toMatch(/127\.0\.0\.1:5000\s+100 ESTABLISHED\s+100\s+0\s+0\s+port-range/);
  });

  it('--host: the namespace portlab runs in, its port range as the kernel has it', async () => {
    const result = await runPortlab(['inspect', '--host', '--json'], { env: NO_ENGINE });
    expect(result.exitCode, result.stderr).toBe(0);
    const json = JSON.parse(result.stdout);
    expect(json.target.kind).toBe('host');
    const [low, high] = (await readFile('/proc/sys/net/ipv4/ip_local_port_range', 'utf8')).trim().split(/\s+/).map(Number);
    expect(json.namespace.portRange).toEqual({ low, high });
    // The client's loopback connections are the other namespace's, not this one's.
    expect(
      json.headroom.destinations.filter((entry: { address: string; port: number }) => entry.port === 5000 && entry.address === '127.0.0.1'),
    ).toEqual([]);
  });

  it('bad input: a pid that is not there, not a pid, two targets: one line each, exit 2', async () => {
    const none = await runPortlab(['inspect', '--pid', '4194304'], { env: NO_ENGINE });
    expect([none.exitCode, none.stderr.trim()]).toEqual([2, 'portlab: there is no process 4194304 on this machine']);
    const word = await runPortlab(['inspect', '--pid', 'redis'], { env: NO_ENGINE });
    expect(word.exitCode).toBe(2);
    expect(word.stderr.split('\n')[0]).toBe(
      'portlab: --pid takes a process id (a whole number from 1 to 4194304, the kernel\'s most), found "redis"',
    );
    const both = await runPortlab(['inspect', 'some-container', '--host'], { env: NO_ENGINE });
    expect(both.exitCode).toBe(2);
    expect(both.stderr.split('\n')[0]).toBe('portlab: inspect takes one container (a name or id), or --pid PID, or --host');
  });

  it('without the rights: one line naming the right that is missing, exit 3', async () => {
    const asNobody = await execa(
      'setpriv',
      [
        '--reuid=65534',
        '--regid=65534',
        '--clear-groups',
        '--',
        process.execPath,
        'dist/portlab.mjs',
        'inspect',
        '--pid',
        String(pids.client),
      ],
      { reject: false, cwd: process.cwd(), env: { ...process.env, ...NO_ENGINE, PORTLAB_RESULTS_DIR: '/tmp' } },
    );
    expect(asNobody.exitCode).toBe(3);
    expect(String(asNobody.stderr).trim()).toBe(
      `portlab: inspecting process ${pids.client} enters its network namespace, which needs root (CAP_SYS_ADMIN, and CAP_SYS_PTRACE to count its descriptors): run it with sudo`,
    );
  });
});
