import { cp, mkdir, mkdtemp, readdir, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { planScenario } from '../../orchestrator/run/plan-scenario.ts';
import { backendFor } from '../../orchestrator/cli/backends.ts';
import { loadScenario, ScenarioError } from '../../orchestrator/scenario/load-scenario.ts';
import { PROJECT_ROOT } from '../../orchestrator/common/project-root.ts';
import { runCli } from '../cli/run-cli.ts';

const CORPUS = path.join(PROJECT_ROOT, 'test', 'fixtures', 'bad');
const files = (await readdir(CORPUS)).filter((file) => file.endsWith('.yml')).sort();

describe('a corpus of bad scenario files (resource exhaustion, empty, huge numbers, odd names)', () => {
  it.each(files)('%s: one line naming the file, never an internal error', async (file) => {
    // Everything a dry run checks: the schema, the engine kind, the sysctl names (against the shipped list).
    const error = await planScenario(path.join(CORPUS, file), backendFor('local')).then(
      () => undefined,
      (thrown: unknown) => thrown,
    );
    expect(error).toBeInstanceOf(ScenarioError);
    const message = (error as ScenarioError).message;
    expect(message.split('\n')).toHaveLength(1);
    expect(message.startsWith(`test/fixtures/bad/${file}`)).toBe(true);
  });

  it('a file over 1 MiB (written here, not kept in the repository): one line, before YAML is parsed', async () => {
    const file = path.join(await mkdtemp(path.join(os.tmpdir(), 'portlab-bad-')), 'huge.yml');
    await writeFile(file, `description: >-\n${'  xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\n'.repeat(30_000)}`);
    const error = await loadScenario(file, path.dirname(file)).catch((thrown: unknown) => thrown);
    expect((error as ScenarioError).message).toBe('huge.yml the file is 1,290,016 bytes; a scenario file is at most 1,048,576');
  });

  it.each(['alias-bomb.yml', 'empty.yml', 'huge-duration.yml', 'My Test_A.yml', 'deep-nesting.yml', 'misspelt-sysctl.yml'])(
    'the real CLI on %s: exit 2, one line on stderr, no stack trace',
    async (file) => {
      const result = await runCli([`test/fixtures/bad/${file}`, '--dry-run']);
      expect(result.exitCode).toBe(2);
      expect(result.stderr.trim().split('\n')).toHaveLength(1);
      expect(result.stderr).toContain(`test/fixtures/bad/${file}`);
      expect(result.stderr).not.toMatch(/internal error|\n\s+at /);
      expect(result.stdout).toBe('');
    },
  );
});

describe('a checkout under a path with a space or non-ASCII characters', () => {
  it.each(['my projects', 'ünï cøde'])(
    'works from "%s/portlab"',
    async (parent) => {
      const root = path.join(await mkdtemp(path.join(os.tmpdir(), 'portlab-')), parent, 'portlab');
      await mkdir(root, { recursive: true });
      for (const entry of ['orchestrator', 'scenarios', 'images', 'scripts', 'package.json', 'compose.base.yml']) {
        await cp(path.join(PROJECT_ROOT, entry), path.join(root, entry), { recursive: true });
      }
      await symlink(path.join(PROJECT_ROOT, 'node_modules'), path.join(root, 'node_modules'));
      const run = await execa(
        process.execPath,
        ['--import', 'tsx', path.join(root, 'orchestrator', 'cli', 'main.ts'), 'default-range', '--dry-run'],
        {
          cwd: root,
          reject: false,
          env: { INIT_CWD: '' },
        },
      );
      expect(run.exitCode).toBe(0);
      expect(String(run.stdout)).toMatch(/^default-range: /m);
      expect(String(run.stdout)).toContain('28,231');
      // tsx compiles the whole orchestrator from the copy: seconds, many more beside the suite's engine files.
    },
    60_000,
  );
});
