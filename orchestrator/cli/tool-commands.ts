import path from 'node:path';
import { PROJECT_ROOT } from '../common/project-root.ts';
import { EXIT } from './exit-codes.ts';

/** `portlab lab ...` and `portlab schema <name>`: the lab script, and the published JSON Schemas. */

export const LAB_USAGE = `usage: portlab lab up [N] | down | stop <i> | start <i> | env | status
       portlab lab kernel up <series> | down [<series>] | status | env <series>

  A swarm of N Docker engines (default 3) on this host, each in a network namespace of its own, to try portlab
  across machines before there is a cluster (root). up prints DOCKER_HOST and PORTLAB_REGISTRY to eval; down removes
  every engine, namespace, link, rule, mount and directory it made. PORTLAB_LAB_NAME names a lab of its own.

  lab kernel: a Docker engine on another Linux kernel (6.1, 6.12: Debian's packages of that series), in a QEMU
  virtual machine on this host; up prints the DOCKER_HOST to eval, so portlab run and sweep use that kernel. Its disk
  is built once from Debian's packages (root, about two minutes; nothing is installed on the host) and kept in
  portlab's cache. status lists every kernel lab, one a crash left too; down stops them.`;

export const SCHEMA_USAGE = `usage: portlab schema <scenario|sweep|result|sweep-summary|inspection>

  Prints a published JSON Schema: scenario and sweep are the files you write (for an editor, name it on a file's
  first line: # yaml-language-server: $schema=<path>), result and sweep-summary the files portlab writes, inspection
  what portlab inspect --json prints.`;

export async function toolCommand(command: 'lab' | 'schema', argv: string[]): Promise<number> {
  const usage = command === 'lab' ? LAB_USAGE : SCHEMA_USAGE;
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(`${usage}\n`);
    return EXIT.pass;
  }
  if (command === 'schema') {
    const { SCHEMA_FILES } = await import('./schemas.ts');
    const file = `${argv[0]}.schema.json`;
    if (argv.length !== 1 || !(file in SCHEMA_FILES)) {
      process.stderr.write(`portlab: schema takes one of scenario, sweep, result, sweep-summary, inspection\n${SCHEMA_USAGE}\n`);
      return EXIT.badInput;
    }
    process.stdout.write(`${JSON.stringify(SCHEMA_FILES[file as keyof typeof SCHEMA_FILES](), null, 2)}\n`);
    return EXIT.pass;
  }
  const { execa } = await import('execa');
  const [script, args] = argv[0] === 'kernel' ? ['kernel-lab.sh', argv.slice(1)] : ['lab.sh', argv];
  const lab = await execa('bash', [path.join(PROJECT_ROOT, 'scripts', script), ...args], { reject: false, stdio: 'inherit' });
  return lab.exitCode ?? EXIT.runError;
}
