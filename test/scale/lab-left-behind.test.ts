import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { execa } from 'execa';
import { afterAll, describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../../orchestrator/common/project-root.ts';

/**
 * /run survives a reboot on some machines (and a copied machine keeps it): a lab's directory then says "up" while
 * none of its processes lives. `up` must replace it rather than refuse, and must still refuse a lab that lives.
 * A lab of its own name and addresses, never the person's nor the swarm tests'.
 */
const NAME = 'llab';
const env = { PORTLAB_LAB_NAME: NAME, PORTLAB_LAB_SUBNET: '10.79.0', PORTLAB_LAB_POOL: '10.202.0.0/16' };
const lab = (...args: string[]) => execa('bash', [path.join(PROJECT_ROOT, 'scripts', 'lab.sh'), ...args], { env, reject: false });
const run = `/run/portlab-${NAME}`;

afterAll(async () => {
  await lab('down');
}, 120_000);

describe('npm run lab -- up', () => {
  it('replaces a lab whose processes are all gone, and refuses one that lives', async () => {
    await lab('down');
    // What a reboot leaves: the directory, the node count, pidfiles naming processes that are gone or someone else.
    await mkdir(path.join(run, 'node-1'), { recursive: true });
    await writeFile(path.join(run, 'nodes'), '2\n');
    await writeFile(path.join(run, 'node-1', 'docker.pid'), `${process.pid}\n`);
    const up = await lab('up', '2');
    expect([up.exitCode, up.stderr.split('\n')[0]]).toEqual([
      0,
      `lab: lab ${NAME} was left behind (none of its engines or its registry is running): removing what is left first`,
    ]);
    expect(up.stdout).toMatch(new RegExp(`^export DOCKER_HOST=unix://${run}/node-1/docker.sock$`, 'm'));
    expect((await lab('status')).exitCode).toBe(0);

    const again = await lab('up', '2');
    expect([again.exitCode, again.stderr]).toEqual([1, `lab: lab ${NAME} is up already (2 engines): npm run lab -- down first`]);
    expect((await lab('status')).exitCode).toBe(0);
  }, 180_000);
});
