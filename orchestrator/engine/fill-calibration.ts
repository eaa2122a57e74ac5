import path from 'node:path';
import { z } from 'zod';
import type { FillSample } from '../predict/fill-time.ts';
import { cacheDir, KeyedCache } from './grant-cache.ts';

const Sample = z.strictObject({ portsPerDestination: z.number().int(), destinations: z.number().int(), seconds: z.number() });
const EngineRecord = z.strictObject({
  fills: z.array(Sample).default([]),
  /** Connections per second that unpaced churning clients reached. */
  churnRates: z.array(z.number()).default([]),
});
type EngineRecord = z.infer<typeof EngineRecord>;
/** Fills kept per engine: the latest ones, so a machine that changed is measured again. */
const KEEP = 20;

/**
 * How long clients took to fill their port ranges on each engine (its id, version, kernel), and how fast unpaced
 * churning clients went, remembered between runs: the time a run predicts for its clients, and whether an unpaced
 * churn outruns TIME_WAIT, come from these. Missing or unreadable is an empty store, never an error.
 */
export class FillCalibration extends KeyedCache<EngineRecord> {
  constructor(file = path.join(cacheDir(), 'fill-times.json')) {
    super(file, EngineRecord);
  }

  async of(engine: string): Promise<EngineRecord> {
    return (await this.get(engine)) ?? { fills: [], churnRates: [] };
  }

  async add(engine: string, learned: { fills: FillSample[]; churnRates: number[] }): Promise<void> {
    if (learned.fills.length === 0 && learned.churnRates.length === 0) return;
    const known = await this.of(engine);
    await this.set(engine, {
      fills: [...known.fills, ...learned.fills].slice(-KEEP),
      churnRates: [...known.churnRates, ...learned.churnRates].slice(-KEEP),
    });
  }
}
