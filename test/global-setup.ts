import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import type { TestProject } from 'vitest/node';
import { restoreHostSettings } from '../orchestrator/engine/host-settings.ts';
import { ENGINE_PROJECTS, NO_ENGINE_LINE } from './engine-answers.ts';

/**
 * The tests run the commands users run: the bundles in dist/. Built once before any test (a quick no-op when no
 * source is newer than the last build), as npm's pre-script does before `npm run scenario`.
 * - The suite works in a session of its own that nobody's environment joins: a PORTLAB_SESSION a person exported is
 *   replaced, never inherited, so its cleanups see only the suite's runs, never a person's kept, crashed or hand-run
 *   ones (nor, with an empty one, every run).
 * - What the suite's runs learn about the engine goes to a cache of its own, whatever PORTLAB_CACHE_DIR says: fill
 *   times measured with two test files side by side would otherwise tell the user's next run that default-range
 *   takes 38 s, not 15.
 * - It never starts an engine (PORTLAB_NO_ENGINE_START, inherited by every command a test runs) nor installs anything:
 *   where none answers, vitest.config.ts reports the engine tests as not run, and this says how to start one.
 * - Host settings a crashed earlier suite or benchmark left changed are put back first, from their journal.
 */
export default async function setUp(project: TestProject): Promise<(() => Promise<void>) | undefined> {
  await execa('bash', [path.join(import.meta.dirname, '..', 'scripts', 'build-cli.sh')], { stdio: 'inherit' });
  process.env.PORTLAB_CACHE_DIR = await mkdtemp(path.join(os.tmpdir(), 'portlab-test-cache-'));
  process.env.PORTLAB_SESSION = `test-${randomBytes(4).toString('hex')}`;
  process.env.PORTLAB_NO_ENGINE_START = '1';
  for (const line of await restoreHostSettings()) process.stderr.write(`portlab test: ${line}\n`);
  const onEngine = project.vitest.projects.some((each) => (ENGINE_PROJECTS as readonly string[]).includes(each.name));
  const onKernelLabs = project.vitest.projects.some((each) => each.name === 'kernels');
  const teardowns = onKernelLabs ? [removeKernelLabs] : [];
  if (onEngine && process.env.PORTLAB_TEST_ENGINE === 'absent') process.stderr.write(`portlab test: ${NO_ENGINE_LINE}\n`);
  else if (onEngine) teardowns.push(tearDown);
  if (teardowns.length === 0) return undefined;
  return async () => {
    for (const teardown of teardowns) await teardown();
  };
}

/**
 * The kernel tests' labs are the suite's own, in its own cache: any still up (a test that failed before its `down`)
 * is stopped, and their disks (a root filesystem and an initramfs per kernel, about 1.5 GB) are removed.
 */
async function removeKernelLabs(): Promise<void> {
  const script = path.join(import.meta.dirname, '..', 'scripts', 'kernel-lab.sh');
  await execa('bash', [script, 'down'], { reject: false });
  await rm(path.join(process.env.PORTLAB_CACHE_DIR!, 'kernel-lab'), { recursive: true, force: true });
}

/**
 * What a test of this session left on the engine is a bug in that test: said, removed (the session's only), and the
 * run fails (exit 1).
 */
async function tearDown(): Promise<void> {
  const bundle = path.join(import.meta.dirname, '..', 'dist', 'main.mjs');
  const left = await execa(process.execPath, [bundle, '--cleanup', '--all', '--yes'], { reject: false, env: { INIT_CWD: '' } });
  if (left.exitCode === 0 && left.stdout.startsWith('nothing to clean up')) return;
  // A teardown's throw is only printed by vitest (its exit stays 0): the exit code is set here.
  process.stderr.write(`portlab test: the suite's session ${process.env.PORTLAB_SESSION} left runs behind: ${left.stdout}${left.stderr}\n`);
  process.exitCode = 1;
}
