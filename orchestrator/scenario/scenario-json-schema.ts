import { z } from 'zod';
import { MAX_SWEEP_POINTS } from './sweep-file.ts';
import { scenarioSchema } from './scenario-schema.ts';

/*
 * The scenario and sweep files as JSON Schema, for editors (a `# yaml-language-server: $schema=...` line completes
 * and checks a file as it is typed), generated from the zod schema portlab validates with, as the file is written
 * (its input, before defaults). Rules that relate fields (a churn needs a duration, targets are server ports) are
 * portlab's alone: the editor checks shapes, bounds and names.
 */

const scenarioInput = () =>
  z.toJSONSchema(scenarioSchema('scenario'), { io: 'input', target: 'draft-2020-12', unrepresentable: 'any' }) as Record<
    string,
    unknown
  > & {
    properties: Record<string, unknown>;
  };

export function scenarioJsonSchema(): Record<string, unknown> {
  return {
    ...scenarioInput(),
    $id: 'https://portlab.invalid/schemas/scenario.schema.json',
    title: 'portlab scenario',
    description: 'A TCP experiment: a server, client groups, their sysctls and limits, and the tolerance of the verdict.',
  };
}

export function sweepFileJsonSchema(): Record<string, unknown> {
  const scenario = scenarioInput();
  return {
    ...scenario,
    $id: 'https://portlab.invalid/schemas/sweep.schema.json',
    title: 'portlab sweep',
    description: 'A scenario and a sweep: map of axes; every point of their cross product is run as a scenario of its own.',
    properties: {
      ...scenario.properties,
      sweep: {
        description: `Axes: each a dotted path into the scenario (clients.sysctls.net.ipv4.ip_local_port_range), or several separated by commas that take its one value together (server.environment.MAXCONN, server.expect.holds), and its list of values; at most ${MAX_SWEEP_POINTS} points in all.`,
        type: 'object',
        minProperties: 1,
        additionalProperties: { type: 'array', minItems: 1 },
      },
    },
    required: ['sweep'],
  };
}
