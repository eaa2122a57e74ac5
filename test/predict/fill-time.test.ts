import { describe, expect, it } from 'vitest';
import {
  aboutDuration,
  ehashChain,
  estimateFills,
  fitCheckCost,
  sharedFinish,
  type FillHost,
  type FillLoad,
} from '../../orchestrator/predict/fill-time.ts';

const HOST: FillHost = { cores: 2, ehashEntries: 262_144, endsOnHost: 2 };
const wide = (name: string, destinations = 1, workers = 1): FillLoad => ({ name, portsPerDestination: 64_511, destinations, workers });

describe('sharedFinish: clients filling at once share the cores evenly, each at most its workers', () => {
  it('four equal fills on two cores take twice as long as one alone', () => {
    expect(sharedFinish([10, 10, 10, 10], [1, 1, 1, 1], 2)).toEqual([20, 20, 20, 20]);
    expect(sharedFinish([10], [1], 2)).toEqual([10]);
  });

  it('one client with two workers uses both cores; a short fill frees its share for the rest', () => {
    expect(sharedFinish([10], [2], 2)).toEqual([5]);
    const [short, long] = sharedFinish([1, 3], [1, 1], 1);
    expect([short, long]).toEqual([2, 4]);
  });
});

describe('fitCheckCost: the cost of a check from the ports a connect scans and the chain its lookups walk', () => {
  const cost = (scanned: number, entries: number) => 100e-9 + 5e-12 * scanned + 30e-9 * entries;

  it('finds the plane the samples lie on', () => {
    const samples = [
      [14_115, 0.3],
      [32_255, 0.6],
      [32_255, 1.8],
      [4_031, 4],
    ].map(([scanned, entries]) => ({ scanned: scanned!, entries: entries!, seconds: cost(scanned!, entries!) }));
    const line = fitCheckCost(samples)!;
    expect(line.base).toBeCloseTo(100e-9, 12);
    expect(line.perScanned).toBeCloseTo(5e-12, 15);
    expect(line.perEntry).toBeCloseTo(30e-9, 12);
  });

  it('a variable the samples do not spread over is left out', () => {
    const samples = [0.3, 1, 2].map((entries) => ({ scanned: 32_255, entries, seconds: 100e-9 + 30e-9 * entries }));
    expect(fitCheckCost(samples)).toMatchObject({ perScanned: 0 });
    expect(fitCheckCost(samples)!.perEntry).toBeCloseTo(30e-9, 12);
  });

  it('samples at one scan and chain, or sloping down: a flat cost, their mean', () => {
    const flat = [1e-7, 3e-7, 2e-7].map((seconds) => ({ scanned: 32_255, entries: 2, seconds }));
    expect(fitCheckCost(flat)).toMatchObject({ base: 2e-7, perScanned: 0, perEntry: 0 });
    const down = [
      { scanned: 32_255, entries: 1, seconds: 3e-7 },
      { scanned: 32_255, entries: 4, seconds: 1e-7 },
    ];
    expect(fitCheckCost(down)?.perEntry).toBe(0);
    expect(fitCheckCost([])).toBeNull();
  });
});

describe('estimateFills: connects at once, then h checks per connect, on shared cores', () => {
  const costs = { connectSeconds: [40e-6], checks: [{ scanned: 32_255, entries: 3, seconds: 150e-9 }] };

  it('nothing measured on this engine yet: no estimate', () => {
    expect(estimateFills([wide('client-1')], HOST, { connectSeconds: [], checks: [] })).toBeNull();
  });

  it("one wide client: 32,255 quick connects, then 32,256 connects that each check the first parity's 32,255 ports", () => {
    const h = 32_255;
    const expected = h * 40e-6 + 32_256 * (40e-6 + h * 150e-9);
    expect(estimateFills([wide('client-1')], HOST, costs)!.get('client-1')!.seconds).toBeCloseTo(expected, 6);
  });

  it('four such clients at once on two cores: each takes twice as long as one alone (flat cost)', () => {
    const alone = estimateFills([wide('client-1')], HOST, costs)!.get('client-1')!.seconds;
    const four = estimateFills(
      ['client-1', 'client-2', 'client-3', 'client-4'].map((name) => wide(name)),
      HOST,
      costs,
    )!;
    expect(four.get('client-3')!.seconds).toBeCloseTo(2 * alone, 6);
    expect(four.get('client-3')!.basis).toContain('4 clients filling at once on 2 cores');
  });

  it('four destinations make four searches, and the chains they walk grow with the sockets held', () => {
    const sloped = {
      connectSeconds: [40e-6],
      checks: [1, 5].map((entries) => ({ scanned: 32_255, entries, seconds: 100e-9 + 25e-9 * entries })),
    };
    const one = estimateFills([wide('client-1')], HOST, sloped)!.get('client-1')!.seconds;
    const four = estimateFills([wide('client-1', 4)], HOST, sloped)!.get('client-1')!.seconds;
    expect(four).toBeGreaterThan(4 * one);
  });

  it('the chain: both ends of every connection in the established hash; one end when the server is elsewhere', () => {
    expect(ehashChain(HOST, 262_144)).toBe(2);
    expect(ehashChain({ ...HOST, endsOnHost: 1 }, 262_144)).toBe(1);
  });
});

describe('aboutDuration', () => {
  it('says a duration as a person would', () => {
    expect([aboutDuration(0.2), aboutDuration(14.4), aboutDuration(200), aboutDuration(4000), aboutDuration(6000)]).toEqual([
      'about 1 s',
      'about 14 s',
      'about 3 min',
      'about 67 min',
      'about 1 h 40 min',
    ]);
  });
});
