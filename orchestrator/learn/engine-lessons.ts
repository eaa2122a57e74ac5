import type { Prediction } from '../predict/prediction-schema.ts';
import { destinationsOf } from '../predict/ports.ts';
import { estimateFills, type FillCosts, type FillEstimate, type FillHost, type FillLoad } from '../predict/fill-time.ts';
import type { HostLimits } from '../engine/engine-facts.ts';
import type { Environment } from '../predict/environment.ts';
import type { RunResult } from '../report/result-schema.ts';
import { containerNames } from '../scenario/names.ts';
import { type Scenario } from '../scenario/scenario-schema.ts';

/* What passed runs teach about an engine, and what it is used for: how long a client takes to fill its ports, and
 * how fast an unpaced churn goes. Learnt and used the same way on every backend. */

/** A client that holds until its local ports run out: how many ports per destination, and how many destinations. */
export function portFill(
  scenario: Scenario,
  client: Prediction['clients'][number],
): { portsPerDestination: number; destinations: number } | null {
  const group = scenario.clients.find((candidate) => candidate.name === client.group);
  // An application's own pace is its own: only the probe's fills teach how fast this engine fills ports.
  if (
    !group ||
    group.image !== undefined ||
    client.mode !== 'hold' ||
    client.phase !== null ||
    client.limit !== 'port-range' ||
    group.bind !== 'none' ||
    // A socket's own range is searched port by port in one pass, not by parity: another search than the model's.
    group.socketPortRange !== undefined
  )
    return null;
  const destinations = destinationsOf(group, client.targets.length);
  // The most it may fill (an odd range, or the DNS listener not yet placed, gives an interval of a port or two).
  const max = client.connections.max;
  return max === null ? null : { portsPerDestination: Math.round(max / destinations), destinations };
}

/** The host a run's clients fill on, as its preflight measured it; null when it was not measured (cores, ehash). */
export function fillHostOf(host: HostLimits | undefined, network: Environment['network']): FillHost | null {
  if (!host?.cores || !host.ehashEntries) return null;
  // Both ends of a connection are sockets of one kernel on a bridge; across an overlay the server's may be elsewhere.
  return { cores: host.cores, ehashEntries: host.ehashEntries, endsOnHost: network === 'bridge' ? 2 : 1 };
}

/** How many of a client's workers connect at once: those of `processes: auto` take turns (the probe's --handoff). */
export function connectingAtOnce(scenario: Scenario, client: Prediction['clients'][number], workers: number): number {
  const group = scenario.clients.find((candidate) => candidate.name === client.group);
  return group?.processes === 'auto' ? 1 : Math.max(1, workers);
}

/** The clients that fill their ports, as the fill-time model takes them. */
function fillLoads(scenario: Scenario, prediction: Prediction): FillLoad[] {
  return prediction.clients.flatMap((client) => {
    const fill = portFill(scenario, client);
    return fill ? [{ name: client.name, ...fill, workers: connectingAtOnce(scenario, client, client.workers.processes) }] : [];
  });
}

/** Each filling client's expected time, when this engine has filled ports before. */
export function fillEstimates(
  scenario: Scenario,
  prediction: Prediction,
  costs: FillCosts,
  host: FillHost | null,
): Record<string, FillEstimate> {
  const estimates = host ? estimateFills(fillLoads(scenario, prediction), host, costs) : null;
  return estimates ? Object.fromEntries(estimates) : {};
}

/** What a passed run teaches about this engine's speed: each unpaced churning client's connections per second. */
export function churnRates(scenario: Scenario, result: RunResult): number[] {
  return result.clients.flatMap((client) => {
    const group = scenario.clients.find((candidate) => containerNames(candidate).includes(client.name));
    if (
      !group ||
      group.mode !== 'churn' ||
      group.rate !== undefined ||
      group.phases ||
      client.stoppedAfterMs === null ||
      client.stoppedAfterMs <= 0
    )
      return [];
    return [Math.round(client.observed / (client.stoppedAfterMs / 1000))];
  });
}
