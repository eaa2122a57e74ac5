import path from 'node:path';
import { execa } from 'execa';

/**
 * The tests run the commands users run: the bundles in dist/. Built once before any test (a quick no-op when no
 * source is newer than the last build), as npm's pre-script does before `npm run scenario`.
 */
export default async function buildCommands(): Promise<void> {
  await execa('bash', [path.join(import.meta.dirname, '..', 'scripts', 'build-cli.sh')], { stdio: 'inherit' });
}
