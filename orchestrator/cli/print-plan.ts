import type { Plan } from '../pipeline.ts';
import { showCount } from '../predict/count-range.ts';
import { observationKey } from '../predict/prediction-schema.ts';
import { formatTable } from './format-table.ts';

/** The dry-run plan: one row per client and the server, then the arithmetic behind each. */
export function formatPlan(plan: Plan, composeFile: string): string {
  const { scenario } = plan;
  const prediction = plan.prediction;
  const rows = prediction.clients.map((client) => [
    observationKey(client),
    showCount(client.connections),
    client.limit,
    client.error ?? '-',
    String(client.workers.processes),
    client.reasoning.at(-1) ?? '',
  ]);
  const serverLimit = prediction.limit === 'server-nofile' || prediction.limit === 'conntrack' ? prediction.limit : '-';
  rows.push(['server', showCount(prediction.server.accepted), serverLimit, '-', String(prediction.server.workers.processes), 'accepted in total']);
  const why = [
    ...prediction.clients.flatMap((client) => [`  ${observationKey(client)}:`, ...client.reasoning.map((line) => `    ${line}`)]),
    '  server:',
    ...prediction.server.reasoning.map((line) => `    ${line}`),
    ...prediction.reasoning.map((line) => `  ${line}`),
  ];
  return [
    `${scenario.name}${scenario.description ? `: ${scenario.description}` : ''}`,
    '',
    formatTable(['client', 'predicted', 'binding limit', 'error', 'processes', 'reason'], rows),
    '',
    'why:',
    ...why,
    '',
    `compose file: ${composeFile}`,
  ].join('\n');
}
