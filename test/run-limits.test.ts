import { describe, expect, it } from 'vitest';
import { runLimits } from '../orchestrator/run-scenario.ts';
import { parseScenario } from '../orchestrator/scenario/load-scenario.ts';

const scenario = (clients: string) =>
  parseScenario(`name: limits\nserver: { ports: [5000] }\nclients: ${clients}\n`, 'limits.yml', 'limits');
const estimate = (seconds: number) => ({ 'client-1': { seconds, basis: '' } });

describe("a run's time limit", () => {
  it('a hold with a duration of its own ends there, or after twice its fill estimate when that is longer', () => {
    const held = scenario('{ count: 1, mode: hold, duration: 10m }');
    expect(runLimits(held, {})).toEqual({ limitMs: 600_000 });
    expect(runLimits(held, estimate(100))).toEqual({ limitMs: 600_000 });
    expect(runLimits(held, estimate(944))).toEqual({ limitMs: 2 * 944_000 });
  });

  it('a hold without one is never cut while counts move: it ends on a stall of the default hold duration', () => {
    expect(runLimits(scenario('{ count: 1, mode: hold }'), estimate(944))).toEqual({
      limitMs: Number.POSITIVE_INFINITY,
      stallLimitMs: 600_000,
    });
  });
});
