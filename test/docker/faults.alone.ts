import { mkdtemp, readdir, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { CLI_COMMAND, runCli } from '../cli/run-cli.ts';
import { engineProxy } from './engine-proxy.ts';
import { docker, eventually, networksLabelled, OWN, ownContainers, readResults } from './docker-helpers.ts';

/** Starts the CLI on `args` with results in a fresh directory. */
async function startCli(args: string[], env: Record<string, string> = {}) {
  const resultsDir = await mkdtemp(path.join(os.tmpdir(), 'portlab-results-'));
  const cli = execa(CLI_COMMAND[0], [...CLI_COMMAND[1], ...args], {
    reject: false,
    env: { PORTLAB_RESULTS_DIR: resultsDir, INIT_CWD: '', ...env },
  });
  return { cli, resultsDir };
}

const containersOf = (scenario: string) => ownContainers(`io.portlab.scenario=${scenario}`);
const runningOf = async (scenario: string) =>
  (await docker.listContainers({ filters: { label: [`io.portlab.scenario=${scenario}`, OWN], status: ['running'] } })).length;

describe('faults on the real engine', () => {
  it('a probe container killed mid-run: verdict error (not pass), exit 3, nothing left', async () => {
    const { cli, resultsDir } = await startCli(['test/fixtures/slow-hold.yml']);
    const client = await eventually(
      async () =>
        (await docker.listContainers({ filters: { label: ['io.portlab.scenario=slow-hold', 'io.portlab.role=client', OWN] } }))[0],
      60_000,
      'a client to run',
    );
    await docker.getContainer(client.Id).kill();
    const ended = await cli;
    expect(ended.exitCode).toBe(3);
    const [run] = await readResults(resultsDir);
    expect(run?.verdict).toBe('error');
    expect(run?.run.failure).toMatch(/exited while the run was going on/);
    expect(await containersOf('slow-hold')).toEqual([]);
    expect(await networksLabelled(`io.portlab.run-id=${run?.run.id}`)).toEqual([]);
  });

  it('two runs of one scenario at once, and a --cleanup while they go on: both pass, nothing of theirs is touched, nothing left', async () => {
    const resultsDir = await mkdtemp(path.join(os.tmpdir(), 'portlab-results-'));
    const first = execa(CLI_COMMAND[0], [...CLI_COMMAND[1], 'test/fixtures/medium-range.yml'], {
      reject: false,
      env: { PORTLAB_RESULTS_DIR: resultsDir, INIT_CWD: '' },
    });
    const second = execa(CLI_COMMAND[0], [...CLI_COMMAND[1], 'test/fixtures/medium-range.yml'], {
      reject: false,
      env: { PORTLAB_RESULTS_DIR: resultsDir, INIT_CWD: '' },
    });
    await eventually(async () => ((await containersOf('medium-range')).length === 6 ? true : undefined), 60_000, 'both runs to start');
    const cleanup = await runCli(['--cleanup']);
    expect(cleanup.exitCode).toBe(0);
    expect(cleanup.stdout).toMatch(
      /^nothing to clean up\nleft alone: [0-9a-f]{6} \(3 containers, 1 network\), [0-9a-f]{6} \(3 containers, 1 network\), still running/,
    );
    const [a, b] = await Promise.all([first, second]);
    expect([a.exitCode, b.exitCode]).toEqual([0, 0]);
    const results = await readResults(resultsDir);
    expect(results.map((result) => result.verdict)).toEqual(['pass', 'pass']);
    // Same scenario, same second or not: every file has its run's id in its name.
    const files = (await readdir(resultsDir)).sort();
    expect(files).toHaveLength(6);
    for (const result of results) expect(files.filter((file) => file.includes(result.run.id))).toHaveLength(3);
    expect(await containersOf('medium-range')).toEqual([]);
  });

  it('the engine goes away mid-run: exit 3, the result is written as error, --cleanup removes the leftovers once it is back', async () => {
    const proxy = await engineProxy();
    const { cli, resultsDir } = await startCli(['test/fixtures/slow-hold.yml'], { DOCKER_HOST: proxy.dockerHost });
    await eventually(async () => ((await runningOf('slow-hold')) === 3 ? true : undefined), 60_000, "the run's three containers to run");
    await proxy.cut();
    // It notices by its next engine call or ping (every 5 s), each with a deadline; a hang would be the test's timeout.
    const ended = await cli;
    expect(ended.exitCode).toBe(3);
    const [run] = await readResults(resultsDir);
    expect(run?.verdict).toBe('error');
    expect(run?.run.failure).toMatch(/^lost the Docker engine at unix:\/\/.*: /);
    expect(run?.run.cleanupErrors.length).toBeGreaterThan(0);
    // Its containers are still there (the engine was unreachable); its process is gone, so --cleanup takes them.
    expect(await containersOf('slow-hold')).toHaveLength(3);
    const cleanup = await runCli(['--cleanup']);
    expect(cleanup.stdout).toContain(`removed ${run?.run.id} (3 containers, 1 network)`);
    expect(await containersOf('slow-hold')).toEqual([]);
    expect(await networksLabelled(`io.portlab.run-id=${run?.run.id}`)).toEqual([]);
  });

  it('a hung daemon (answers nothing): one line, exit 3, within the engine timeout', async () => {
    const proxy = await engineProxy({ blackHole: true });
    const result = await runCli(['test/fixtures/small-range.yml'], {
      env: { DOCKER_HOST: proxy.dockerHost, PORTLAB_ENGINE_TIMEOUT_MS: '2000' },
    });
    await proxy.cut();
    // The message says the deadline it gave up at (PORTLAB_ENGINE_TIMEOUT_MS), not how long the machine took.
    expect(result.exitCode).toBe(3);
    expect(result.stderr.trim()).toMatch(
      /^portlab: the Docker engine at unix:\/\/\S+ did not answer a version request within 2 s \(is dockerd hung\?\)$/,
    );
  });

  it('an unwritable results directory: one line naming it, exit 3, before anything is created', async () => {
    const parent = await mkdtemp(path.join(os.tmpdir(), 'portlab-results-'));
    await writeFile(path.join(parent, 'a-file'), '');
    const resultsDir = path.join(parent, 'a-file', 'results');
    const result = await runCli(['test/fixtures/small-range.yml'], { resultsDir });
    expect(result.exitCode).toBe(3);
    // (A line before it may say what earlier runs left behind and was removed.)
    expect(result.stderr.trim().split('\n').at(-1)).toBe(
      `portlab: cannot write results to ${resultsDir} (ENOTDIR); set PORTLAB_RESULTS_DIR to a directory you can write`,
    );
    expect(await containersOf('small-range')).toEqual([]);
    expect(await readdir(parent)).toEqual(['a-file']);
  });

  it("a second Ctrl-C kills the run's containers at once and exits 130", async () => {
    const { cli } = await startCli(['test/fixtures/slow-hold.yml']);
    await eventually(async () => ((await containersOf('slow-hold')).length === 3 ? true : undefined), 60_000, 'the run to start');
    cli.kill('SIGINT');
    await new Promise((resolve) => setTimeout(resolve, 100));
    cli.kill('SIGINT');
    const ended = await cli;
    expect(ended.exitCode).toBe(130);
    expect(String(ended.stderr)).toContain("SIGINT again: killing the run's containers now and exiting");
    expect(await containersOf('slow-hold')).toEqual([]);
  });
});
