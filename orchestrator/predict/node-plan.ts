import { containerNames } from '../scenario/names.ts';
import { type Scenario } from '../scenario/scenario-schema.ts';
import { addCounts, exactCount, formatCount, showCount } from './count-range.ts';
import type { Environment } from './environment.ts';
import { totalBudget } from './plan-workers.ts';
import { predictClientsAlone } from './predict.ts';
import { z } from 'zod';
import { placedOn, type PlacementNode } from './placement.ts';
import { CountRange, isSharedLimit, type Prediction } from './prediction-schema.ts';

/** What one kind of swarm node holds, and the limit that binds there. */
export const NodeLoad = z.strictObject({
  /** "server node", "client nodes (group client)". */
  role: z.string(),
  /** How many such nodes the placement asks for; null when the scheduler decides. */
  nodes: z.number().int().nullable(),
  containersPerNode: z.number().int().nullable(),
  /** Connections the node's containers hold together (a client node's: the most any one of them holds). */
  connections: CountRange,
  /** The limit that binds on such a node, and the arithmetic. */
  limit: z.string(),
  lines: z.array(z.string()),
  /** Known the nodes (a run's preflight): the hostnames its placement admits. */
  placedOn: z.array(z.string()).optional(),
});
export type NodeLoad = z.infer<typeof NodeLoad>;

/**
 * The prediction seen per swarm node: the server's node holds every connection (its descriptors and its
 * namespace's conntrack table), each client node holds its containers' (each container's own port range and
 * table). Limits that are per node are checked per node: which binds, on which node.
 */
export function nodePlan(scenario: Scenario, prediction: Prediction, env: Environment, known?: PlacementNode[]): NodeLoad[] {
  // With the swarm's nodes known, each load names the nodes its placement admits.
  const where = (constraints: string[]) => {
    const hostnames = known ? placedOn(constraints, known) : null;
    return hostnames === null ? {} : { placedOn: hostnames };
  };
  const server = prediction.server;
  const fds = totalBudget(server.workers);
  // What each client could hold on its own: on its node, its own limits; the server's may bind before them.
  const alone = predictClientsAlone(scenario, env);
  const wanted = alone.map((client) => client.connections).reduce(addCounts, exactCount(0));
  const sharedBinds = isSharedLimit(prediction.limit);
  const serverBinds = sharedBinds ? prediction.limit : "none (the clients' own limits bind first)";
  const serverLoad: NodeLoad = {
    role: 'server node',
    nodes: 1,
    containersPerNode: 1,
    connections: server.accepted,
    limit: serverBinds,
    ...where(scenario.server.placement.constraints),
    lines: [
      `holds every connection: ${showCount(prediction.total)} of the ${showCount(wanted)} the clients could open on their own`,
      `conntrack: ${formatCount(env.conntrackMax)} entries in the server's own namespace (its node's nf_conntrack_max)${prediction.limit === 'conntrack' ? ': binds' : ''}`,
      `descriptors: ${server.workers.processes} worker${server.workers.processes > 1 ? 's' : ''}, budget ${formatCount(fds)}${prediction.limit === 'server-nofile' ? ': binds' : ''}`,
      ...(scenario.server.placement.constraints.length > 0 ? [`placed by: ${scenario.server.placement.constraints.join(', ')}`] : []),
    ],
  };
  const clientLoads = scenario.clients.map((group): NodeLoad => {
    const names = new Set(containerNames(group));
    const members = alone.filter((client) => names.has(client.name));
    const perContainer = members
      .map((client) => client.connections)
      .reduce((most, count) => ((count.max ?? Infinity) > (most.max ?? Infinity) ? count : most), exactCount(0));
    const perNode = group.placement.perNode;
    const nodes = perNode === undefined ? null : Math.ceil(group.count / perNode);
    const onOne = perNode === undefined ? group.count : Math.min(perNode, group.count);
    const load = { min: perContainer.min * onOne, max: perContainer.max === null ? null : perContainer.max * onOne };
    const limits = [...new Set(members.map((client) => client.limit))].join(', ');
    return {
      role: `client nodes (group ${group.name})`,
      nodes,
      containersPerNode: perNode === undefined ? null : onOne,
      connections: load,
      limit: limits,
      ...where(group.placement.constraints),
      lines: [
        perNode === undefined
          ? `${group.count} container${group.count > 1 ? 's' : ''} placed by the swarm's scheduler (set placement.perNode to spread them): up to ${showCount(load)} connections on one node`
          : `${nodes} node${nodes === 1 ? '' : 's'}, at most ${onOne} of ${group.count} containers each: ${onOne} x ${showCount(perContainer)} = ${showCount(load)} connections per node`,
        `each container: ${showCount(perContainer)}, bound by ${limits} in its own namespace (ports, descriptors, conntrack ${formatCount(env.conntrackMax)})`,
        ...(sharedBinds
          ? [`the server node's ${prediction.limit} binds first: all clients together get ${showCount(prediction.total)}`]
          : []),
        ...(group.placement.constraints.length > 0 ? [`placed by: ${group.placement.constraints.join(', ')}`] : []),
      ],
    };
  });
  return [serverLoad, ...clientLoads];
}
