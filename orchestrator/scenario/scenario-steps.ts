import { parsePortRange } from './port-range.ts';
import type { Phase, Scenario } from './scenario-schema.ts';

/** What the clients do, step by step: each group's phases, or the group itself. */
export const clientSteps = (scenario: Scenario): Array<Pick<Phase, 'mode' | 'close'>> =>
  scenario.clients.flatMap((group): Array<Pick<Phase, 'mode' | 'close'>> => group.phases ?? [group]);

/** Whether the server closes every accepted connection first (a churn with close: server), keeping the TIME_WAIT. */
export const serverClosesFirst = (scenario: Scenario) =>
  clientSteps(scenario).some((step) => step.mode === 'churn' && step.close === 'server');

/** The port range a scenario asks for, if it sets one. */
export function requestedPortRange(sysctlMap: Record<string, string>) {
  const text = sysctlMap['net.ipv4.ip_local_port_range'];
  return text === undefined ? undefined : parsePortRange(text);
}
