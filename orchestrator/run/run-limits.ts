import { durationMs } from '../scenario/duration.ts';
import { SCENARIO_DEFAULTS } from '../scenario/scenario-defaults.ts';
import { type Scenario } from '../scenario/scenario-schema.ts';
import { SERVER_NAME } from '../scenario/names.ts';
import type { FillEstimate } from '../predict/fill-time.ts';
import type { CountRange, Prediction } from '../predict/prediction-schema.ts';

const CHURN_GRACE_MS = 30_000;

/**
 * How long a run may take once its clients start: the user's own bound, kept as written. Churning clients stop
 * themselves at their duration, and the run waits a little longer for their last report; a hold with a duration of
 * its own ends there. A hold without one is never cut while counts move (a fill on a slow or busy machine just takes
 * longer): it ends only once nothing has moved for the default hold duration. Fill estimates never change it.
 */
export function runLimits(scenario: Scenario): { limitMs: number; stallLimitMs?: number } {
  const explicit = scenario.clients.flatMap((group) =>
    group.mode === 'churn' ? [durationMs(group.duration ?? '0s') + CHURN_GRACE_MS] : group.duration ? [durationMs(group.duration)] : [],
  );
  const open = scenario.clients.some((group) => group.mode === 'hold' && group.duration === undefined);
  return open
    ? { limitMs: Number.POSITIVE_INFINITY, stallLimitMs: durationMs(SCENARIO_DEFAULTS.clients.holdDuration) }
    : { limitMs: Math.max(...explicit) };
}

/** What the live line compares each container's count with: its predicted count, and its fill's estimated time. */
export type ExpectedProgress = Record<string, { predicted: CountRange; fillSeconds?: number }>;

export function expectedProgress(prediction: Prediction, estimates: Record<string, FillEstimate>): ExpectedProgress {
  const expected: ExpectedProgress = { [SERVER_NAME]: { predicted: prediction.server.accepted } };
  for (const client of prediction.clients)
    if (client.phase === null) expected[client.name] = { predicted: client.connections, fillSeconds: estimates[client.name]?.seconds };
  return expected;
}
