import path from 'node:path';
import { writeFileAtomic } from '../common/atomic-write.ts';
import { resultJsonSchema } from '../report/result-json-schema.ts';
import { PROJECT_ROOT } from '../common/project-root.ts';
import { sweepJsonSchema } from '../report/sweep-schema.ts';
import { scenarioJsonSchema, sweepFileJsonSchema } from '../scenario/scenario-json-schema.ts';

/**
 * `npm run schema`: regenerates the published JSON Schemas (schemas/) from the zod schemas the code validates with:
 * what portlab reads (scenario and sweep files, for editors) and what it writes (results, sweep summaries).
 */
export const SCHEMA_FILES = {
  'scenario.schema.json': scenarioJsonSchema,
  'sweep.schema.json': sweepFileJsonSchema,
  'result.schema.json': resultJsonSchema,
  'sweep-summary.schema.json': sweepJsonSchema,
} as const;

for (const [name, schema] of Object.entries(SCHEMA_FILES)) {
  const file = path.join(PROJECT_ROOT, 'schemas', name);
  await writeFileAtomic(file, `${JSON.stringify(schema(), null, 2)}\n`);
  process.stdout.write(`wrote ${path.relative(process.cwd(), file)}\n`);
}
