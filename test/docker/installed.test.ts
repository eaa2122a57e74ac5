import { mkdir, mkdtemp, readdir } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../../orchestrator/common/project-root.ts';
import { readResults } from './docker-helpers.ts';

/**
 * portlab as people install it: `npm pack`, then `npm install -g` of the tarball (into a prefix of the test's own,
 * never the machine's global one), then `portlab run` from an empty folder elsewhere, and `portlab inspect --host` with
 * the probe binary the package ships.
 */
describe('the packed and installed command', () => {
  it('portlab run from an empty folder: shipped names resolve, results and report land in that folder, pass', async () => {
    const work = await mkdtemp(path.join(os.tmpdir(), 'portlab-installed-'));
    await execa('npm', ['pack', '--pack-destination', work, '--silent'], { cwd: PROJECT_ROOT });
    const [tarball] = (await readdir(work)).filter((file) => file.endsWith('.tgz'));
    const prefix = path.join(work, 'prefix');
    await execa('npm', ['install', '-g', '--prefix', prefix, '--no-audit', '--no-fund', '--loglevel=error', path.join(work, tarball!)]);
    const folder = path.join(work, 'elsewhere');
    await mkdir(folder);
    const { PORTLAB_RESULTS_DIR: _, INIT_CWD: __, ...env } = process.env;
    const run = await execa(path.join(prefix, 'bin', 'portlab'), ['run', 'extra-listen-ports'], {
      cwd: folder,
      env,
      extendEnv: false,
      reject: false,
    });
    expect(run.exitCode, String(run.stderr)).toBe(0);
    expect(String(run.stdout)).toMatch(/^extra-listen-ports: PASS/m);
    const files = await readdir(path.join(folder, 'results'));
    expect(files.filter((file) => /\.(json|html|compose\.yml)$/.test(file))).toHaveLength(3);
    const [result] = await readResults(path.join(folder, 'results'));
    expect(result?.verdict).toBe('pass');
    // The package ships the probe as a host binary: inspect of the host's namespace builds nothing (its cache stays
    // empty) and talks to no engine.
    const cache = path.join(work, 'cache');
    await mkdir(cache);
    const inspect = await execa(path.join(prefix, 'bin', 'portlab'), ['inspect', '--host', '--json'], {
      cwd: folder,
      env: { ...env, PORTLAB_CACHE_DIR: cache, DOCKER_HOST: 'unix:///nonexistent/no-engine.sock' },
      extendEnv: false,
      reject: false,
    });
    expect(inspect.exitCode, String(inspect.stderr)).toBe(0);
    expect(JSON.parse(String(inspect.stdout)).target.kind).toBe('host');
    expect(await readdir(cache)).toEqual([]);
  });
});
