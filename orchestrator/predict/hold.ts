/** A client that holds every connection: its ports against its descriptors (docs/model.md, "Descriptors"). */

import { type ClientGroup, type Scenario } from '../scenario/scenario-schema.ts';
import type { Environment } from './environment.ts';
import { exactCount, formatCount } from './count-range.ts';
import { HEADROOM, planWorkers, totalBudget } from './plan-workers.ts';
import { clientPrediction } from './client-prediction.ts';
import { localPortLimit, portCapacity, targetsOf } from './ports.ts';
import { stopsWith, type ClientPrediction, type CountRange, type Limit, type PredictedStop } from './prediction-schema.ts';

export function predictHoldingClient(scenario: Scenario, group: ClientGroup, env: Environment, name: string): ClientPrediction {
  const facts = env.containers[name];
  const targets = targetsOf(scenario, group);
  const ports = portCapacity(group, env, facts);
  const local = localPortLimit(group, ports, targets);
  const portLimit = local.connections;
  const workers = planWorkers({
    requested: group.ulimits.nofile,
    processes: group.processes,
    fdsOpen: facts?.fdsOpen ?? env.probeFdsOpen,
    demand: portLimit.max + HEADROOM(portLimit.max),
    grantedNofile: facts?.nofile,
    ran: facts?.workers,
    env,
  });
  const fds = totalBudget(workers);
  const reasoning = [
    ...local.reasoning,
    `descriptors: ${workers.processes} worker${workers.processes > 1 ? 's' : ''} x up to ${formatCount(workers.appliedNofile.soft - workers.fdsOpen)} (nofile ${formatCount(workers.appliedNofile.soft)} - ${workers.fdsOpen} open) = budget ${formatCount(fds)}`,
    ...(workers.note ? [`note: ${workers.note}`] : []),
  ];

  let connections: CountRange;
  let limit: Limit;
  let error: PredictedStop;
  // socket() needs its descriptor before connect() picks a port, so on a tie the descriptor runs out first.
  if (fds <= portLimit.min) {
    connections = exactCount(fds);
    limit = 'nofile';
    error = stopsWith('EMFILE');
    reasoning.push(
      `nofile binds: ${formatCount(fds)} <= ${formatCount(portLimit.min)}, so socket() fails with EMFILE at ${formatCount(fds)}`,
    );
  } else if (fds > portLimit.max) {
    connections = portLimit;
    limit = local.limit;
    error = stopsWith(local.error);
    reasoning.push(local.conclusion);
  } else {
    connections = { min: portLimit.min, max: fds };
    limit = local.limit;
    error = stopsWith(local.error, 'EMFILE');
    reasoning.push(`the port range or nofile binds, whichever is smaller once the DNS listener's port is known`);
  }
  const context = { name, group, workers, targets, ports };
  const ownTable = ownConntrackLimit(env, connections);
  if (ownTable) {
    return clientPrediction(context, { connections: ownTable.connections, limit: 'conntrack', error: stopsWith('ETIMEDOUT') }, [
      ...reasoning,
      ownTable.why,
    ]);
  }
  return clientPrediction(context, { connections, limit, error }, reasoning);
}

/**
 * On an overlay network a client's own namespace tracks its connections, plus the one UDP entry of its lookup of the
 * server's name (measured: 20,000 entries for 19,999 connections). More than its node's nf_conntrack_max allows, and
 * its SYNs are dropped: connect() times out.
 */
function ownConntrackLimit(env: Environment, connections: CountRange): { connections: CountRange; why: string } | null {
  if (env.network !== 'overlay') return null;
  const room = env.conntrackMax - 1;
  if ((connections.max ?? Number.POSITIVE_INFINITY) <= room) return null;
  return {
    connections: { min: room, max: env.conntrackMax },
    why: `conntrack binds first: on an overlay network the client's own namespace tracks its connections against nf_conntrack_max ${formatCount(env.conntrackMax)}, one entry going to its lookup of the server's name until that expires (nf_conntrack_udp_timeout, 30 s); past ${formatCount(room)} to ${formatCount(env.conntrackMax)} its SYNs are dropped and connect() times out`,
  };
}
