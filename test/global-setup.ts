import { randomBytes } from 'node:crypto';
import { mkdtemp } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { restoreHostSettings } from '../orchestrator/engine/host-settings.ts';

/**
 * The tests run the commands users run: the bundles in dist/. Built once before any test (a quick no-op when no
 * source is newer than the last build), as npm's pre-script does before `npm run scenario`.
 * - What the suite's runs learn about the engine goes to a cache of their own: fill times measured with two test
 *   files side by side would otherwise tell the user's next run that default-range takes 38 s, not 15.
 * - Every run the suite starts carries a session of its own (PORTLAB_SESSION): its cleanups see only the suite's
 *   runs, never a person's kept, crashed or hand-run ones.
 * - Host settings a crashed earlier suite or benchmark left changed are put back first, from their journal.
 */
export default async function setUp(): Promise<() => Promise<void>> {
  await execa('bash', [path.join(import.meta.dirname, '..', 'scripts', 'build-cli.sh')], { stdio: 'inherit' });
  process.env.PORTLAB_CACHE_DIR ??= await mkdtemp(path.join(os.tmpdir(), 'portlab-test-cache-'));
  process.env.PORTLAB_SESSION ??= `test-${randomBytes(4).toString('hex')}`;
  for (const line of await restoreHostSettings()) process.stderr.write(`portlab test: ${line}\n`);
  return tearDown;
}

/** What a test of this session left on the engine is a bug in that test: said, then removed (the session's only). */
async function tearDown(): Promise<void> {
  const bundle = path.join(import.meta.dirname, '..', 'dist', 'main.mjs');
  const left = await execa(process.execPath, [bundle, '--cleanup', '--all', '--yes'], { reject: false, env: { INIT_CWD: '' } });
  if (left.exitCode !== 0 || !left.stdout.startsWith('nothing to clean up'))
    process.stderr.write(
      `portlab test: the suite's session ${process.env.PORTLAB_SESSION} left runs behind: ${left.stdout}${left.stderr}\n`,
    );
}
