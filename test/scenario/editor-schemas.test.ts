import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { PROJECT_ROOT } from '../../orchestrator/common/project-root.ts';
import { SCHEMA_FILES } from '../../orchestrator/cli/schemas.ts';
import { loadScenario } from '../../orchestrator/scenario/load-scenario.ts';
import { loadSweep } from '../../orchestrator/scenario/sweep-file.ts';

/** The published schemas, as an editor reads them from disk: checked with ajv, a validator portlab does not use. */
const schemaFile = async (name: string) => JSON.parse(await readFile(path.join(PROJECT_ROOT, 'schemas', name), 'utf8')) as object;
const validatorFor = async (name: string) => new Ajv2020({ strict: false, allErrors: true }).compile(await schemaFile(name));

async function ymlFiles(dir: string): Promise<string[]> {
  const entries = await readdir(path.join(PROJECT_ROOT, dir), { withFileTypes: true, recursive: true });
  return entries.filter((entry) => entry.isFile() && entry.name.endsWith('.yml')).map((entry) => path.join(entry.parentPath, entry.name));
}
const scenarioFiles = await ymlFiles('scenarios');
const sweepFiles = await ymlFiles('sweeps');
const shown = (file: string) => path.relative(PROJECT_ROOT, file);

describe('editor schemas for scenario and sweep files', () => {
  it.each(Object.keys(SCHEMA_FILES))('schemas/%s is the one the code generates (run `npm run schema` after a change)', async (name) => {
    expect(await schemaFile(name)).toEqual(SCHEMA_FILES[name as keyof typeof SCHEMA_FILES]());
  });

  it.each([...scenarioFiles, ...sweepFiles].map(shown))('%s names its schema on its first line, and the path resolves', async (file) => {
    const first = (await readFile(path.join(PROJECT_ROOT, file), 'utf8')).split('\n')[0]!;
    const match = /^# yaml-language-server: \$schema=(\S+)$/.exec(first);
    const expected = file.startsWith('sweeps/') ? 'sweep.schema.json' : 'scenario.schema.json';
    expect(match?.[1] && path.resolve(PROJECT_ROOT, path.dirname(file), match[1])).toBe(path.join(PROJECT_ROOT, 'schemas', expected));
  });

  it.each(scenarioFiles.map(shown))('%s is valid against schemas/scenario.schema.json, as portlab finds it', async (file) => {
    const validate = await validatorFor('scenario.schema.json');
    await loadScenario(path.join(PROJECT_ROOT, file));
    expect(validate(parse(await readFile(path.join(PROJECT_ROOT, file), 'utf8'))), JSON.stringify(validate.errors)).toBe(true);
  });

  it.each(sweepFiles.map(shown))('%s is valid against schemas/sweep.schema.json, as portlab finds it', async (file) => {
    const validate = await validatorFor('sweep.schema.json');
    await loadSweep(path.join(PROJECT_ROOT, file));
    expect(validate(parse(await readFile(path.join(PROJECT_ROOT, file), 'utf8'))), JSON.stringify(validate.errors)).toBe(true);
  });

  // The bad files whose problem is a shape, a bound, a pattern, a missing map or an unknown kind of value: the JSON
  // Schema says each of these, so an editor flags it as it is typed. The rest of the corpus is portlab's alone: rules
  // that relate fields (a churn needs a duration, targets must be server ports, volumes must exist), durations in
  // text ("2h30m"), names taken from the file's name, sysctl names and values, and YAML itself (aliases, nesting,
  // duplicate keys).
  it.each([
    'bad-image.yml',
    'bad-placement.yml',
    'binary.yml',
    'comments-only.yml',
    'empty.yml',
    'fractional-count.yml',
    'huge-backlog.yml',
    'huge-hard-nofile.yml',
    'huge-nofile.yml',
    'huge-rate.yml',
    'huge-sources.yml',
    'infinite-count.yml',
    'list-root.yml',
    'path-name.yml',
    'scalar-root.yml',
    'too-many-phases.yml',
    'too-many-ports.yml',
    'too-many-processes.yml',
    'too-many-server-processes.yml',
    'writable-volume.yml',
  ])('test/fixtures/bad/%s, refused by portlab, is refused by the schema too', async (file) => {
    const validate = await validatorFor('scenario.schema.json');
    const text = await readFile(path.join(PROJECT_ROOT, 'test', 'fixtures', 'bad', file), 'utf8');
    expect(validate(parse(text) ?? null)).toBe(false);
    await expect(loadScenario(path.join(PROJECT_ROOT, 'test', 'fixtures', 'bad', file))).rejects.toThrow();
  });

  it('a sweep file without its sweep: map is refused by the sweep schema', async () => {
    const validate = await validatorFor('sweep.schema.json');
    expect(validate({ name: 'no-axes', clients: { count: 1 } })).toBe(false);
    expect(validate({ name: 'empty-axis', sweep: { 'clients.count': [] } })).toBe(false);
    expect(validate({ name: 'one-axis', sweep: { 'clients.count': [1, 2] } })).toBe(true);
  });
});
