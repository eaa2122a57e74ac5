import path from 'node:path';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../../orchestrator/common/project-root.ts';
import { containersLabelled } from './docker-helpers.ts';

/**
 * The suite's teardown is a check: a test that leaves a run of the suite's session behind fails the whole run (vitest
 * itself would only print a teardown's error and exit 0), and what was left is removed.
 */
describe("the suite's teardown", () => {
  it('a run left behind by a test: one line naming it, removed, and the run exits 1', async () => {
    const suite = await execa(
      path.join(PROJECT_ROOT, 'node_modules', '.bin', 'vitest'),
      ['run', '--config', 'test/fixtures/leaky-suite/vitest.config.ts', '--root', PROJECT_ROOT],
      { cwd: PROJECT_ROOT, reject: false, all: true },
    );
    expect(suite.exitCode, suite.all).toBe(1);
    const session =
      /portlab test: the suite's session (test-[0-9a-f]{8}) left runs behind: removed [0-9a-f]{6} \(3 containers, 1 network\)$/m.exec(
        suite.all,
      )?.[1];
    expect(session, suite.all).toBeDefined();
    // Its own session, never this suite's: and nothing of it is left.
    expect(session).not.toBe(process.env.PORTLAB_SESSION);
    expect(await containersLabelled(`io.portlab.session=${session}`)).toEqual([]);
  });
});
