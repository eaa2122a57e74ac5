import { Ajv2020 } from 'ajv/dist/2020.js';
import { describe, expect, it } from 'vitest';
import { ContainerLog } from '../../orchestrator/observe/observation.ts';
import { predict } from '../../orchestrator/predict/predict.ts';
import { buildResult } from '../../orchestrator/report/build-result.ts';
import { resultJsonSchema } from '../../orchestrator/report/result-json-schema.ts';
import { RunResult } from '../../orchestrator/report/result-schema.ts';
import { environmentOf, withContainerFacts } from '../../orchestrator/run-environment.ts';
import { parseScenario } from '../../orchestrator/scenario/load-scenario.ts';
import { judge } from '../../orchestrator/verdict/judge.ts';
import { readyEvent } from '../probe-fixtures.ts';
import type { EngineFacts } from '../../orchestrator/engine/engine-facts.ts';
import type { EndReason } from '../../orchestrator/engine/run-record.ts';

const ENGINE: EngineFacts = {
  version: { dockerVersion: '20.10.24+dfsg1', apiVersion: '1.41', kernelVersion: '6.18.44', os: 'linux' },
  nofileCeiling: 20000,
  defaultNofile: { soft: 20000, hard: 20000 },
  conntrack: { max: 262144, inUse: 7 },
};
const SCENARIO = parseScenario(
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

const T0 = Date.parse('2026-11-23T00:00:00Z');

function resultOf(clientCount: number, endReason: EndReason = 'clients-done') {
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

describe('buildResult', () => {
  it('narrows the prediction with what the probes measured: the DNS listener sat inside the range (999, not 999-1,000)', () => {
    const result = resultOf(999);
    expect(result.prediction.before.clients[0]?.connections).toEqual({ min: 999, max: 1000 });
    expect(result.prediction.measured.clients[0]?.connections).toEqual({ min: 999, max: 999 });
    expect(result.verdict).toBe('pass');
  });

  it('records requested vs granted nofile, the worker layout and the sysctls read back', () => {
    const result = resultOf(999);
    expect(result.environment.containers['client-1']).toMatchObject({
      requestedNofile: { soft: 100000, hard: 100000 },
      grantedNofile: { soft: 20000, hard: 20000 },
      processes: 1,
      fdBudget: 19997,
      sysctlsRequested: { 'net.ipv4.ip_local_port_range': '40000 40999' },
      sysctlsApplied: { 'net.ipv4.ip_local_port_range': '40000 40999', 'net.ipv4.tcp_tw_reuse': '2' },
      boundPorts: [40500],
    });
    expect(result.environment.engineNofileCeiling).toBe(20000);
    expect(result.total).toEqual({
      predicted: { min: 999, max: 999 },
      allowed: { min: 999, max: 999 },
      observed: 999,
      verdict: 'pass',
      why: '999 is within the predicted total 999',
    });
    expect(result.clients[0]).toMatchObject({ observed: 999, stoppedAfterMs: 150, errors: { EADDRNOTAVAIL: 1 } });
  });

  it("keeps each container's series: from its ready line (count 0) to its last report", () => {
    const result = resultOf(999);
    expect(result.clients[0]?.series).toEqual({ probeStartedAt: null, t: [5, 150], count: [0, 999], timeWait: null });
    expect(result.server.series?.count).toEqual([0, 999]);
  });

  it('a run cut by its time limit is incomplete, its containers not judged', () => {
    const result = resultOf(500, 'duration');
    expect(result.verdict).toBe('incomplete');
    expect(result.clients[0]).toMatchObject({
      observed: 500,
      verdict: 'not judged',
      why: '500 when the run reached its time limit; not judged against the predicted 999',
    });
  });

  it('says where the time went, step by step', () => {
    expect(resultOf(999).run.phasesMs).toEqual({
      preflight: 1000,
      serverStart: 400,
      serverReady: 200,
      clientsStart: 300,
      fill: 1200,
      stop: 500,
      remove: 200,
    });
  });

  it('a run that did not complete is an error whatever the counts say', () => {
    const result = resultOf(999, 'failed');
    expect(result.verdict).toBe('error');
    expect(result.why[0]).toBe('the run did not complete: the server probe failed');
    // Its containers' counts are kept, but nothing is judged on them: no pass, no fail; the one it failed on is an error.
    expect([...result.clients, result.server].map((container) => container.verdict)).toEqual(['not judged', 'error']);
    expect(result.server.why).toBe('999 when the run failed on it: the server probe failed');
  });

  it('matches the zod schema and the published JSON Schema', () => {
    const result = resultOf(999);
    expect(RunResult.safeParse(result).success).toBe(true);
    const validate = new Ajv2020({ strict: false }).compile(resultJsonSchema());
    expect(validate(JSON.parse(JSON.stringify(result)))).toBe(true);
    expect(validate({ ...result, verdict: 'maybe' })).toBe(false);
  });
});
