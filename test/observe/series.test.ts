import { describe, expect, it } from 'vitest';
import { ContainerLog } from '../../orchestrator/observe/observation.ts';
import { ProbeLog } from '../../orchestrator/observe/probe-log.ts';
import { MAX_SERIES_POINTS, seriesPoints, thinPoints, toSeries, type SeriesPoint } from '../../orchestrator/observe/series.ts';
import { readyEvent } from '../probe-fixtures.ts';

const points = (count: number, step = 10): SeriesPoint[] =>
  Array.from({ length: count }, (_, index) => ({ t: index * step, count: index, timeWait: null }));

describe('thinPoints', () => {
  it('keeps a short series as it is', () => {
    expect(thinPoints(points(5), 10)).toEqual(points(5));
  });

  it('keeps at most the maximum, the first and the last point among them, evenly spread in time', () => {
    const thinned = thinPoints(points(10_001), 101);
    expect(thinned).toHaveLength(101);
    expect(thinned[0]).toEqual({ t: 0, count: 0, timeWait: null });
    expect(thinned.at(-1)).toEqual({ t: 100_000, count: 10_000, timeWait: null });
    // One point per slice of 1,000 ms: the last of each slice.
    expect(thinned[1]?.t).toBe(990);
    expect(thinned[50]?.t).toBe(49_990);
  });

  it('a burst of points in a short time does not crowd out the rest of the run', () => {
    const burst = points(5_000, 1); // 5 s
    const slow = Array.from({ length: 10 }, (_, index) => ({ t: 10_000 + index * 10_000, count: 5_000 + index, timeWait: null }));
    const thinned = thinPoints([...burst, ...slow], 100);
    expect(thinned.filter((point) => point.t >= 10_000)).toHaveLength(10);
  });
});

describe("a container's series from its probe lines", () => {
  it('starts at 0 when the probe is ready and follows the sum of its workers, with TIME_WAIT where reported', () => {
    const log = new ContainerLog('client-1');
    log.add(readyEvent({ t: 5, epochMs: 1_700_000_000_000, processes: 2 }));
    log.add({ event: 'progress', role: 'client', worker: 0, count: 100, timeWait: 90, t: 15 });
    log.add({ event: 'progress', role: 'client', worker: 1, count: 50, timeWait: 140, t: 16 });
    log.add({ event: 'progress', role: 'client', worker: 0, count: 300, timeWait: -1, t: 30 });
    log.add({ event: 'done', role: 'client', worker: 1, count: 80, errno: 'EADDRNOTAVAIL', reason: 'error', timeWait: 380, t: 40 });
    expect(log.series()).toEqual({
      probeStartedAt: 1_700_000_000_000,
      t: [5, 15, 16, 30, 40],
      count: [0, 100, 150, 350, 380],
      // -1: the probe could not read /proc/net/sockstat
      timeWait: [null, 90, 140, null, 380],
    });
  });

  it('a hold run without TIME_WAIT figures has no TIME_WAIT column', () => {
    const log = new ContainerLog('client-1');
    log.add(readyEvent());
    log.add({ event: 'progress', role: 'client', worker: 0, count: 10, t: 20 });
    expect(log.series().timeWait).toBeNull();
  });

  it('workers taking turns add up: the second starts from what the first handed over', () => {
    const log = new ContainerLog('client-1');
    log.add(readyEvent({ handoff: true, processes: 2 }));
    log.add({ event: 'done', role: 'client', worker: 0, count: 19_997, errno: 'EMFILE', reason: 'handoff', t: 5_000 });
    log.add({ event: 'progress', role: 'client', worker: 1, count: 3, t: 5_010 });
    expect(log.series().count).toEqual([0, 19_997, 20_000]);
  });

  it('a phased client keeps one series per phase', () => {
    const log = new ProbeLog('client-1');
    log.addLine(JSON.stringify(readyEvent({ phases: 2 })));
    log.addLine(JSON.stringify({ event: 'progress', role: 'client', worker: 0, count: 7, timeWait: 7, t: 20, phase: 1 }));
    log.addLine(JSON.stringify({ event: 'progress', role: 'client', worker: 0, count: 4, t: 30, phase: 2 }));
    const series = log.series();
    expect(series['client-1/phase-1']?.count).toEqual([0, 7]);
    expect(series['client-1/phase-2']).toMatchObject({ t: [5, 30], count: [0, 4] });
  });

  it('round-trips through the stored columns, thinned to the maximum', () => {
    const stored = toSeries(points(MAX_SERIES_POINTS * 3), 42);
    expect(stored.t).toHaveLength(MAX_SERIES_POINTS);
    expect(seriesPoints(stored).at(-1)).toEqual({ t: (MAX_SERIES_POINTS * 3 - 1) * 10, count: MAX_SERIES_POINTS * 3 - 1, timeWait: null });
  });
});
