import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The checkout portlab runs from: the nearest folder above this module with portlab's package.json. Found by
 * looking, not by counting folders, so it holds for the sources (orchestrator/scenario/) and the bundle (dist/).
 */
export const PROJECT_ROOT = findProjectRoot(path.dirname(fileURLToPath(import.meta.url)));

function findProjectRoot(from: string): string {
  for (let dir = from; ; dir = path.dirname(dir)) {
    try {
      if (JSON.parse(readFileSync(path.join(dir, 'package.json'), 'utf8')).name === 'portlab') return dir;
    } catch {
      // no package.json here, or not portlab's: look further up
    }
    if (path.dirname(dir) === dir) throw new Error(`cannot find portlab's package.json above ${from}`);
  }
}
