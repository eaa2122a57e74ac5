import type { Plan } from '../run/plan-scenario.ts';
import { showCount } from '../predict/count-range.ts';
import { isSharedLimit, observationKey, type CountRange, type Expected } from '../predict/prediction-schema.ts';
import type { NodeLoad } from '../predict/node-plan.ts';
import type { DryRunEnvironment } from '../engine/backend.ts';
import { formatCount } from '../predict/count-range.ts';
import { formatTable } from './format-table.ts';
import { showStop } from '../predict/prediction-schema.ts';

/** A container's predicted count as a plan shows it: what the scenario expects of an application, else the model's. */
export const plannedCount = (predicted: CountRange, expected: Expected | undefined) =>
  expected ? `${showCount(expected.holds)} (expected)` : showCount(predicted);

/** The dry-run plan: one row per client and the server, then the arithmetic behind each (and, on a swarm, per node). */
export function formatPlan(plan: Plan, composeFile: string, nodes?: NodeLoad[]): string {
  const { scenario } = plan;
  const prediction = plan.prediction;
  const rows = prediction.clients.map((client) => [
    observationKey(client),
    plannedCount(client.connections, client.expected),
    client.expected?.bound ?? client.limit,
    showStop(client.error),
    String(client.workers.processes),
    client.reasoning.at(-1) ?? '',
  ]);
  const serverLimit = isSharedLimit(prediction.limit) ? prediction.limit : '-';
  const { expected } = prediction.server;
  rows.push([
    'server',
    plannedCount(prediction.server.accepted, expected),
    expected?.bound ?? serverLimit,
    '-',
    String(prediction.server.workers.processes),
    expected ? 'held at once, as the scenario expects (expect:)' : 'accepted in total',
  ]);
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
    ...(nodes ? ['', 'per swarm node (overlay network, server endpoint mode dnsrr):', ...formatNodes(nodes)] : []),
    '',
    `${nodes ? 'stack file (docker stack deploy -c)' : 'compose file'}: ${composeFile}`,
  ].join('\n');
}

function formatNodes(nodes: NodeLoad[]): string[] {
  const rows = nodes.map((node) => [
    node.role,
    node.nodes === null ? 'scheduler' : String(node.nodes),
    node.containersPerNode === null ? '-' : String(node.containersPerNode),
    showCount(node.connections),
    node.limit,
  ]);
  const known = nodes.every((node) => node.nodes !== null);
  return [
    formatTable(['nodes', 'count', 'containers each', 'connections each', 'binding limit'], rows),
    ...nodes.flatMap((node) => [`  ${node.role}:`, ...node.lines.map((line) => `    ${line}`)]),
    ...(known ? [`  ${nodes.reduce((sum, node) => sum + (node.nodes ?? 0), 0)} nodes in all`] : []),
  ];
}

/** The host's limits a dry run predicted with, as `--json` gives them: read or assumed, where, and the values. */
export function hostLimitsOf({ env, hostLimits, where }: DryRunEnvironment) {
  return {
    source: hostLimits,
    where,
    conntrack: { max: env.conntrackMax, inUse: env.conntrackInUse },
    files: env.hostFiles ?? null,
    memoryAvailableKb: env.hostMemory?.availableKb ?? null,
  };
}

/** "host limits, read from ...: nf_conntrack_max N (M in use), fs.file-max ..., MemAvailable ...", or what was assumed. */
export function describeHostLimits(dry: DryRunEnvironment): string {
  const { conntrack, files, memoryAvailableKb } = hostLimitsOf(dry);
  const table = `nf_conntrack_max ${formatCount(conntrack.max)} (${formatCount(conntrack.inUse)} in use)`;
  if (dry.hostLimits === 'assumed') {
    return `host limits assumed (${dry.where}): ${table}; fs.file-max and memory not known, so not predicted`;
  }
  const open = files ? `fs.file-max ${formatCount(files.max)} (${formatCount(files.allocated)} allocated)` : 'fs.file-max unreadable';
  const memory =
    memoryAvailableKb === null ? 'MemAvailable unreadable' : `MemAvailable ${formatCount(Math.round(memoryAvailableKb / 1024))} MiB`;
  const slab = dry.env.hostMemory ? '' : ' (slab sizes unreadable without root: memory not predicted)';
  return `host limits read from ${dry.where}: ${table}, ${open}, ${memory}${slab}`;
}
