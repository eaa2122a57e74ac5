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
    expect(judgement.why[0]).toBe(
      'client-1: pass: 1,000 is within the predicted 1,000; stopped with EADDRNOTAVAIL as predicted (port-range)',
    );
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
    expect(judgement.clients[0]?.why).toBe(
      '1,000 is within the predicted 1,000; stopped with EMFILE, but EADDRNOTAVAIL (port-range) was predicted',
    );
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

describe('judge: the total of clients that share a limit', () => {
  // Three clients against a server with nofile 20,000: it accepts 19,996 and queues 4,097 (one listening port).
  const shared = parseScenario(
    'server: { ulimits: { nofile: 20000 } }\nclients: { count: 3, ulimits: { nofile: 100000 }, sysctls: { net.ipv4.ip_local_port_range: "10000 19999" } }',
    't.yml',
    't',
  );
  const prediction = predict(shared, ASSUMED_ENVIRONMENT);
  const three = (a: number, b: number, c: number) => {
    const client = (name: string, count: number) => {
      const log = new ContainerLog(name);
      log.add(
        readyEvent({ role: 'client', nofile: { soft: 100000, hard: 100000 }, portRange: { low: 10000, high: 19999 }, fdBudget: 99997 }),
      );
      log.add({ event: 'done', role: 'client', worker: 0, count, errno: 'ETIMEDOUT', t: 2 });
      return log.snapshot();
    };
    const server = new ContainerLog('server');
    server.add(readyEvent({ role: 'server', nofile: { soft: 20000, hard: 20000 }, fdBudget: 19996 }));
    server.add({ event: 'done', role: 'server', worker: 0, count: 19996, errno: 'EMFILE', t: 2 });
    return {
      'client-1': client('client-1', a),
      'client-2': client('client-2', b),
      'client-3': client('client-3', c),
      server: server.snapshot(),
    };
  };

  it('the prediction: each client 4,093 to 10,000 (its share depends on timing), all together 24,093 and up to 2 more', () => {
    // 19,996 accepted + 4,097 queued, and at most one handshake per other client whose final ACK the full queue
    // dropped (a swarm run measured 24,094).
    expect(prediction.total).toEqual({ min: 24093, max: 24095 });
    expect(prediction.clients.map((client) => client.connections)).toEqual([
      { min: 4093, max: 10000 },
      { min: 4093, max: 10000 },
      { min: 4093, max: 10000 },
    ]);
  });

  it('passes when the clients together reach the predicted total, however it is shared', () => {
    const judgement = judge(prediction, three(10000, 10000, 4093), 0);
    expect(judgement.total).toMatchObject({
      observed: 24093,
      verdict: 'pass',
      why: '24,093 is within the predicted total 24,093-24,095, capped by server-nofile',
    });
    expect(judgement.verdict).toBe('pass');
    expect(judgement.why.at(-1)).toBe('all clients: pass: 24,093 is within the predicted total 24,093-24,095, capped by server-nofile');
    // One client counting a handshake the server never queued, as on the swarm: still the kernel's doing.
    expect(judge(prediction, three(10000, 10000, 4094), 0).total).toMatchObject({ observed: 24094, verdict: 'pass' });
    expect(judge(prediction, three(10000, 10000, 4096), 0).total).toMatchObject({ observed: 24096, verdict: 'fail' });
  });

  it('fails when every client is within its own interval but the total is not the predicted one', () => {
    const judgement = judge(prediction, three(8000, 8000, 8000), 0);
    expect(judgement.clients.map((client) => client.verdict)).toEqual(['pass', 'pass', 'pass']);
    expect(judgement.total).toMatchObject({ observed: 24000, verdict: 'fail' });
    expect(judgement.verdict).toBe('fail');
  });

  it('a count tolerance applies once per client to the total', () => {
    expect(judge(prediction, three(8000, 8000, 8000), 31).total.verdict).toBe('pass');
    expect(judge(prediction, three(8000, 8000, 8000), 30).total.verdict).toBe('fail');
  });
});

describe('judge: a server whose workers share the accepts', () => {
  const wide = parseScenario(
    'server: { ulimits: { nofile: 1000000 } }\nclients: { count: 2, ulimits: { nofile: 100000 }, sysctls: { net.ipv4.ip_local_port_range: "1024 65535" } }',
    't.yml',
    't',
  );
  const engine20000 = { ...ASSUMED_ENVIRONMENT, engineNofileCeiling: 20000, engineDefaultNofile: { soft: 20000, hard: 20000 } };
  const prediction = predict(wide, engine20000);
  const run = (serverWorkers: Array<[number, string]>) => {
    const client = (name: string) => {
      const log = new ContainerLog(name);
      log.add(readyEvent({ role: 'client', nofile: { soft: 20000, hard: 20000 }, portRange: { low: 1024, high: 65535 }, fdBudget: 70000 }));
      log.add({ event: 'done', role: 'client', worker: 0, count: 64511, errno: 'EADDRNOTAVAIL', t: 2 });
      return log.snapshot();
    };
    const server = new ContainerLog('server');
    server.add(readyEvent({ role: 'server', nofile: { soft: 20000, hard: 20000 }, fdBudget: 159968 }));
    serverWorkers.forEach(([count, errno], worker) => server.add({ event: 'done', role: 'server', worker, count, errno, t: 3 }));
    return { 'client-1': client('client-1'), 'client-2': client('client-2'), server: server.snapshot() };
  };

  it('one worker using up its share (EMFILE) while the others accept the rest is not the server stopping', () => {
    expect(prediction.server.workers.processes).toBeGreaterThan(1);
    const shares: Array<[number, string]> = [
      [19996, 'EMFILE'],
      [19000, 'none'],
      [18000, 'none'],
      [18000, 'none'],
      [18000, 'none'],
      [18000, 'none'],
      [18026, 'none'],
    ];
    const judgement = judge(prediction, run(shares), 0);
    expect(judgement.server).toMatchObject({ observed: 129022, observedError: 'EMFILE', verdict: 'pass' });
    expect(judgement.server.why).toContain('one of its');
    expect(judgement.verdict).toBe('pass');
  });

  it('a server short of the prediction still fails, EMFILE or not', () => {
    const judgement = judge(
      prediction,
      run([
        [19996, 'EMFILE'],
        [19000, 'none'],
      ]),
      0,
    );
    expect(judgement.server.verdict).toBe('fail');
  });
});
