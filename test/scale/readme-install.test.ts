import { mkdtemp, readdir, readFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../../orchestrator/common/project-root.ts';

/** The README's install block: its lines, each a command (what follows `#` is its comment). */
async function installBlock(): Promise<string[]> {
  const readme = await readFile(path.join(PROJECT_ROOT, 'README.md'), 'utf8');
  const block = /## Install\n[\s\S]*?```sh\n([\s\S]*?)```/.exec(readme)?.[1] ?? '';
  return block
    .trim()
    .split('\n')
    .map((line) => line.replace(/\s+#.*$/, '').trim());
}

/**
 * A person's shell: none of the variables npm gives the scripts it runs (npm_*, and INIT_CWD, the folder `npm run` was
 * typed in, which portlab takes for the user's), nor a results folder of the suite's.
 */
const FROM_NPM_OR_SUITE = (name: string) => name.startsWith('npm_') || name === 'INIT_CWD' || name === 'PORTLAB_RESULTS_DIR';
const personsEnv = (extra: Record<string, string>) => ({
  ...Object.fromEntries(Object.entries(process.env).filter(([name]) => !FROM_NPM_OR_SUITE(name))),
  ...extra,
});

/**
 * The README's install block, exactly as written, on a fresh checkout (a clone: no node_modules, no dist), into an npm
 * prefix of the test's own: `npm pack && npm install -g ./portlab-<version>.tgz`, then the `portlab` command it puts on
 * the PATH runs the shipped scenario it names from another folder, on the engine, to a pass.
 */
describe("the README's install block", () => {
  it('installs portlab from a fresh checkout, and the installed command runs default-range from any folder', async () => {
    const [install, run] = await installBlock();
    expect(install).toMatch(/^npm pack && npm install -g \.\/portlab-[\d.]+\.tgz$/);
    expect(run).toBe('portlab run default-range');

    const work = await mkdtemp(path.join(os.tmpdir(), 'portlab-install-'));
    const checkout = path.join(work, 'portlab');
    await execa('git', ['clone', '--quiet', PROJECT_ROOT, checkout]);
    const prefix = path.join(work, 'prefix');
    const env = personsEnv({ npm_config_prefix: prefix, PATH: `${path.join(prefix, 'bin')}:${process.env.PATH}` });
    const installed = await execa('bash', ['-c', install!], { cwd: checkout, env, extendEnv: false, reject: false, all: true });
    expect(installed.exitCode, installed.all).toBe(0);

    const elsewhere = path.join(work, 'elsewhere');
    await execa('mkdir', [elsewhere]);
    const version = await execa('portlab', ['--version'], { cwd: elsewhere, env, extendEnv: false });
    expect(version.stdout).toBe(JSON.parse(await readFile(path.join(PROJECT_ROOT, 'package.json'), 'utf8')).version);
    const ran = await execa('bash', ['-c', run!], { cwd: elsewhere, env, extendEnv: false, reject: false, all: true });
    expect(ran.exitCode, ran.all).toBe(0);
    expect(ran.stdout).toMatch(/default-range: PASS/);
    expect((await readdir(path.join(elsewhere, 'results'))).filter((file) => file.endsWith('.json'))).toHaveLength(1);
  }, 900_000);
});
