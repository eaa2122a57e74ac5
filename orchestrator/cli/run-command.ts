import { EXIT } from './exit-codes.ts';
import type { CliOptions } from './parse-args.ts';

export async function runCommand(_options: CliOptions): Promise<number> {
  process.stderr.write('portlab: running scenarios on the engine is not built yet; use --dry-run\n');
  return EXIT.runError;
}
