import { readFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { z } from 'zod';
import { writeFileAtomic } from '../common/atomic-write.ts';

const Grants = z.strictObject({
  nofileCeiling: z.number().int().nullable(),
  defaultNofile: z.strictObject({ soft: z.number().int(), hard: z.number().int() }),
  /** The nproc a container naming its nofile must name too; null: none needed (absent from older caches: none). */
  nprocWithNofile: z.strictObject({ soft: z.number().int(), hard: z.number().int() }).nullable().optional(),
});
type Grants = z.infer<typeof Grants>;

/** Where portlab remembers engines: $PORTLAB_CACHE_DIR, else $XDG_CACHE_HOME/portlab, else ~/.cache/portlab. */
export function cacheDir(): string {
  if (process.env.PORTLAB_CACHE_DIR) return path.resolve(process.env.PORTLAB_CACHE_DIR);
  return path.join(process.env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache'), 'portlab');
}

/** A JSON file of this shape in the cache directory, or an empty record when it is missing, unreadable or not of it. */
async function readCacheFile<Entry>(file: string, schema: z.ZodType<Record<string, Entry>>): Promise<Record<string, Entry>> {
  try {
    const parsed = schema.safeParse(JSON.parse(await readFile(file, 'utf8')));
    return parsed.success ? parsed.data : {};
  } catch {
    return {};
  }
}

/**
 * Records by key (an engine) in one small JSON file of the cache directory. A file that is missing, unreadable or
 * not of this shape is empty, never an error; a write that fails only means measuring again next time.
 */
export class KeyedCache<Entry> {
  private readonly schema: z.ZodType<Record<string, Entry>>;

  constructor(
    private readonly file: string,
    entry: z.ZodType<Entry>,
  ) {
    this.schema = z.record(z.string(), entry);
  }

  read(): Promise<Record<string, Entry>> {
    return readCacheFile(this.file, this.schema);
  }

  async get(key: string): Promise<Entry | undefined> {
    return (await this.read())[key];
  }

  async set(key: string, entry: Entry): Promise<void> {
    await writeFileAtomic(this.file, `${JSON.stringify({ ...(await this.read()), [key]: entry }, null, 2)}\n`).catch(() => undefined);
  }

  async clear(): Promise<void> {
    await writeFileAtomic(this.file, '{}\n').catch(() => undefined);
  }
}

/** What engines grant, remembered between runs. */
export class GrantCache extends KeyedCache<Grants> {
  constructor(file = path.join(cacheDir(), 'engine-grants.json')) {
    super(file, Grants);
  }

  forget(): Promise<void> {
    return this.clear();
  }
}
