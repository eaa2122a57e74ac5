import path from 'node:path';
import { writeFileAtomic } from '../common/atomic-write.ts';
import { PROJECT_ROOT } from '../common/project-root.ts';
import { SCHEMA_FILES } from './schemas.ts';

/** `npm run schema`: regenerates the published JSON Schemas in schemas/ from the code. */
if (process.argv.includes('--help') || process.argv.includes('-h')) {
  process.stdout.write(
    'usage: npm run schema\n\n  Regenerates schemas/*.schema.json from the zod schemas (portlab schema <name> prints one).\n',
  );
} else {
  for (const [name, schema] of Object.entries(SCHEMA_FILES)) {
    const file = path.join(PROJECT_ROOT, 'schemas', name);
    await writeFileAtomic(file, `${JSON.stringify(schema(), null, 2)}\n`);
    process.stdout.write(`wrote ${path.relative(process.cwd(), file)}\n`);
  }
}
