import path from 'node:path';
import { writeFileAtomic } from '../report/atomic-write.ts';
import { resultJsonSchema } from '../report/result-json-schema.ts';
import { PROJECT_ROOT } from '../scenario/load-scenario.ts';

/** `npm run schema`: regenerates schemas/result.schema.json from the zod schema. */
export const RESULT_SCHEMA_FILE = path.join(PROJECT_ROOT, 'schemas', 'result.schema.json');

await writeFileAtomic(RESULT_SCHEMA_FILE, `${JSON.stringify(resultJsonSchema(), null, 2)}\n`);
process.stdout.write(`wrote ${path.relative(process.cwd(), RESULT_SCHEMA_FILE)}\n`);
