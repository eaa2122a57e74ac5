import { describe, expect, it } from 'vitest';
import { runCli } from '../cli/run-cli.ts';
import { SHIPPED_EXPECTATIONS } from '../shipped-expectations.ts';
import { readResults } from './docker-helpers.ts';

/** default-range and wide-range have tests of their own (scenarios.test.ts). */
const SEED_SCENARIOS = Object.keys(SHIPPED_EXPECTATIONS).filter((name) => name !== 'default-range' && name !== 'wide-range');

describe('the seeds\' claims, each as a shipped scenario on the real engine', () => {
  it.each(SEED_SCENARIOS)('%s: every container ends at the predicted count, stopped by the predicted limit', async (name) => {
    const expected = SHIPPED_EXPECTATIONS[name]!;
    const result = await runCli([name]);
    expect(result.exitCode).toBe(0);
    const [run] = await readResults(result.resultsDir);
    expect(run?.clients.map((client) => [client.name, client.observed, client.limit, client.observedError])).toEqual(expected.clients);
    expect(run?.server.observed).toBe(expected.server);
    expect(run?.verdict).toBe('pass');
  });
});
