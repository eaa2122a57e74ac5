import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/**
 * Whether the module at `moduleUrl` is the program node was asked to run. Compared as real file paths: a URL keeps
 * %20 for a space and percent-escapes non-ASCII, and node resolves symlinks for the main module but not in argv.
 */
export function isEntryPoint(moduleUrl: string): boolean {
  const script = process.argv[1];
  if (!script) return false;
  try {
    return realpathSync(script) === realpathSync(fileURLToPath(moduleUrl));
  } catch {
    return false;
  }
}

/**
 * Output whose reader went away (`portlab ... | head`) is dropped instead of ending the program with a stack trace:
 * a run goes on to remove what it made, and exits as it would have.
 */
export function ignoreClosedOutput(): void {
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (error: NodeJS.ErrnoException) => {
      if (error.code !== 'EPIPE') throw error;
    });
  }
}
