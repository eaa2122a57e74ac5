/**
 * `npm run record-fixtures`: runs the scenarios whose results the report tests read, through the CLI as a user
 * runs them, and copies each result file as it was written into test/fixtures/results/. The fixtures are what
 * this wrote, never edited by hand: when the result changes shape, record them again. Needs the engine; takes a
 * few minutes (wide-range fills 2 x 64,511 ports). A run that does not pass is not recorded.
 */
import { copyFile, mkdtemp, readdir, readFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { RunResult } from '../orchestrator/report/result-schema.ts';
import { PROJECT_ROOT } from '../orchestrator/common/project-root.ts';

const SCENARIOS = ['extra-listen-ports', 'time-wait-exhaustion', 'default-range', 'wide-range'];
const FIXTURES = path.join(PROJECT_ROOT, 'test', 'fixtures', 'results');

let failed = false;
for (const name of SCENARIOS) {
  const resultsDir = await mkdtemp(path.join(os.tmpdir(), 'portlab-fixture-'));
  // A cache of its own: what the user's runs learnt stays theirs, and the recording starts from nothing learnt.
  const cacheDir = await mkdtemp(path.join(os.tmpdir(), 'portlab-fixture-cache-'));
  process.stderr.write(`recording ${name}...\n`);
  const run = await execa(process.execPath, [path.join(PROJECT_ROOT, 'dist', 'main.mjs'), name], {
    cwd: PROJECT_ROOT,
    reject: false,
    env: { PORTLAB_RESULTS_DIR: resultsDir, PORTLAB_CACHE_DIR: cacheDir, INIT_CWD: PROJECT_ROOT },
    stderr: 'inherit',
  });
  const file = (await readdir(resultsDir)).find((entry) => entry.endsWith('.json'));
  const result = file ? RunResult.parse(JSON.parse(await readFile(path.join(resultsDir, file), 'utf8'))) : undefined;
  if (run.exitCode !== 0 || !file || result?.verdict !== 'pass') {
    process.stderr.write(`${name}: not recorded (exit ${run.exitCode}, verdict ${result?.verdict ?? 'none'})\n`);
    failed = true;
    continue;
  }
  await copyFile(path.join(resultsDir, file), path.join(FIXTURES, `${name}.json`));
  process.stdout.write(`recorded test/fixtures/results/${name}.json from ${file}\n`);
}
process.exitCode = failed ? 1 : 0;
