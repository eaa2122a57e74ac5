import { describe, expect, it } from 'vitest';
import { progressLine, progressPart } from '../../orchestrator/cli/progress-line.ts';
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

describe('the live line at scale', () => {
  const expected = Object.fromEntries([
    ...Array.from({ length: 32 }, (_, i) => [`client-${i + 1}`, { predicted: { min: 32_256, max: 32_256 }, fillSeconds: 540 }]),
    ['server', { predicted: { min: 262_112, max: 262_144 } }],
  ]);
  const observations = Object.fromEntries([
    ...Array.from({ length: 32 }, (_, i) => [
      `client-${i + 1}`,
      observation(`client-${i + 1}`, i === 6 ? 1_000 : 8_000, i < 4, i < 4 ? 'ETIMEDOUT' : null),
    ]),
    ['server', observation('server', 248_000)],
  ]);

  it("past a handful of containers: each group's total, how many are done, its slowest member, and the server", () => {
    expect(progressLine('one-million', observations, 120_000, expected)).toBe(
      'one-million 120s  client ×32 249,000 of 1,032,192, 24%, 4 of 32 done, slowest client-7 1,000 of 32,256, 3%, about 7 min left connecting  server 248,000 of 262,112-262,144, 94% accepted',
    );
  });

  it("fits a terminal's width", () => {
    const line = progressLine('one-million', observations, 120_000, expected, 80);
    expect(line).toHaveLength(79);
    expect(line.endsWith('…')).toBe(true);
  });

  it('a handful of containers: each of them', () => {
    const few = { 'client-1': observation('client-1', 10), server: observation('server', 10) };
    expect(progressLine('small', few, 2_000, {})).toBe('small 2s  client-1 10 connecting  server 10 accepted');
  });
});
