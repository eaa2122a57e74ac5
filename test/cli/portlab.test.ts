import { mkdtemp, readdir, readFile, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../../orchestrator/common/project-root.ts';
import { withNpmFlags } from '../../orchestrator/cli/main.ts';
import { runCli, runPortlab } from './run-cli.ts';

const version = async () => (JSON.parse(await readFile(path.join(PROJECT_ROOT, 'package.json'), 'utf8')) as { version: string }).version;

describe('the portlab command', () => {
  it('--version prints the version, --help the commands', async () => {
    expect((await runPortlab(['--version'])).stdout.trim()).toBe(await version());
    const help = await runPortlab(['--help']);
    expect(help.exitCode).toBe(0);
    for (const command of ['run', 'sweep', 'report', 'ls', 'rm', 'lab', 'images', 'schema'])
      expect(help.stdout).toMatch(new RegExp(`^  ${command} `, 'm'));
  });

  // No engine is asked, nothing is built or written: a usage on stdout, exit 0.
  it.each([
    ['run'],
    ['sweep'],
    ['report'],
    ['ls'],
    ['rm'],
    ['lab'],
    ['images'],
    ['schema'],
    ['run', 'default-range'],
    ['lab', 'up'],
    ['lab', 'kernel', 'up', '6.1'],
  ])('portlab %s --help prints its usage and does nothing else', async (...args) => {
    const result = await runPortlab([...args, '--help']);
    expect([result.exitCode, result.stderr]).toEqual([0, '']);
    expect(result.stdout).toMatch(/^usage: /);
    expect(await readdir(result.resultsDir)).toEqual([]);
  });

  it('lab kernel: a series that is not major.minor is bad input (2); a host without QEMU, one line and exit 3; no lab: said', async () => {
    const cache = await mkdtemp(path.join(os.tmpdir(), 'portlab-kernel-lab-'));
    const bad = await runPortlab(['lab', 'kernel', 'up', 'bookworm'], { env: { PORTLAB_CACHE_DIR: cache } });
    expect([bad.exitCode, bad.stderr.trim()]).toEqual([2, 'kernel lab: a kernel series is major.minor (6.1, 6.12), found bookworm']);
    // A PATH with bash alone: no QEMU (and nothing built, fetched or started before that is found out).
    const bin = await mkdtemp(path.join(os.tmpdir(), 'portlab-path-'));
    await symlink('/bin/bash', path.join(bin, 'bash'));
    const noQemu = await runPortlab(['lab', 'kernel', 'up', '6.1'], { env: { PATH: bin, PORTLAB_CACHE_DIR: cache } });
    expect([noQemu.exitCode, noQemu.stderr.trim()]).toEqual([
      3,
      'kernel lab: QEMU is not installed: a kernel lab boots a VM with it (Debian: apt-get install qemu-system-x86)',
    ]);
    expect(await readdir(cache)).toEqual([]);
    const status = await runPortlab(['lab', 'kernel', 'status'], { env: { PORTLAB_CACHE_DIR: cache } });
    expect([status.exitCode, status.stdout.trim()]).toEqual([0, 'no kernel lab']);
    const down = await runPortlab(['lab', 'kernel', 'down', '6.1'], { env: { PORTLAB_CACHE_DIR: cache } });
    expect([down.exitCode, down.stderr.trim()]).toEqual([0, 'kernel lab: no 6.1 lab']);
  });

  it('an unknown command, or rm without what to remove: one line, the usage, exit 2', async () => {
    const unknown = await runPortlab(['start', 'default-range']);
    expect(unknown.exitCode).toBe(2);
    expect(unknown.stderr.split('\n')[0]).toBe('portlab: unknown command "start"');
    const rm = await runPortlab(['rm']);
    expect([rm.exitCode, rm.stderr.split('\n')[0]]).toEqual([2, 'portlab: rm takes run ids, --gone or --all (one of them)']);
  });

  it('sweep takes --keep and --push as run does, and refuses them where they mean nothing: one line, exit 2', async () => {
    const help = await runPortlab(['sweep', '--help']);
    expect(help.stdout).toMatch(/^ {2}--keep /m);
    expect(help.stdout).toMatch(/^ {2}--push /m);
    for (const [args, line] of [
      [['sweep', 'range-width', '--keep', '--dry-run'], 'portlab: --keep goes with a run (not --dry-run)'],
      [['sweep', 'range-width', '--push', 'registry.example:5000'], 'portlab: --push goes with --engine swarm'],
    ] as const) {
      const result = await runPortlab([...args]);
      expect([result.exitCode, result.stderr.split('\n')[0]]).toEqual([2, line]);
      expect(await readdir(result.resultsDir)).toEqual([]);
    }
    // On a swarm, --push is checked as run checks it.
    const bad = await runPortlab(['sweep', 'range-width', '--engine', 'swarm', '--push', 'not a registry']);
    expect([bad.exitCode, bad.stderr.split('\n')[0]]).toEqual([
      2,
      'portlab: --push takes a registry such as registry.example.com:5000 or host/path, found "not a registry"',
    ]);
  });

  it('a sweep checks every point against the engine it is for before anything runs, its dry run too', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'portlab-sweep-'));
    const file = path.join(dir, 'v6-sweep.yml');
    await writeFile(
      file,
      'name: v6-sweep\nipv6: true\nserver:\n  ports: [5000]\nclients: { count: 2 }\n' +
        'sweep:\n  clients.sysctls.net.ipv4.ip_local_port_range: ["40000 40099", "40000 40199"]\n',
    );
    const line =
      "portlab: v6-sweep-1: ipv6 needs a dual-stack network, which portlab makes on the local engine only (a swarm's overlay would need the daemons' IPv6 settings); run it on the local engine";
    for (const args of [['--dry-run'], []]) {
      // No engine is asked: the refusal comes first (an engine that is not there would be a different line).
      const result = await runPortlab(['sweep', file, '--engine', 'swarm', ...args], {
        env: { DOCKER_HOST: 'unix:///nonexistent/docker.sock' },
      });
      expect([result.exitCode, result.stderr.trim()]).toEqual([2, line]);
      expect(await readdir(result.resultsDir)).toEqual([]);
    }
    // The same sweep plans on the local engine.
    expect((await runPortlab(['sweep', file, '--dry-run'])).exitCode).toBe(0);
  });

  it('an empty PORTLAB_SESSION is bad input, never "every run": one line, exit 2, for every command and entry', async () => {
    const line = 'portlab: PORTLAB_SESSION is set but empty: unset it to work with every run, or give it a name';
    for (const session of ['', '  ']) {
      for (const args of [['ls'], ['rm', '--all', '--yes'], ['run', 'extra-listen-ports', '--dry-run']]) {
        const result = await runPortlab(args, { env: { PORTLAB_SESSION: session } });
        expect([result.exitCode, result.stderr.trim(), result.stdout]).toEqual([2, line, '']);
      }
      const run = await runCli(['--cleanup', '--all', '--yes'], { env: { PORTLAB_SESSION: session } });
      expect([run.exitCode, run.stderr.trim()]).toEqual([2, line]);
    }
  });

  it('portlab schema scenario prints the published editor schema', async () => {
    const result = await runPortlab(['schema', 'scenario']);
    expect(JSON.parse(result.stdout)).toEqual(
      JSON.parse(await readFile(path.join(PROJECT_ROOT, 'schemas', 'scenario.schema.json'), 'utf8')),
    );
  });

  it('run --results-dir puts the files there', async () => {
    const result = await runPortlab(['run', 'extra-listen-ports', '--dry-run', '--results-dir', 'results-elsewhere'], {
      env: { INIT_CWD: path.join(PROJECT_ROOT, 'test-artifacts') },
    });
    expect(result.exitCode).toBe(0);
    expect(await readdir(path.join(PROJECT_ROOT, 'test-artifacts', 'results-elsewhere'))).toContain(
      'extra-listen-ports-dry-run.compose.yml',
    );
  });

  it('a flag npm took for itself (npm run scenario x --dry-run) is honoured and said: never a silent real run', async () => {
    expect(withNpmFlags(['x'], { npm_lifecycle_event: 'scenario', npm_config_dry_run: 'true' })).toEqual({
      argv: ['x', '--dry-run'],
      notes: ['portlab: npm took --dry-run for itself (put it after --, as in npm run scenario -- <name> --dry-run); doing it anyway'],
    });
    // Outside npm, or given after --, nothing is added.
    expect(withNpmFlags(['x'], { npm_config_dry_run: 'true' }).argv).toEqual(['x']);
    expect(withNpmFlags(['x', '--json'], { npm_lifecycle_event: 'scenario', npm_config_json: 'true' }).argv).toEqual(['x', '--json']);
    const result = await runPortlab(['run', 'extra-listen-ports'], {
      env: { npm_lifecycle_event: 'scenario', npm_config_dry_run: 'true' },
    });
    expect(result.exitCode).toBe(0);
    expect(result.stderr).toContain('portlab: npm took --dry-run for itself');
    expect(await readdir(result.resultsDir)).toEqual(['extra-listen-ports-dry-run.compose.yml']);
  });
});
