import { mkdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { PROJECT_ROOT } from '../common/project-root.ts';

export const RESULTS_DIR = process.env.PORTLAB_RESULTS_DIR
  ? path.resolve(process.env.PORTLAB_RESULTS_DIR)
  : path.join(PROJECT_ROOT, 'results');

/** 2026-11-23T13:45:07.123Z -> 20261123T134507Z, safe in file names and sorted by time. */
export const fileStamp = (at: Date) =>
  at
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, 'Z');

/** The results directory cannot take files: said before the run starts, in one line, exit 3. */
export class ResultsDirError extends Error {
  override name = 'ResultsDirError';
}

/** Makes sure results can be written to `dir` before anything runs: creates it, writes and removes a file there. */
export async function ensureWritable(dir: string): Promise<void> {
  const probe = path.join(dir, `.portlab-write-check-${process.pid}`);
  try {
    await mkdir(dir, { recursive: true });
    await writeFile(probe, '');
    await rm(probe, { force: true });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? (error as Error).message;
    throw new ResultsDirError(`cannot write results to ${dir} (${code}); set PORTLAB_RESULTS_DIR to a directory you can write`);
  }
}
