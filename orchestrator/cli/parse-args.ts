import { ENGINE_CHOICES, ENGINE_KINDS, engineKindsHelp, type EngineKind } from '../engine/registry.ts';
import { parseArgs } from 'node:util';

export type CliOptions = {
  scenarios: string[];
  dryRun: boolean;
  json: boolean;
  keep: boolean;
  cleanup: boolean;
  /** With --cleanup: remove this run only, whoever owns it. */
  cleanupRun: string | undefined;
  /** With --cleanup: remove every portlab run, live ones too. */
  all: boolean;
  /** Confirms --cleanup --all without asking. */
  yes: boolean;
  help: boolean;
  /** Where runs go: the local engine, or the swarm it manages. */
  engine: EngineKind;
  /** With --engine swarm: a registry to push the probe image to, for nodes that do not have it. */
  push: string | undefined;
  /** Where to write the runs' checks as JUnit XML, for CI systems. */
  junit: string | undefined;
};

export class UsageError extends Error {
  override name = 'UsageError';
}

export const USAGE = `usage: npm run scenario -- <name or path> [...more] [--dry-run] [--json] [--keep] [--junit FILE] [--engine ${ENGINE_CHOICES}]
       npm run scenario -- --cleanup [<run-id> | --all [--yes]]

  <name>       a file in scenarios/ (default-range means scenarios/default-range.yml); a path is used as given
  --dry-run    validate, predict and compile only; print the plan and create nothing in Docker
  --json       print the plan (dry run) or the results as JSON on stdout instead of tables
  --keep       leave the containers and network of a run in place for inspection
  --junit      also write every check as JUnit XML to FILE (one test suite per scenario), as CI systems read it
  --engine     where it runs:
${engineKindsHelp('               ')}
  --push       with --engine swarm: push the probe image to this registry (host[:port][/path]) for every node to pull
               (default: $PORTLAB_REGISTRY when set)
  --cleanup    remove the runs whose portlab process is gone (a crash, kill -9); runs still going are left alone
               --cleanup <run-id>: that run only; --cleanup --all: every run, live ones too (asks first; --yes does not)

exit codes: 0 every judged verdict passed (an application without expect: is measured, not judged), 1 a verdict
failed or a run was cut short, 2 bad input, 3 engine unavailable or run error, 130 interrupted (Ctrl-C)`;

export function engineKind(value: string | undefined): EngineKind {
  if (value === undefined) return 'local';
  if ((ENGINE_KINDS as string[]).includes(value)) return value as EngineKind;
  throw new UsageError(`--engine takes ${ENGINE_KINDS.slice(0, -1).join(', ')} or ${ENGINE_KINDS.at(-1)}, found ${JSON.stringify(value)}`);
}

/**
 * Where a swarm run pushes the probe image: --push, else PORTLAB_REGISTRY (`npm run lab -- up` prints it); a value
 * that is not a registry reference is bad input, named by where it came from.
 */
export function pushRegistry(push: string | undefined, env: NodeJS.ProcessEnv): string | undefined {
  const registry = push ?? (env.PORTLAB_REGISTRY || undefined);
  if (registry !== undefined && !/^[a-z0-9.-]+(:\d{1,5})?(\/[a-z0-9._-]+)*$/.test(registry)) {
    throw new UsageError(
      `${push === undefined ? 'PORTLAB_REGISTRY' : '--push'} takes a registry such as registry.example.com:5000 or host/path, found ${JSON.stringify(registry)}`,
    );
  }
  return registry;
}

export function parseCliArgs(argv: string[], env: NodeJS.ProcessEnv = process.env): CliOptions {
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
        all: { type: 'boolean', default: false },
        yes: { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
        engine: { type: 'string', default: 'local' },
        push: { type: 'string' },
        junit: { type: 'string' },
      },
    });
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  const cleanup = parsed.values.cleanup ?? false;
  const options: CliOptions = {
    scenarios: cleanup ? [] : parsed.positionals,
    cleanupRun: cleanup ? parsed.positionals[0] : undefined,
    all: parsed.values.all ?? false,
    yes: parsed.values.yes ?? false,
    dryRun: parsed.values['dry-run'] ?? false,
    json: parsed.values.json ?? false,
    keep: parsed.values.keep ?? false,
    cleanup: parsed.values.cleanup ?? false,
    help: parsed.values.help ?? false,
    engine: engineKind(parsed.values.engine),
    push: undefined,
    junit: parsed.values.junit,
  };
  if (options.junit !== undefined && (options.dryRun || cleanup))
    throw new UsageError('--junit goes with a run (not --dry-run or --cleanup)');
  if (parsed.values.push !== undefined && options.engine !== 'swarm') throw new UsageError('--push goes with --engine swarm');
  if (options.engine === 'swarm') options.push = pushRegistry(parsed.values.push, env);
  if (!options.help && !options.cleanup && options.scenarios.length === 0) {
    throw new UsageError('name at least one scenario (or pass --cleanup)');
  }
  if (cleanup && (parsed.positionals.length > 1 || (options.all && parsed.positionals.length > 0))) {
    throw new UsageError('--cleanup takes one run id, or --all');
  }
  if (!cleanup && (options.all || options.yes)) throw new UsageError('--all and --yes go with --cleanup');
  if (cleanup && (options.dryRun || options.keep || options.json)) throw new UsageError('--cleanup takes no --dry-run, --keep or --json');
  if (options.cleanupRun !== undefined && !/^[a-z0-9-]+$/.test(options.cleanupRun)) {
    throw new UsageError(
      `--cleanup takes a run id such as 3f9a1c (the one in a result's name), found ${JSON.stringify(options.cleanupRun)}`,
    );
  }
  return options;
}
