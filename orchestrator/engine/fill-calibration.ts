import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import type { FillSample } from '../predict/fill-time.ts';
import { writeFileAtomic } from '../report/atomic-write.ts';
import { cacheDir } from './grant-cache.ts';

const Sample = z.strictObject({ portsPerDestination: z.number().int(), destinations: z.number().int(), seconds: z.number() });
const CalibrationFile = z.record(z.string(), z.array(Sample));
/** Fills kept per engine: the latest ones, so a machine that changed is measured again. */
const KEEP = 20;

/**
 * How long clients took to fill their port ranges on each engine (its id, version, kernel), remembered between runs:
 * the time a run predicts for its clients comes from these. Missing or unreadable is an empty store, never an error.
 */
export class FillCalibration {
  constructor(private readonly file = path.join(cacheDir(), 'fill-times.json')) {}

  private async read(): Promise<Record<string, FillSample[]>> {
    try {
      const parsed = CalibrationFile.safeParse(JSON.parse(await readFile(this.file, 'utf8')));
      return parsed.success ? parsed.data : {};
    } catch {
      return {};
    }
  }

  async samples(engine: string): Promise<FillSample[]> {
    return (await this.read())[engine] ?? [];
  }

  async add(engine: string, samples: FillSample[]): Promise<void> {
    if (samples.length === 0) return;
    const all = await this.read();
    const kept = [...(all[engine] ?? []), ...samples].slice(-KEEP);
    await writeFileAtomic(this.file, `${JSON.stringify({ ...all, [engine]: kept }, null, 2)}\n`).catch(() => undefined);
  }
}
