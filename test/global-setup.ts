import { mkdtemp } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';

/**
 * The tests run the commands users run: the bundles in dist/. Built once before any test (a quick no-op when no
 * source is newer than the last build), as npm's pre-script does before `npm run scenario`. What the suite's runs
 * learn about the engine goes to a cache of their own: fill times measured with two test files side by side would
 * otherwise tell the user's next run that default-range takes 38 s, not 15.
 */
export default async function setUp(): Promise<void> {
  await execa('bash', [path.join(import.meta.dirname, '..', 'scripts', 'build-cli.sh')], { stdio: 'inherit' });
  process.env.PORTLAB_CACHE_DIR ??= await mkdtemp(path.join(os.tmpdir(), 'portlab-test-cache-'));
}
