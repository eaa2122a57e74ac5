import { describe, expect, it } from 'vitest';
import { ASSUMED_ENVIRONMENT } from '../../orchestrator/predict/environment.ts';
import { predict } from '../../orchestrator/predict/predict.ts';
import { observationKey } from '../../orchestrator/predict/prediction-schema.ts';
import { listScenarioNames, loadScenario } from '../../orchestrator/scenario/load-scenario.ts';
import { expectedRange, SHIPPED_EXPECTATIONS as EXPECTED } from '../shipped-expectations.ts';
import { NO_STOP, Prediction, stopsWith } from '../../orchestrator/predict/prediction-schema.ts';

describe('shipped scenarios', () => {
  it('every file in scenarios/ has an expected prediction here', async () => {
    expect((await listScenarioNames()).filter((name) => !(name in EXPECTED))).toEqual([]);
  });

  it.each(Object.entries(EXPECTED))('%s predicts what the README says', async (name, expected) => {
    const { scenario } = await loadScenario(name);
    expect(scenario.description).not.toBe('');
    const prediction = predict(scenario, ASSUMED_ENVIRONMENT);
    expect(prediction.clients.map((client) => [observationKey(client), client.connections, client.limit, client.error])).toEqual(
      expected.clients.map(([name, count, limit, error]) => [
        name,
        expectedRange(count),
        limit,
        error === null ? NO_STOP : stopsWith(error),
      ]),
    );
    expect(prediction.server.accepted).toEqual(expectedRange(expected.server));
    expect(prediction.limit).toBe(expected.limit);
    // In the published shape: what a result stores is exactly this.
    expect(Prediction.safeParse(prediction).error?.issues ?? []).toEqual([]);
  });
});
