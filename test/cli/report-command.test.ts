import { copyFile, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { RESULT_FIXTURES_DIR } from '../report/report-fixtures.ts';
import { runReportCli } from './run-cli.ts';

describe('npm run report', () => {
  it('writes the page beside the result file and prints its path', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'portlab-report-'));
    const file = path.join(dir, 'extra-listen-ports-20261123T192436Z.json');
    await copyFile(path.join(RESULT_FIXTURES_DIR, 'extra-listen-ports.json'), file);
    const run = await runReportCli([file]);
    expect(run.exitCode).toBe(0);
    expect(run.stdout.trim()).toBe(`report: ${path.relative(path.join(import.meta.dirname, '..', '..'), file.replace(/json$/, 'html'))}`);
    expect(await readFile(file.replace(/json$/, 'html'), 'utf8')).toContain('<h1>extra-listen-ports <span class="verdict pass"');
  });

  it.each([
    ['a missing file', null, /^portlab: .*missing\.json: cannot read it \(ENOENT\)$/],
    ['a file that is not JSON', 'results:\n  - 1\n', /^portlab: .*bad\.json: not JSON \(/],
    ['JSON that is not a result', '{"schemaVersion": 2, "clients": []}', /^portlab: .*bad\.json: not a portlab result: /],
  ])('%s: one line, exit 2', async (_what, content, message) => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'portlab-report-'));
    const file = path.join(dir, content === null ? 'missing.json' : 'bad.json');
    if (content !== null) await writeFile(file, content);
    const run = await runReportCli([file]);
    expect(run.exitCode).toBe(2);
    expect(run.stderr.trim().split('\n')).toHaveLength(1);
    expect(run.stderr.trim()).toMatch(message);
  });

  it('no file named: usage, exit 2', async () => {
    const run = await runReportCli([]);
    expect(run.exitCode).toBe(2);
    expect(run.stderr).toContain('usage: npm run report -- <result.json>');
  });
});
