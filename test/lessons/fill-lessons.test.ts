import { describe, expect, it } from 'vitest';
import { fillCostsIn } from '../../orchestrator/learn/fill-calibration.ts';
import { fillCostsOf, MIN_STRETCH_CONNECTS } from '../../orchestrator/learn/fill-lessons.ts';
import { estimateFills, firstParity, fitCheckCost } from '../../orchestrator/predict/fill-time.ts';
import { loadScenario } from '../../orchestrator/scenario/load-scenario.ts';
import type { RunResult } from '../../orchestrator/report/result-schema.ts';
import { resultFixture } from '../report/report-fixtures.ts';

/** A cost the engine is supposed to have: what the series below are drawn with. */
const TRUE = { connect: 100e-6, base: 50e-9, perEntry: 400e-9 };
const HOST = { cores: 2, ehashEntries: 262_144 };

/**
 * Two clients of wide-range filling on two cores as the model says they do, a point every 10 ms: a quick connect
 * while the first parity has free ports, then a connect plus h checks, each at the chain the host holds by then.
 */
function drawnFill(ports: number, clients: number): { t: number[]; count: number[]; seconds: number } {
  const h = firstParity(ports);
  const share = Math.min(1, HOST.cores / clients);
  const t: number[] = [0];
  const count: number[] = [0];
  let held = 0;
  let time = 0;
  let budget = 0;
  while (held < ports) {
    budget += 0.01 * share;
    time += 0.01;
    for (;;) {
      const chain = (2 * held * clients) / HOST.ehashEntries;
      const cost = held < h ? TRUE.connect : TRUE.connect + h * (TRUE.base + TRUE.perEntry * chain);
      if (budget < cost || held >= ports) break;
      budget -= cost;
      held++;
    }
    t.push(Math.round(time * 1000));
    count.push(held);
  }
  return { t, count, seconds: time };
}

async function drawnResult(): Promise<{ result: RunResult; seconds: number }> {
  const fixture = resultFixture('wide-range');
  const drawn = drawnFill(64_511, 2);
  const series = (count: number[]) => ({ probeStartedAt: 1_000_000, t: drawn.t, count, timeWait: null });
  const result: RunResult = {
    ...fixture,
    environment: { ...fixture.environment, host: { files: null, memoryAvailableKb: null, ...HOST } },
    clients: fixture.clients.map((client) => ({ ...client, observed: 64_511, verdict: 'pass', series: series(drawn.count) })),
    server: { ...fixture.server, series: series(drawn.count.map((count) => 2 * count)) },
  };
  return { result, seconds: drawn.seconds };
}

describe('what a fill teaches: the costs read back from its counts over time', () => {
  it('reads back the connect and check costs a fill was drawn with', async () => {
    const { result } = await drawnResult();
    const { scenario } = await loadScenario('wide-range');
    const costs = fillCostsOf(scenario, result);
    expect(costs.connectSeconds).toHaveLength(2);
    for (const connect of costs.connectSeconds) expect(connect).toBeCloseTo(TRUE.connect, 5);
    expect(costs.checks).toHaveLength(8);
    const line = fitCheckCost(costs.checks)!;
    expect(line.perEntry / TRUE.perEntry).toBeGreaterThan(0.95);
    expect(line.perEntry / TRUE.perEntry).toBeLessThan(1.05);
  });

  it('and predicts the fill it learnt from within a few percent', async () => {
    const { result, seconds } = await drawnResult();
    const { scenario } = await loadScenario('wide-range');
    const loads = ['client-1', 'client-2'].map((name) => ({ name, portsPerDestination: 64_511, destinations: 1, workers: 1 }));
    const estimate = estimateFills(loads, { ...HOST, endsOnHost: 2 }, fillCostsOf(scenario, result))!.get('client-1')!;
    expect(estimate.seconds / seconds).toBeGreaterThan(0.97);
    expect(estimate.seconds / seconds).toBeLessThan(1.03);
  });

  it('a run whose host was not measured (cores, established hash) teaches nothing', async () => {
    const { scenario } = await loadScenario('wide-range');
    expect(fillCostsOf(scenario, resultFixture('wide-range'))).toEqual({ connectSeconds: [], checks: [] });
  });
});

describe('stretches too short to measure a check', () => {
  it('are not taken: fewer than 100 connects (a small range), or learnt before their connects were kept', () => {
    const stretch = (connects?: number) => ({ scanned: 100, entries: 0.001, seconds: 4e-4, ...(connects ? { connects } : {}) });
    const record = { connects: [1e-4], checks: [stretch(), stretch(12), stretch(MIN_STRETCH_CONNECTS)], churnRates: [] };
    expect(fillCostsIn(record).checks).toEqual([stretch(MIN_STRETCH_CONNECTS)]);
  });
});
