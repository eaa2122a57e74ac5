import { mkdtemp, readdir, readFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { DockerEngine } from '../../orchestrator/engine/docker/engine.ts';
import { engineSysctls, SysctlNameCache } from '../../orchestrator/engine/netns-sysctls.ts';
import { ensureProbeImage } from '../../orchestrator/engine/probe-image.ts';
import { currentOwner, runLabels } from '../../orchestrator/engine/run-owner.ts';
import { PROJECT_ROOT } from '../../orchestrator/common/project-root.ts';
import shipped from '../../orchestrator/scenario/netns-sysctls.json' with { type: 'json' };
import { unknownSysctls } from '../../orchestrator/scenario/sysctl-names.ts';
import { runCli, SWEEP_COMMAND } from '../cli/run-cli.ts';
import { ownContainers } from './docker-helpers.ts';

/** One line on stderr, exit 2, and nothing in Docker or in the results directory. */
async function expectRefused(result: { exitCode: number | undefined; stderr: string; resultsDir: string }, scenario: string) {
  expect(result.exitCode).toBe(2);
  expect(result.stderr.trim().split('\n')).toHaveLength(1);
  expect(result.stderr).not.toMatch(/internal error|\n\s+at /);
  expect(await ownContainers(`io.portlab.scenario=${scenario}`)).toEqual([]);
  expect(await readdir(result.resultsDir)).toEqual([]);
}

describe('the sysctls of a new network namespace on this engine', () => {
  it("are what the probe lists there, remembered per engine; the shipped list is this kernel's when the kernels match", async () => {
    const engine = new DockerEngine();
    const image = await ensureProbeImage(engine);
    const cache = new SysctlNameCache(path.join(await mkdtemp(path.join(os.tmpdir(), 'portlab-sysctls-')), 'names.json'));
    const naming = { prefix: 'portlab-sysctl-names-test', labels: runLabels({ runId: 'sysctls', owner: currentOwner() }) };
    const measured = await engineSysctls(engine, image, naming, cache);
    expect(measured.names.has('net.ipv4.ip_local_port_range')).toBe(true);
    expect(measured.names.has('net.ipv4.tcp_tw_reuse')).toBe(true);
    expect([...(await cache.get(await engine.identity()))!].sort()).toEqual([...measured.names].sort());
    // Every sysctl a shipped scenario or sweep sets is one this kernel has.
    for (const dir of ['scenarios', 'scenarios/swarm', 'sweeps']) {
      for (const file of (await readdir(path.join(PROJECT_ROOT, dir))).filter((name) => name.endsWith('.yml'))) {
        expect(unknownSysctls(await readFile(path.join(PROJECT_ROOT, dir, file), 'utf8'), file, measured)).toEqual([]);
      }
    }
    if ((await engine.version()).kernelVersion === shipped.kernel) expect([...measured.names].sort()).toEqual(shipped.names);
  });
});

describe("sysctl names checked against the engine's kernel before anything runs", () => {
  it("a misspelt sysctl in a run: one line with file:line, the nearest name this engine's namespaces have, exit 2", async () => {
    const result = await runCli(['test/fixtures/bad/misspelt-sysctl.yml']);
    expect(result.stderr.trim()).toMatch(
      /^test\/fixtures\/bad\/misspelt-sysctl\.yml:7:5 clients\.sysctls\.net\.ipv4\.tcp_tw_reuse_dleay: unknown sysctl: net\.ipv4\.tcp_tw_reuse_dleay is not in a new network namespace on this engine's kernel \(Linux [^)]+\); did you mean net\.ipv4\.tcp_tw_reuse_delay\?$/,
    );
    await expectRefused(result, 'misspelt-sysctl');
  });

  it('a sweep axis naming an unknown sysctl: refused before its first point', async () => {
    const resultsDir = await mkdtemp(path.join(os.tmpdir(), 'portlab-results-'));
    const run = await execa(SWEEP_COMMAND[0], [...SWEEP_COMMAND[1], 'test/fixtures/sweep-misspelt.yml'], {
      reject: false,
      cwd: PROJECT_ROOT,
      env: { PORTLAB_RESULTS_DIR: resultsDir, INIT_CWD: '' },
    });
    const stderr = String(run.stderr);
    expect(stderr).toMatch(
      /^test\/fixtures\/sweep-misspelt\.yml:6:3 sweep\.clients\.sysctls\.net\.ipv4\.tcp_fin_timeot: unknown sysctl: .*; did you mean net\.ipv4\.tcp_fin_timeout\?$/m,
    );
    expect(stderr).not.toMatch(/point 1 of/);
    await expectRefused({ exitCode: run.exitCode, stderr, resultsDir }, 'sweep-misspelt-1');
  });
});
