import path from 'node:path';
import { execa } from 'execa';
import { beforeAll, describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../../orchestrator/common/project-root.ts';

/** `npm run scenario|sweep|report` start the bundled commands in dist/, which npm's pre-script builds. */
describe('the bundled commands (dist/)', () => {
  beforeAll(async () => {
    // Builds the bundle only: a test never installs anything (that would pull node_modules from under the suite).
    await execa('bash', [path.join(PROJECT_ROOT, 'scripts', 'build-cli.sh')], { cwd: PROJECT_ROOT });
  });

  it.each([
    ['main.mjs', ['default-range', '--dry-run'], /^default-range: /m],
    ['sweep-command.mjs', ['range-width', '--dry-run'], /^range-width: 8 points/m],
    ['report-command.mjs', ['--help'], /^usage: npm run report/m],
  ])('%s runs as a program', async (entry, args, output) => {
    const run = await execa(process.execPath, [path.join(PROJECT_ROOT, 'dist', entry), ...args], {
      cwd: PROJECT_ROOT,
      reject: false,
      env: { INIT_CWD: '' },
    });
    expect(run.exitCode).toBe(0);
    expect(String(run.stdout)).toMatch(output);
  });

  it('a bad scenario through the bundle is one line, exit 2', async () => {
    const run = await execa(process.execPath, [path.join(PROJECT_ROOT, 'dist', 'main.mjs'), 'test/fixtures/bad/empty.yml', '--dry-run'], {
      cwd: PROJECT_ROOT,
      reject: false,
      env: { INIT_CWD: '' },
    });
    expect(run.exitCode).toBe(2);
    expect(String(run.stderr).trim()).toBe(
      'test/fixtures/bad/empty.yml the file is empty (or only comments); a scenario needs at least a server or clients',
    );
  });
});
