import { mkdtemp, readFile, readdir } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import Docker from 'dockerode';
import { execa } from 'execa';
import { expect } from 'vitest';
import { RunResult } from '../../orchestrator/report/result-schema.ts';
import { PROJECT_ROOT } from '../../orchestrator/common/project-root.ts';
import { runPortlab, SWEEP_COMMAND } from '../cli/run-cli.ts';
import { Inspection, type Headroom } from '../../orchestrator/predict/inspection-schema.ts';
import { expectedRange, SHIPPED_EXPECTATIONS } from '../shipped-expectations.ts';

/** A second, independent view of the engine for assertions: what really exists, not what portlab believes. */
export const docker = new Docker();

export async function containersLabelled(label: string): Promise<string[]> {
  const found = await docker.listContainers({ all: true, filters: { label: [label] } });
  return found.map((container) => container.Names[0] ?? container.Id);
}

/** The label of this suite's session (test/global-setup.ts): what carries it is the suite's own, nothing else. */
export const OWN = `io.portlab.session=${process.env.PORTLAB_SESSION}`;

/** The containers of this suite's runs that carry `label` (a person's own runs of the same scenario are not looked at). */
export async function ownContainers(label: string): Promise<string[]> {
  const found = await docker.listContainers({ all: true, filters: { label: [label, OWN] } });
  return found.map((container) => container.Names[0] ?? container.Id);
}

export async function networksLabelled(label: string): Promise<string[]> {
  const found = await docker.listNetworks({ filters: { label: [label] } });
  return found.map((network) => network.Name);
}

/** The results JSON files a run wrote, parsed with the published schema. */
export async function readResults(resultsDir: string): Promise<RunResult[]> {
  const files = (await readdir(resultsDir)).filter((file) => file.endsWith('.json')).sort();
  return Promise.all(files.map(async (file) => RunResult.parse(JSON.parse(await readFile(path.join(resultsDir, file), 'utf8')))));
}

/** The one HTML report a run wrote into `resultsDir`. */
export async function reportIn(resultsDir: string): Promise<string> {
  const pages = (await readdir(resultsDir)).filter((file) => file.endsWith('.html'));
  if (pages.length !== 1) throw new Error(`expected one report in ${resultsDir}, found ${pages.join(', ') || 'none'}`);
  return path.join(resultsDir, pages[0]!);
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls `check` until it returns a value or `timeoutMs` passes. */
export async function eventually<T>(check: () => Promise<T | undefined>, timeoutMs: number, what: string): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(250);
  }
}

/** A run of a shipped scenario came out as the README's table says: every count, limit and error, and a pass. */
export function expectAsShipped(name: string, run: RunResult | undefined): void {
  const expected = SHIPPED_EXPECTATIONS[name]!;
  // A paced churn makes its schedule's connections less those its probe reports it fell behind, as portlab's own
  // prediction counts them (docs/model.md, "Paced churn"): a busy machine is no failure of the model.
  const behind = (run?.clients ?? []).map((client) => client.paceBehind ?? 0);
  for (const [index, [container, count, limit, error]] of expected.clients.entries()) {
    const client = run?.clients[index];
    const range = expectedRange(count);
    expect([client?.name, client?.limit, client?.observedError]).toEqual([container, limit, error]);
    expect(client?.observed).toBeGreaterThanOrEqual(range.min - behind[index]!);
    if (range.max !== null) expect(client?.observed).toBeLessThanOrEqual(range.max);
  }
  const server = expectedRange(expected.server);
  expect(run?.server.observed).toBeGreaterThanOrEqual(server.min - behind.reduce((sum, each) => sum + each, 0));
  if (server.max !== null) expect(run?.server.observed).toBeLessThanOrEqual(server.max);
  expect(run?.verdict).toBe('pass');
}

/** `npm run sweep -- <args>` as a real process, results into a fresh directory; returns the process. */
export async function startSweep(args: string[]) {
  const resultsDir = await mkdtemp(path.join(os.tmpdir(), 'portlab-sweeps-'));
  const cli = execa(SWEEP_COMMAND[0], [...SWEEP_COMMAND[1], ...args], {
    reject: false,
    cwd: PROJECT_ROOT,
    env: { PORTLAB_RESULTS_DIR: resultsDir, INIT_CWD: '' },
  });
  return { cli, resultsDir };
}

/** The one folder a sweep wrote into `resultsDir`. */
export async function sweepDir(resultsDir: string): Promise<string> {
  const [dir] = await readdir(resultsDir);
  return path.join(resultsDir, dir ?? '');
}

/** The host's view of a container's processes: each one's descriptors and soft nofile, from /proc (not portlab's). */
export async function processesOf(container: string): Promise<Array<{ pid: number; fds: number; nofile: number }>> {
  const top = await execa('docker', ['top', container, '-o', 'pid']);
  const pids = top.stdout
    .split('\n')
    .slice(1)
    .map(Number)
    .filter((pid) => pid > 0);
  return Promise.all(
    pids.map(async (pid) => ({
      pid,
      fds: (await readdir(`/proc/${pid}/fd`)).length,
      nofile: Number(/^Max open files\s+(\d+)/m.exec(await readFile(`/proc/${pid}/limits`, 'utf8'))?.[1]),
    })),
  );
}

/** Of a container's processes, the one holding the most descriptors, as the host's /proc counts them. */
export const busiestProcessOf = async (container: string) =>
  (await processesOf(container)).reduce((most, process) => (process.fds > most.fds ? process : most));

/** `portlab inspect <container> --json` as a person runs it: exit 0, and the headroom it printed, as its schema says. */
export async function inspectHeadroom(container: string): Promise<Headroom> {
  const shown = await runPortlab(['inspect', container, '--json']);
  expect(shown.exitCode, shown.stderr).toBe(0);
  return Inspection.parse(JSON.parse(shown.stdout)).headroom;
}

/**
 * The host's conntrack entries of connections a container opened (its address as the original source), counted by
 * TCP state, as /proc/net/nf_conntrack lists them (the host's table: bridged container traffic is tracked there).
 */
export async function conntrackStatesFrom(address: string): Promise<Record<string, number>> {
  const states: Record<string, number> = {};
  for (const line of (await readFile('/proc/net/nf_conntrack', 'utf8')).split('\n')) {
    const match = / tcp +\d+ \d+ (\S+) src=(\S+) /.exec(line);
    if (match?.[2] === address) states[match[1]!] = (states[match[1]!] ?? 0) + 1;
  }
  return states;
}

/** A container's address on its (one) network. */
export async function addressOf(container: string): Promise<string> {
  const networks = (await docker.getContainer(container).inspect()).NetworkSettings.Networks;
  return Object.values(networks)[0]!.IPAddress;
}

/** A container started by hand on a network, as a user would: `docker run -d --name NAME --network NETWORK ARGS...`. */
export const runOnNetwork = (name: string, network: string, ...args: string[]) =>
  execa('docker', ['run', '-d', '--name', name, '--network', network, ...args]);

/** Waits for a probe started by hand to print its `done` line (a client that stopped: its range filled, say); returns it. */
export const probeDone = (container: string, what: string, timeoutMs = 60_000) =>
  eventually(
    async () => (await execa('docker', ['logs', container])).stdout.split('\n').find((line) => line.includes('"event":"done"')),
    timeoutMs,
    what,
  );
