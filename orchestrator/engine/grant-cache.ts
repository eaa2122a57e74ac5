import { readFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { z } from 'zod';
import { writeFileAtomic } from '../report/atomic-write.ts';

const Grants = z.strictObject({
  nofileCeiling: z.number().int().nullable(),
  defaultNofile: z.strictObject({ soft: z.number().int(), hard: z.number().int() }),
});
type Grants = z.infer<typeof Grants>;
const CacheFile = z.record(z.string(), Grants);

/** Where portlab remembers engines: $PORTLAB_CACHE_DIR, else $XDG_CACHE_HOME/portlab, else ~/.cache/portlab. */
export function cacheDir(): string {
  if (process.env.PORTLAB_CACHE_DIR) return path.resolve(process.env.PORTLAB_CACHE_DIR);
  return path.join(process.env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache'), 'portlab');
}

/** A JSON file of this shape in the cache directory, or an empty record when it is missing, unreadable or not of it. */
export async function readCacheFile<Entry>(file: string, schema: z.ZodType<Record<string, Entry>>): Promise<Record<string, Entry>> {
  try {
    const parsed = schema.safeParse(JSON.parse(await readFile(file, 'utf8')));
    return parsed.success ? parsed.data : {};
  } catch {
    return {};
  }
}

/**
 * What engines grant, remembered between runs in one small JSON file. A file that is missing, unreadable or not of
 * this shape is an empty cache (the grants are measured again), never an error.
 */
export class GrantCache {
  constructor(private readonly file = path.join(cacheDir(), 'engine-grants.json')) {}

  private read(): Promise<Record<string, Grants>> {
    return readCacheFile(this.file, CacheFile);
  }

  async get(key: string): Promise<Grants | undefined> {
    return (await this.read())[key];
  }

  async set(key: string, grants: Grants): Promise<void> {
    // A cache that cannot be written only means measuring again next time.
    await writeFileAtomic(this.file, `${JSON.stringify({ ...(await this.read()), [key]: grants }, null, 2)}\n`).catch(() => undefined);
  }

  async forget(): Promise<void> {
    await writeFileAtomic(this.file, '{}\n').catch(() => undefined);
  }
}
