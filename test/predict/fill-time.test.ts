import { describe, expect, it } from 'vitest';
import { aboutDuration, estimateFill } from '../../orchestrator/predict/fill-time.ts';

describe("estimateFill: a client's time to fill its ports, from earlier fills on the engine", () => {
  it('nothing filled on this engine yet: no estimate', () => {
    expect(estimateFill(28231, 1, [])).toBeNull();
  });

  it('the same range as earlier fills: their median', () => {
    const estimate = estimateFill(28231, 1, [
      { portsPerDestination: 28231, destinations: 1, seconds: 14 },
      { portsPerDestination: 28231, destinations: 1, seconds: 20 },
      { portsPerDestination: 28231, destinations: 1, seconds: 15 },
    ]);
    expect(estimate?.seconds).toBe(15);
    expect(estimate?.basis).toBe('as earlier on this engine: 28,231 ports in 15.0 s, the median of 3 fills');
  });

  it('one earlier fill of another range: scaled by the square of the range, and by the destinations', () => {
    const estimate = estimateFill(2000, 2, [{ portsPerDestination: 1000, destinations: 1, seconds: 0.5 }]);
    expect(estimate?.seconds).toBeCloseTo(4);
    expect(estimate?.basis).toContain('scaled by the square of the range');
    expect(estimate?.basis).toContain('x 2 destinations');
  });

  it('between two earlier fills: the growth they show (here 28,231 in 15 s and 64,511 in 190 s: the 3.1 power)', () => {
    const samples = [
      { portsPerDestination: 28231, destinations: 1, seconds: 15 },
      { portsPerDestination: 64511, destinations: 1, seconds: 190 },
    ];
    const growth = Math.log(190 / 15) / Math.log(64511 / 28231);
    const estimate = estimateFill(40000, 1, samples);
    expect(estimate?.seconds).toBeCloseTo(15 * (40000 / 28231) ** growth);
    expect(estimate?.basis).toContain(`grows with the ${growth.toFixed(1)} power`);
  });

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
