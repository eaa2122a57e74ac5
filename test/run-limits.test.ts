import { describe, expect, it } from 'vitest';
import { runLimits } from '../orchestrator/run/run-limits.ts';
import { parseScenario } from '../orchestrator/scenario/load-scenario.ts';

const scenario = (clients: string) =>
  parseScenario(`name: limits\nserver: { ports: [5000] }\nclients: ${clients}\n`, 'limits.yml', 'limits');

describe("a run's time limit", () => {
  it('a hold with a duration of its own ends there, as written: no estimate stretches it', () => {
    expect(runLimits(scenario('{ count: 1, mode: hold, duration: 10m }'))).toEqual({ limitMs: 600_000 });
    expect(runLimits(scenario('{ count: 1, mode: hold, duration: 20s }'))).toEqual({ limitMs: 20_000 });
  });

  it('a churn ends at its duration and waits 30 s more for its last report', () => {
    expect(runLimits(scenario('{ count: 1, mode: churn, duration: 5s }'))).toEqual({ limitMs: 35_000 });
  });

  it('a hold without one is never cut while counts move: it ends on a stall of the default hold duration', () => {
    expect(runLimits(scenario('{ count: 1, mode: hold }'))).toEqual({
      limitMs: Number.POSITIVE_INFINITY,
      stallLimitMs: 600_000,
    });
  });
});
