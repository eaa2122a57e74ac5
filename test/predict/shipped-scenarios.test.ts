import { describe, expect, it } from 'vitest';
import { ASSUMED_ENVIRONMENT } from '../../orchestrator/predict/environment.ts';
import { predict } from '../../orchestrator/predict/predict.ts';
import { listScenarioNames, loadScenario } from '../../orchestrator/scenario/load-scenario.ts';
import { SHIPPED_EXPECTATIONS as EXPECTED } from '../shipped-expectations.ts';

describe('shipped scenarios', () => {
  it('every file in scenarios/ has an expected prediction here', async () => {
    expect((await listScenarioNames()).filter((name) => !(name in EXPECTED))).toEqual([]);
  });

  it.each(Object.entries(EXPECTED))('%s predicts what the README says', async (name, expected) => {
    const { scenario } = await loadScenario(name);
    expect(scenario.description).not.toBe('');
    const prediction = predict(scenario, ASSUMED_ENVIRONMENT);
    expect(prediction.clients.map((client) => [client.name, client.connections.max, client.limit, client.error])).toEqual(expected.clients);
    for (const client of prediction.clients) expect(client.connections.min).toBe(client.connections.max);
    expect(prediction.server.accepted).toEqual({ min: expected.server, max: expected.server });
    expect(prediction.limit).toBe(expected.limit);
  });
});
