import { parseArgs } from 'node:util';

export type CliOptions = {
  scenarios: string[];
  dryRun: boolean;
  json: boolean;
  keep: boolean;
  cleanup: boolean;
  help: boolean;
};

export class UsageError extends Error {
  override name = 'UsageError';
}

export const USAGE = `usage: npm run scenario -- <name or path> [...more] [--dry-run] [--json] [--keep]
       npm run scenario -- --cleanup

  <name>       a file in scenarios/ (default-range means scenarios/default-range.yml); a path is used as given
  --dry-run    validate, predict and compile only; print the plan and create nothing in Docker
  --json       print the plan (dry run) or the results as JSON on stdout instead of tables
  --keep       leave the containers and network of a run in place for inspection
  --cleanup    remove every container and network that portlab runs left behind (found by label)

exit codes: 0 all verdicts pass, 1 a verdict failed, 2 bad input, 3 engine unavailable or run error`;

export function parseCliArgs(argv: string[]): CliOptions {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      strict: true,
      options: {
        'dry-run': { type: 'boolean', default: false },
        json: { type: 'boolean', default: false },
        keep: { type: 'boolean', default: false },
        cleanup: { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
      },
    });
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  const options: CliOptions = {
    scenarios: parsed.positionals,
    dryRun: parsed.values['dry-run'] ?? false,
    json: parsed.values.json ?? false,
    keep: parsed.values.keep ?? false,
    cleanup: parsed.values.cleanup ?? false,
    help: parsed.values.help ?? false,
  };
  if (!options.help && !options.cleanup && options.scenarios.length === 0) {
    throw new UsageError('name at least one scenario (or pass --cleanup)');
  }
  if (options.cleanup && options.scenarios.length > 0) {
    throw new UsageError('--cleanup takes no scenario names');
  }
  return options;
}
