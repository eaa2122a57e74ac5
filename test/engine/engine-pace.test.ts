import { describe, expect, it } from 'vitest';
import { engineCall, paceDeadlineMs, SLOW_ENGINE_FACTOR, type EnginePace } from '../../orchestrator/engine/docker/call.ts';
import { EngineHungError } from '../../orchestrator/engine/errors.ts';

const answerAfter = (ms: number) => (signal: AbortSignal) =>
  new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => resolve('answered'), ms);
    signal.addEventListener('abort', () => {
      clearTimeout(timer);
      reject(new Error('aborted'));
    });
  });

describe("a slow engine's deadlines follow its slowest answer", () => {
  it('the default until an answer takes longer than a tenth of it, then ten times the slowest answer, at most 10 minutes', () => {
    expect(paceDeadlineMs(30_000, { slowestMs: 2_000, slowestWhat: '' })).toBe(30_000);
    expect(paceDeadlineMs(30_000, { slowestMs: 12_000, slowestWhat: '' })).toBe(12_000 * SLOW_ENGINE_FACTOR);
    expect(paceDeadlineMs(30_000, { slowestMs: 300_000, slowestWhat: '' })).toBe(600_000);
  });

  it('an engine that answered slowly once is waited for past the default; one that never answers is still hung', async () => {
    const pace: EnginePace = { slowestMs: 0, slowestWhat: '' };
    const call = engineCall(() => 'the engine', 100, pace);
    const fail = () => 'failed';
    // 250 ms is past the default of 100 ms: hung, on an engine that has not answered slowly yet.
    await expect(call('a start', answerAfter(250), fail)).rejects.toThrow(
      new EngineHungError('the engine did not answer a start within 0 s (is dockerd hung?)'),
    );
    expect(await call('a create', answerAfter(60), fail)).toBe('answered');
    expect(pace).toEqual({ slowestMs: expect.any(Number), slowestWhat: 'a create' });
    // Now 10 x ~60 ms: the same 250 ms start is waited for.
    expect(await call('a start', answerAfter(250), fail)).toBe('answered');
    expect(pace.slowestWhat).toBe('a start');
    // A call with a deadline of its own waits on purpose: it does not set the pace.
    expect(await call('a stop', answerAfter(400), fail, { timeoutMs: 1_000 })).toBe('answered');
    expect(pace.slowestWhat).toBe('a start');
    await expect(call('a wait', answerAfter(60_000), fail)).rejects.toThrow(
      /did not answer a wait within \d s, 10 times its slowest answer so far \(a start: 0\.\d s\)/,
    );
  });
});
