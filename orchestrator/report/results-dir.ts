import { mkdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { writeFileAtomic } from '../common/atomic-write.ts';

/** Where results go: PORTLAB_RESULTS_DIR (portlab run --results-dir sets it), else ./results where the command was typed. */
export const RESULTS_DIR = process.env.PORTLAB_RESULTS_DIR
  ? path.resolve(process.env.PORTLAB_RESULTS_DIR)
  : path.join(process.env.INIT_CWD ?? process.cwd(), 'results');

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

/**
 * Writes a run's result where it belongs. When the results directory cannot take it any more (it filled up, or went
 * away, during the run), nothing measured is lost: the result goes to the temporary directory instead, and the run
 * ends with one line naming both (exit 3).
 */
export async function writeResultFile(file: string, json: string): Promise<void> {
  try {
    await writeFileAtomic(file, json);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? (error as Error).message;
    const fallback = path.join(os.tmpdir(), path.basename(file));
    const kept = await writeFileAtomic(fallback, json).then(
      () => `it was written to ${fallback} instead (npm run report -- ${fallback} makes its report)`,
      () => `nor to ${fallback}`,
    );
    throw new ResultsDirError(`cannot write the result to ${file} (${code}); ${kept}`, { cause: error });
  }
}
