import { isEntryPoint, runEntryPoint } from './entry-point.ts';
import { badUsage, showUsage } from './exit-codes.ts';
import { parseCliArgs, USAGE, UsageError, type CliOptions } from './parse-args.ts';

/*
 * `portlab run` (and `npm run scenario`): parses the command line with nothing else loaded, so --help answers at
 * once; what a command needs is loaded when it runs.
 */

/** Flags npm took for itself (`npm run scenario x --dry-run` passes nothing and sets npm_config_dry_run). */
const NPM_SWALLOWED = [
  ['npm_config_dry_run', '--dry-run'],
  ['npm_config_json', '--json'],
  ['npm_config_keep', '--keep'],
] as const;

/**
 * Under npm, a flag given without `--` reaches portlab only as npm_config_<name>: honoured, and said in one line, so
 * that `npm run scenario x --dry-run` is a dry run, never a silent real run.
 */
export function withNpmFlags(argv: string[], env: NodeJS.ProcessEnv = process.env): { argv: string[]; notes: string[] } {
  if (env.npm_lifecycle_event === undefined) return { argv, notes: [] };
  const taken = NPM_SWALLOWED.filter(([name, flag]) => env[name] === 'true' && !argv.includes(flag));
  return {
    argv: [...argv, ...taken.map(([, flag]) => flag)],
    notes: taken.map(
      ([, flag]) => `portlab: npm took ${flag} for itself (put it after --, as in npm run scenario -- <name> ${flag}); doing it anyway`,
    ),
  };
}

/** Runs the command line and returns the exit code; every error is printed here, once. */
export async function main(args: string[]): Promise<number> {
  const { argv, notes } = withNpmFlags(args);
  let options: CliOptions;
  try {
    options = parseCliArgs(argv);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    return badUsage(error.message, USAGE);
  }
  if (options.help) return showUsage(USAGE);
  for (const note of notes) process.stderr.write(`${note}\n`);
  try {
    if (options.dryRun) return await (await import('./dry-run-command.ts')).dryRun(options);
    const { runCommand } = await import('./run-command.ts');
    return await runCommand(options);
  } catch (error) {
    return (await import('./report-error.ts')).reportError(error);
  }
}

if (isEntryPoint(import.meta.url)) process.exitCode = await runEntryPoint(process.argv.slice(2), main);
