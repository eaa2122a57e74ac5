import path from 'node:path';
import { z } from 'zod';
import { CheckSample, type FillCosts } from '../predict/fill-time.ts';
import { cacheDir, KeyedCache } from '../engine/grant-cache.ts';
import { MIN_STRETCH_CONNECTS } from './fill-lessons.ts';

const EngineRecord = z.object({
  /** Seconds of one core per connect while a client's first parity had free ports. */
  connects: z.array(z.number().positive()).default([]),
  /** Seconds of one core per port check once it had none, with the hash entries each check walked. */
  checks: z.array(CheckSample).default([]),
  /** Connections per second that unpaced churning clients reached. */
  churnRates: z.array(z.number()).default([]),
});
export type EngineRecord = z.infer<typeof EngineRecord>;

/**
 * What an engine measured of its port search, as the fill-time model takes it: only stretches long enough to measure
 * (learnt before their connects were kept, a stretch is taken as too short).
 */
export const fillCostsIn = (record: EngineRecord): FillCosts => ({
  connectSeconds: record.connects,
  checks: record.checks.filter((check) => (check.connects ?? 0) >= MIN_STRETCH_CONNECTS),
});
/**
 * Measurements kept per engine: the latest ones, so a machine that changed is measured again. Stretches of checks are
 * kept per size of scan, so that many runs of one range do not push out what other ranges measured.
 */
const KEEP = { connects: 24, checksPerScan: 16, churnRates: 20 };

/** The latest `keep` stretches of each scan size, in the order they came. */
function latestPerScan(checks: CheckSample[], keep: number): CheckSample[] {
  const seen = new Map<number, number>();
  return [...checks]
    .reverse()
    .filter((check) => {
      const count = (seen.get(check.scanned) ?? 0) + 1;
      seen.set(check.scanned, count);
      return count <= keep;
    })
    .reverse();
}

/**
 * What fills and churns cost on each engine (its id, version, kernel), remembered between runs: the time a run
 * estimates for its clients, and the speed of an unpaced churn estimated before it runs, come from these (never a
 * verdict, a cut or a limit). Missing or unreadable
 * is an empty store, never an error; fields of older versions are dropped.
 */
export class FillCalibration extends KeyedCache<EngineRecord> {
  constructor(file = path.join(cacheDir(), 'fill-times.json')) {
    super(file, EngineRecord);
  }

  async of(engine: string): Promise<EngineRecord> {
    return (await this.get(engine)) ?? { connects: [], checks: [], churnRates: [] };
  }

  async add(engine: string, learned: { fills: FillCosts; churnRates: number[] }): Promise<void> {
    const { connectSeconds, checks } = learned.fills;
    if (connectSeconds.length === 0 && checks.length === 0 && learned.churnRates.length === 0) return;
    const known = await this.of(engine);
    await this.set(engine, {
      connects: [...known.connects, ...connectSeconds].slice(-KEEP.connects),
      checks: latestPerScan([...known.checks, ...checks], KEEP.checksPerScan),
      churnRates: [...known.churnRates, ...learned.churnRates].slice(-KEEP.churnRates),
    });
  }
}
