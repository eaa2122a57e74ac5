import { ContainerLog } from '../../orchestrator/observe/observation.ts';
import { predict } from '../../orchestrator/predict/predict.ts';
import { buildResult } from '../../orchestrator/report/build-result.ts';
import { environmentOf, withContainerFacts } from '../../orchestrator/run/run-environment.ts';
import { parseScenario } from '../../orchestrator/scenario/load-scenario.ts';
import { judge } from '../../orchestrator/verdict/judge.ts';
import { readyEvent } from '../probe-fixtures.ts';
import type { EngineFacts } from '../../orchestrator/engine/engine-facts.ts';
import type { EndReason } from '../../orchestrator/engine/run-record.ts';

/** A run judged from made-up probe lines (no engine): a client of 1,000 ports that held `clientCount`. */
export const ENGINE: EngineFacts = {
  version: { dockerVersion: '20.10.24+dfsg1', apiVersion: '1.41', kernelVersion: '6.18.44', os: 'linux' },
  nofileCeiling: 20000,
  defaultNofile: { soft: 20000, hard: 20000 },
  conntrack: { max: 262144, inUse: 7 },
};
export const SCENARIO = parseScenario(
  'server: { ulimits: { nofile: 1000000 } }\nclients: { ulimits: { nofile: 100000 }, sysctls: { net.ipv4.ip_local_port_range: "40000 40999" } }',
  'scenarios/r.yml',
  'r',
);

function ready(role: 'client' | 'server', boundPorts: number[]) {
  const server = role === 'server';
  return readyEvent({
    role,
    fdsOpen: server ? 4 : 3,
    portRange: server ? { low: 32768, high: 60999 } : { low: 40000, high: 40999 },
    boundPorts,
    sysctls: { 'net.ipv4.tcp_tw_reuse': '2' },
    fdBudget: server ? 19996 : 19997,
  });
}

export const T0 = Date.parse('2026-11-23T00:00:00Z');

export function resultOf(clientCount: number, endReason: EndReason = 'clients-done') {
  const env = environmentOf(ENGINE);
  const before = predict(SCENARIO, env);
  const client = new ContainerLog('client-1');
  client.add(ready('client', [40500]));
  client.add({ event: 'done', role: 'client', worker: 0, count: clientCount, errno: 'EADDRNOTAVAIL', reason: 'error', t: 150 });
  const server = new ContainerLog('server');
  server.add(ready('server', [5000, 36000]));
  server.add({ event: 'done', role: 'server', worker: 0, count: clientCount, errno: 'none', t: 900 });
  const observations = { 'client-1': client.snapshot(), server: server.snapshot() };
  const measured = predict(SCENARIO, withContainerFacts(env, observations));
  return buildResult({
    scenario: SCENARIO,
    scenarioFile: 'scenarios/r.yml',
    composeFile: 'r-20261123T000000Z.compose.yml',
    runId: 'abc123',
    project: { name: 'portlab-r-abc123', services: {}, networks: {} },
    engine: ENGINE,
    network: env.network,
    grantsRemembered: false,
    preparedAt: new Date(T0 - 1000),
    before,
    measured,
    judgement: judge(measured, observations, SCENARIO.expect.tolerance),
    record: {
      observations,
      series: { 'client-1': client.series(), server: server.series() },
      cleanupErrors: [],
      nodes: {},
      timeline: {
        serverStarted: T0 + 400,
        serverReady: T0 + 600,
        clientsStarted: T0 + 900,
        clientsDone: T0 + 2100,
        stopped: T0 + 2600,
        removed: T0 + 2800,
      },
      endReason,
      failure: endReason === 'failed' ? 'the server probe failed' : null,
      failedBecause: endReason === 'failed' ? { kind: 'probe-failed', container: 'server', cause: 'the server probe failed' } : null,
      startedAt: new Date('2026-11-23T00:00:00Z'),
      endedAt: new Date('2026-11-23T00:00:03Z'),
    },
    kept: false,
  });
}
