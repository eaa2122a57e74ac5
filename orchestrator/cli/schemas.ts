import { inspectionJsonSchema } from '../predict/inspection-schema.ts';
import { resultJsonSchema } from '../report/result-json-schema.ts';
import { sweepJsonSchema } from '../report/sweep-schema.ts';
import { scenarioJsonSchema, sweepFileJsonSchema } from '../scenario/scenario-json-schema.ts';

/**
 * The published JSON Schemas (schemas/), generated from the zod schemas the code validates with: what portlab reads
 * (scenario and sweep files, for editors) and what it writes (results, sweep summaries, `portlab inspect --json`).
 */
export const SCHEMA_FILES = {
  'scenario.schema.json': scenarioJsonSchema,
  'sweep.schema.json': sweepFileJsonSchema,
  'result.schema.json': resultJsonSchema,
  'sweep-summary.schema.json': sweepJsonSchema,
  'inspection.schema.json': inspectionJsonSchema,
} as const;
