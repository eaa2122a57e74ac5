import type { Prediction } from './predict/prediction-schema.ts';
import { estimateFill, type FillEstimate, type FillSample } from './predict/fill-time.ts';
import type { RunResult } from './report/result-schema.ts';
import { containerNames } from './scenario/names.ts';
import { type Scenario } from './scenario/scenario-schema.ts';

/* What passed runs teach about an engine, and what it is used for: how long a client takes to fill its ports, and
 * how fast an unpaced churn goes. Learnt and used the same way on every backend. */

/** A client that holds until its local ports run out: how many ports per destination, and how many destinations. */
function portFill(scenario: Scenario, client: Prediction['clients'][number]): { portsPerDestination: number; destinations: number } | null {
  const group = scenario.clients.find((candidate) => candidate.name === client.group);
  // An application's own pace is its own: only the probe's fills teach how fast this engine fills ports.
  if (
    !group ||
    group.image !== undefined ||
    client.mode !== 'hold' ||
    client.phase !== null ||
    client.limit !== 'port-range' ||
    group.bind !== 'none'
  )
    return null;
  const destinations = client.targets.length * group.sourceAddresses;
  // The most it may fill (an odd range, or the DNS listener not yet placed, gives an interval of a port or two).
  const max = client.connections.max;
  return max === null ? null : { portsPerDestination: Math.round(max / destinations), destinations };
}

/** Each filling client's expected time, when this engine has filled ports before. */
export function fillEstimates(scenario: Scenario, prediction: Prediction, samples: FillSample[]): Record<string, FillEstimate> {
  const estimates: Record<string, FillEstimate> = {};
  for (const client of prediction.clients) {
    const fill = portFill(scenario, client);
    const estimate = fill ? estimateFill(fill.portsPerDestination, fill.destinations, samples) : null;
    if (estimate) estimates[client.name] = estimate;
  }
  return estimates;
}

/** What a passed run teaches about this engine: each filling client's ports and time. */
export function fillSamples(scenario: Scenario, result: RunResult): FillSample[] {
  return result.prediction.measured.clients.flatMap((client) => {
    const fill = portFill(scenario, client);
    const observed = result.clients.find((entry) => entry.name === client.name);
    if (!fill || !observed || observed.verdict !== 'pass' || observed.stoppedAfterMs === null || observed.stoppedAfterMs <= 0) return [];
    // What it filled: its count per destination, where the prediction was an interval.
    return [{ ...fill, portsPerDestination: Math.round(observed.observed / fill.destinations), seconds: observed.stoppedAfterMs / 1000 }];
  });
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
