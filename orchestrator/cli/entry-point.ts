import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { EXIT } from './exit-codes.ts';

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

/** Asking for usage or the version: nothing else is done (no journal read, no engine). */
const asksForUsage = (argv: string[]) =>
  argv.length === 0 || argv[0] === 'help' || argv.some((arg) => /^(--help|-h|--version|-v)$/.test(arg));

/**
 * How every command of every bundle starts, before it does its own work: output whose reader went away is dropped, an
 * empty PORTLAB_SESSION is refused (empty would mean no session, every run on the engine, to a command meant to see
 * only one session's), and host-wide settings a crashed portlab left changed are put back, one line each, whatever
 * the command (`ls`, `report` and `schema` as much as `run`). Returns the command's exit code.
 */
export async function runEntryPoint(argv: string[], command: (argv: string[]) => Promise<number>): Promise<number> {
  ignoreClosedOutput();
  if (asksForUsage(argv)) return command(argv);
  const session = process.env.PORTLAB_SESSION;
  if (session !== undefined && session.trim() === '') {
    process.stderr.write('portlab: PORTLAB_SESSION is set but empty: unset it to work with every run, or give it a name\n');
    return EXIT.badInput;
  }
  const { restoreHostSettings } = await import('../engine/host-settings.ts');
  for (const line of await restoreHostSettings()) process.stderr.write(`portlab: ${line}\n`);
  return command(argv);
}
