import { Ajv2020 } from 'ajv/dist/2020.js';
import { describe, expect, it } from 'vitest';
import { resultJsonSchema } from '../../orchestrator/report/result-json-schema.ts';
import { RunResult } from '../../orchestrator/report/result-schema.ts';
import { resultOf } from './judged-result.ts';

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
