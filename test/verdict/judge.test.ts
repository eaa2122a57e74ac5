import { describe, expect, it } from 'vitest';
import { ContainerLog, type ContainerObservation } from '../../orchestrator/observe/observation.ts';
import { ASSUMED_ENVIRONMENT } from '../../orchestrator/predict/environment.ts';
import { predict } from '../../orchestrator/predict/predict.ts';
import { parseScenario } from '../../orchestrator/scenario/load-scenario.ts';
import { judge, toleranceFor } from '../../orchestrator/verdict/judge.ts';
import { readyEvent } from '../probe-fixtures.ts';

const SCENARIO = parseScenario(
  'server: { ulimits: { nofile: 100000 } }\nclients: { count: 2, ulimits: { nofile: 100000 }, sysctls: { net.ipv4.ip_local_port_range: "10000 10999" } }',
  't.yml',
  't',
);
const PREDICTION = predict(SCENARIO, ASSUMED_ENVIRONMENT);

/** What a probe that held `count` connections and stopped with `errno` reports. */
function observed(name: string, role: 'client' | 'server', count: number, errno: string): ContainerObservation {
  const log = new ContainerLog(name);
  log.add(readyEvent({ role, nofile: { soft: 100000, hard: 100000 }, portRange: { low: 10000, high: 10999 }, fdBudget: 99997 }));
  log.add({ event: 'done', role, worker: 0, count, errno, t: 2 });
  return log.snapshot();
}

const observations = (client1: number, client2: number, errno = 'EADDRNOTAVAIL') => ({
  'client-1': observed('client-1', 'client', client1, errno),
  'client-2': observed('client-2', 'client', client2, errno),
  server: observed('server', 'server', client1 + client2, 'none'),
});

describe('judge', () => {
  it('passes when every count equals the prediction and the clients stopped for the predicted reason', () => {
    const judgement = judge(PREDICTION, observations(1000, 1000), 0);
    expect(judgement.verdict).toBe('pass');
    expect(judgement.clients[0]).toMatchObject({ verdict: 'pass', observed: 1000, observedError: 'EADDRNOTAVAIL' });
    expect(judgement.why[0]).toBe('client-1: pass: 1,000 is within the predicted 1,000; stopped with EADDRNOTAVAIL as predicted (port-range)');
  });

  it('fails a client one connection short with no tolerance', () => {
    const judgement = judge(PREDICTION, observations(999, 1000), 0);
    expect(judgement.verdict).toBe('fail');
    expect(judgement.clients[0]?.verdict).toBe('fail');
    expect(judgement.clients[0]?.why).toBe('999 is outside the predicted 1,000; stopped with EADDRNOTAVAIL as predicted (port-range)');
    expect(judgement.clients[1]?.verdict).toBe('pass');
  });

  it('a tolerance in connections widens the allowed interval', () => {
    const judgement = judge(PREDICTION, observations(999, 1001), 1);
    expect(judgement.verdict).toBe('pass');
    expect(judgement.clients[0]?.allowed).toEqual({ min: 999, max: 1001 });
  });

  it('fails the right count stopped for the wrong reason', () => {
    const judgement = judge(PREDICTION, observations(1000, 1000, 'EMFILE'), 0);
    expect(judgement.verdict).toBe('fail');
    expect(judgement.clients[0]?.why).toBe('1,000 is within the predicted 1,000; stopped with EMFILE, but EADDRNOTAVAIL (port-range) was predicted');
  });

  it('is an error, not a failure, when a probe never reported or failed', () => {
    const missing = judge(PREDICTION, { 'client-1': observed('client-1', 'client', 1000, 'EADDRNOTAVAIL') }, 0);
    expect(missing.verdict).toBe('error');
    expect(missing.clients[1]?.why).toBe('client-2 never reported ready');
  });

  it.each([
    [0, { min: 1000, max: 1000 }, 0],
    [5, { min: 1000, max: 1000 }, 5],
    ['1%', { min: 1000, max: 1010 }, 11],
    ['0.5%', { min: 28231, max: 28231 }, 142],
  ] as const)('tolerance %j of %j is %d connections', (tolerance, predicted, expected) => {
    expect(toleranceFor(tolerance, predicted)).toBe(expected);
  });
});
