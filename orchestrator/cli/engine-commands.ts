import path from 'node:path';
import { parseArgs } from 'node:util';
import { PROJECT_ROOT } from '../common/project-root.ts';
import { answeringEngines, connectEngine } from './connect-engine.ts';
import { badUsage, EXIT, showUsage } from './exit-codes.ts';
import { reportError } from './report-error.ts';
import { engineKind } from './parse-args.ts';
import { BACKENDS, ENGINE_CHOICES, type EngineKind } from '../engine/registry.ts';
import { lsCommand, rmCommand } from './runs-command.ts';
import { PORTLAB_LABEL } from '../compile/compile-compose.ts';

/** `portlab ls`, `portlab rm`, `portlab images`: the commands that ask the engine about what portlab left there. */

export const LS_USAGE = `usage: portlab ls [--format table|json]

  The runs on every engine that answers, Docker's and Podman's (in a session, PORTLAB_SESSION, only that session's):
  id, engine, scenario, the state of its containers, when it started, whether its portlab process is alive or gone
  (or it was started by hand), kept.`;

export const RM_USAGE = `usage: portlab rm <run-id...> | --gone | --all [--yes]

  <run-id...>  remove those runs (containers, networks, a swarm's services), whoever owns them, on whichever engine
  --gone       remove the runs whose portlab process is gone (a crash, kill -9), kept and hand-run ones included
  --all        remove every run, live ones too, after asking (--yes answers, as scripts need)`;

export const IMAGES_USAGE = `usage: portlab images [build [nginx|redis|wrk|haproxy|redis-benchmark|memcached...]] [--engine ${ENGINE_CHOICES}]

  Lists the images of third-party software the shipped scenarios run (portlab.invalid/...) on the engine; build makes
  the missing ones from Debian's packages, unpacked into portlab's cache (nothing is installed on the host).`;

const USAGES = { ls: LS_USAGE, rm: RM_USAGE, images: IMAGES_USAGE } as const;

export async function engineCommand(command: keyof typeof USAGES, argv: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      strict: true,
      options: {
        help: { type: 'boolean', short: 'h', default: false },
        ...(command === 'ls' ? { format: { type: 'string' as const, default: 'table' } } : {}),
        ...(command === 'images' ? { engine: { type: 'string' as const } } : {}),
        ...(command === 'rm'
          ? { gone: { type: 'boolean' as const }, all: { type: 'boolean' as const }, yes: { type: 'boolean' as const } }
          : {}),
      },
    });
    if (command === 'ls' && !['table', 'json'].includes(String(parsed.values.format))) throw new Error('--format takes table or json');
    if (command === 'ls' && parsed.positionals.length > 0) throw new Error('ls takes no arguments');
    if (command === 'rm' && !parsed.values.help) {
      const ways = [parsed.positionals.length > 0, parsed.values.gone === true, parsed.values.all === true].filter(Boolean).length;
      if (ways !== 1) throw new Error('rm takes run ids, --gone or --all (one of them)');
      if (parsed.values.yes && !parsed.values.all) throw new Error('--yes goes with --all');
    }
  } catch (error) {
    return badUsage((error as Error).message, USAGES[command]);
  }
  if (parsed.values.help) return showUsage(USAGES[command]);
  try {
    if (command === 'images') return await imagesCommand(parsed.positionals, engineKind(parsed.values.engine as string | undefined));
    // Every engine that answers (Docker's, Podman's); where none does, Docker's, started as a run would start it.
    const answering = await answeringEngines();
    const engines = answering.length > 0 ? answering : [await connectEngine()];
    if (command === 'ls') return await lsCommand(engines, parsed.values.format === 'json' ? 'json' : 'table');
    return await rmCommand(engines, parsed.positionals, {
      gone: parsed.values.gone === true,
      all: parsed.values.all === true,
      yes: parsed.values.yes === true,
    });
  } catch (error) {
    return reportError(error);
  }
}

async function imagesCommand(args: string[], kind: EngineKind): Promise<number> {
  const { execa } = await import('execa');
  if (args[0] === 'build') {
    // Built with the engine's own command-line client (docker, podman), which the script runs.
    const { endpoint } = BACKENDS[kind];
    const built = await execa('bash', [path.join(PROJECT_ROOT, 'scripts', 'build-app-images.sh'), ...args.slice(1)], {
      reject: false,
      stdio: 'inherit',
      env: { PORTLAB_ENGINE_CLI: endpoint.cli },
    });
    return built.exitCode === 0 ? EXIT.pass : built.exitCode === 2 ? EXIT.badInput : EXIT.runError;
  }
  if (args.length > 0) return badUsage('images takes build, or nothing', IMAGES_USAGE);
  const engine = await connectEngine(kind);
  const images = await engine.images.labelled(PORTLAB_LABEL.app);
  const rows = images.map((image) => [image.tags.join(', ') || image.id.slice(7, 19), image.labels[PORTLAB_LABEL.appPackage] ?? '-']);
  const { formatTable } = await import('./format-table.ts');
  process.stdout.write(
    rows.length > 0
      ? `${formatTable(['image', 'built from'], rows)}\n`
      : 'no application images on this engine (portlab images build makes them)\n',
  );
  return EXIT.pass;
}
