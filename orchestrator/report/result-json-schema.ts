import { z } from 'zod';
import { RunResult } from './result-schema.ts';

/** results/*.json's shape as JSON Schema, generated from the zod schema that the code itself validates with. */
export function resultJsonSchema(): Record<string, unknown> {
  return {
    ...z.toJSONSchema(RunResult, { target: 'draft-2020-12' }),
    $id: 'https://portlab.invalid/schemas/result.schema.json',
    title: 'portlab run result',
    description: 'One run of one portlab scenario: settings requested and applied, predicted vs observed, verdict and why.',
  };
}
