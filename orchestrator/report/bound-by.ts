import { stoppedListeners } from '../verdict/application-bounds.ts';
import type { StoredResult } from './result-schema.ts';

/* What bound a run, as its plots and report headline say it: the kernel's limit, or an application's own. */

/**
 * Whether an application of the user's own shaped the clients' connect rate: a client bound by one, or a server that
 * stopped accepting (its queue full to the end: later connects wait or time out). A server that accepts and closes
 * what it has no room for leaves the rate to the kernel's port search.
 */
export const rateShapedByApplication = (result: StoredResult) =>
  result.clients.some((entry) => 'bound' in entry && entry.bound?.by === 'application') ||
  (result.server.kernel !== undefined && stoppedListeners(result.server.kernel).length > 0);

/** Whether an application of the user's own bound a container (its own limit, below the kernel's). */
const applicationBoundIn = (result: StoredResult) =>
  [result.server, ...result.clients].some((entry) => 'bound' in entry && entry.bound?.by === 'application');

/**
 * The limit that bound the run: an application's own where the kernel's view named one (the kernel's limits were
 * then only ceilings), else the measured prediction's.
 */
export function boundLimitOf(result: StoredResult): string {
  return applicationBoundIn(result) ? "application (its own limit, the kernel's view shows)" : result.prediction.measured.limit;
}

/** The containers measured, not judged (an application of the user's own with no expectation stated): "" when none. */
export function measuredNote(result: StoredResult): string {
  const measured = [...result.clients, result.server].filter((entry) => entry.verdict === 'measured').map((entry) => entry.name);
  return measured.length > 0 ? `measured, not judged (no expect: for them): ${measured.join(', ')}` : '';
}
