import { describe, expect, it } from 'vitest';
import { ASSUMED_ENVIRONMENT } from '../../orchestrator/predict/environment.ts';
import { predict } from '../../orchestrator/predict/predict.ts';
import { listScenarioNames, loadScenario } from '../../orchestrator/scenario/load-scenario.ts';

/** What each shipped scenario predicts before anything is measured: the numbers the README's table quotes. */
const EXPECTED: Record<string, { clients: Array<[string, number, string, string | null]>; server: number; limit: string }> = {
  'default-range': { clients: [['client-1', 28231, 'port-range', 'EADDRNOTAVAIL'], ['client-2', 28231, 'port-range', 'EADDRNOTAVAIL']], server: 56462, limit: 'port-range' },
  'wide-range': { clients: [['client-1', 64511, 'port-range', 'EADDRNOTAVAIL'], ['client-2', 64511, 'port-range', 'EADDRNOTAVAIL']], server: 129022, limit: 'port-range' },
  'extra-listen-ports': { clients: [['two-ports-1', 2000, 'port-range', 'EADDRNOTAVAIL'], ['one-port-1', 1000, 'port-range', 'EADDRNOTAVAIL']], server: 3000, limit: 'port-range' },
  'nofile-limit': { clients: [['client-1', 10237, 'nofile', 'EMFILE']], server: 10237, limit: 'nofile' },
  'server-beyond-65535': {
    clients: [['client-1', 28231, 'port-range', 'EADDRNOTAVAIL'], ['client-2', 28231, 'port-range', 'EADDRNOTAVAIL'], ['client-3', 28231, 'port-range', 'EADDRNOTAVAIL']],
    server: 84693,
    limit: 'port-range',
  },
  'server-nofile': { clients: [['client-1', 5093, 'server-nofile', 'ETIMEDOUT']], server: 996, limit: 'server-nofile' },
  'bind-before-connect': { clients: [['bind-zero-1', 1000, 'port-range', 'EADDRINUSE'], ['bind-no-port-1', 2000, 'port-range', 'EADDRNOTAVAIL']], server: 3000, limit: 'port-range' },
  'shared-local-port': { clients: [['reuseaddr-1', 2, 'bound-port', 'EADDRNOTAVAIL'], ['no-reuseaddr-1', 1, 'bound-port', 'EADDRINUSE']], server: 3, limit: 'bound-port' },
};

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
