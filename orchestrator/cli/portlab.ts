import { readFileSync } from 'node:fs';
import path from 'node:path';
import { PROJECT_ROOT } from '../common/project-root.ts';
import { isEntryPoint, runEntryPoint } from './entry-point.ts';
import { badUsage, showUsage } from './exit-codes.ts';
import { ENGINE_CHOICES } from '../engine/registry.ts';

/*
 * `portlab <command>`: the installed command. Each command is loaded when it is named, so `--help` and `--version`
 * answer without loading the engine client, the charts or the model.
 */

export const PORTLAB_USAGE = `usage: portlab <command> [options]

commands:
  run <scenario...>          predict, run on Docker, judge and report each scenario (a shipped name or a path);
                             --dry-run, --json, --keep, --junit FILE, --engine ${ENGINE_CHOICES}, --push REGISTRY
  sweep <sweep>              every point of a sweep file (a shipped name or a path); --dry-run, --json, --keep,
                             --junit FILE, --engine ${ENGINE_CHOICES}, --push REGISTRY
  report <result.json...>    write the HTML report of each result again, from the file alone
  inspect <container>        how close a running container is to each limit, per destination and listener (read-only);
                             --json, --watch SECONDS
  ls [--format table|json]   the runs on the engine: id, scenario, state, started, owner alive or gone, kept
  rm <run-id...>             remove those runs; --gone: the runs whose portlab process is gone; --all [--yes]: every run
  lab up [N]|down|stop <i>|start <i>|env|status
                             a swarm of N Docker engines on this host, to try several machines (root)
  lab kernel up <series>|down [<series>]|status|env <series>
                             a Docker engine on Debian's Linux 6.1 or 6.12, in a QEMU VM on this host
  images [build [nginx|redis|wrk|haproxy|redis-benchmark|memcached...]] [--engine KIND]
                             the images of third-party software the shipped scenarios run (from Debian's packages)
  schema <scenario|sweep|result|sweep-summary|inspection>
                             print a published JSON Schema (the scenario and sweep ones are for editors)

  --results-dir DIR          (run, sweep, inspect) where results go; default ./results (or $PORTLAB_RESULTS_DIR)
  portlab <command> --help   that command's options;  portlab --version   the version

exit codes: 0 every judged verdict passed, 1 a verdict failed, 2 bad input, 3 engine unavailable or run error, 130 interrupted`;

export const portlabVersion = () =>
  (JSON.parse(readFileSync(path.join(PROJECT_ROOT, 'package.json'), 'utf8')) as { version: string }).version;

/** `--results-dir DIR` (or `=DIR`) anywhere in `argv`: taken out, and set as PORTLAB_RESULTS_DIR before anything loads. */
function takeResultsDir(argv: string[]): string[] {
  const rest: string[] = [];
  for (let index = 0; index < argv.length; index += 1) {
    const arg = argv[index]!;
    if (arg === '--results-dir' || arg.startsWith('--results-dir=')) {
      const dir = arg.includes('=') ? arg.slice(arg.indexOf('=') + 1) : argv[(index += 1)];
      if (!dir) throw new Error('--results-dir takes a directory');
      process.env.PORTLAB_RESULTS_DIR = path.resolve(process.env.INIT_CWD ?? process.cwd(), dir);
    } else {
      rest.push(arg);
    }
  }
  return rest;
}

export async function portlab(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (command === undefined || command === '--help' || command === '-h' || command === 'help') return showUsage(PORTLAB_USAGE);
  if (command === '--version' || command === '-v') return showUsage(portlabVersion());
  switch (command) {
    case 'run':
    case 'sweep':
    case 'inspect': {
      let args: string[];
      try {
        args = takeResultsDir(rest);
      } catch (error) {
        return badUsage((error as Error).message, PORTLAB_USAGE);
      }
      if (command === 'run') return (await import('./main.ts')).main(args);
      if (command === 'sweep') return (await import('./sweep-command.ts')).sweepCommand(args);
      return (await import('./inspect-command.ts')).inspectCommand(args);
    }
    case 'report':
      return (await import('./report-command.ts')).reportCommand(rest);
    case 'ls':
    case 'rm':
    case 'images':
      return (await import('./engine-commands.ts')).engineCommand(command, rest);
    case 'lab':
    case 'schema':
      return (await import('./tool-commands.ts')).toolCommand(command, rest);
    default:
      return badUsage(`unknown command ${JSON.stringify(command)}`, PORTLAB_USAGE);
  }
}

if (isEntryPoint(import.meta.url)) process.exitCode = await runEntryPoint(process.argv.slice(2), portlab);
