import { describe, expect, it } from 'vitest';
import { progressPart } from '../../orchestrator/cli/run-command.ts';
import type { ContainerObservation } from '../../orchestrator/observe/observation.ts';

const observation = (name: string, count: number, finished = false, error: string | null = null) =>
  ({ name, count, finished, error }) as ContainerObservation;

describe('the live line: each container against its prediction', () => {
  it("says a filling client's share of its predicted count and the time its estimate leaves", () => {
    expect(progressPart(observation('client-1', 14_115), { predicted: { min: 28_231, max: 28_231 }, fillSeconds: 20 }, 5_000)).toBe(
      'client-1 14,115 of 28,231, 49%, about 15 s left connecting',
    );
    expect(progressPart(observation('client-1', 28_000), { predicted: { min: 28_231, max: 28_231 }, fillSeconds: 20 }, 30_000)).toBe(
      'client-1 28,000 of 28,231, 99%, past its estimate (about 20 s) connecting',
    );
  });

  it('says how a client ended, and what the server accepted of its prediction', () => {
    expect(progressPart(observation('client-2', 1_000, true, 'EADDRNOTAVAIL'), { predicted: { min: 1_000, max: 1_000 } }, 9_000)).toBe(
      'client-2 1,000 of 1,000, 100% done EADDRNOTAVAIL',
    );
    expect(progressPart(observation('server', 500), { predicted: { min: 2_000, max: null } }, 9_000)).toBe(
      'server 500 of at least 2,000 accepted',
    );
    expect(progressPart(observation('client-3', 7), undefined, 9_000)).toBe('client-3 7 connecting');
  });
});
