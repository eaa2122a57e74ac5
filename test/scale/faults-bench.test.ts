import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../../orchestrator/common/project-root.ts';

/** Every dockerd on the host, as pid and start time (clock ticks since boot): a restarted one has another. */
async function engines(): Promise<string[]> {
  const found: string[] = [];
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = await readFile(`/proc/${entry}/stat`, 'utf8').catch(() => '');
    if (!stat.includes('(dockerd)')) continue;
    found.push(`${entry}/${stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19]}`);
  }
  return found.sort();
}

/**
 * `npm run bench -- --faults` breaks runs on purpose, the engine's restart among them: on an engine of its own (a lab
 * named `faults`), never the person's. Every dockerd that was running before it (this host's engine, a person's lab)
 * is the same process after it, and nothing of its own lab is left.
 */
describe('the fault trial', () => {
  it('stops and restarts only the engine it started, and leaves nothing of it', async () => {
    const before = await engines();
    expect(before.length).toBeGreaterThan(0);
    const bench = await execa(process.execPath, ['--import', 'tsx', path.join(PROJECT_ROOT, 'bench', 'connect-rate.ts'), '--faults'], {
      cwd: PROJECT_ROOT,
      reject: false,
    });
    expect(bench.exitCode, bench.stderr).toBe(0);
    // Its five rows, the engine's restart the last: the broken run's verdict an error, nothing left after the next run.
    const rows = bench.stdout.trim().split('\n').slice(1);
    expect(rows).toHaveLength(5);
    expect(rows[4]).toMatch(/^the engine restarted mid-run\s+3\s+1 result\s+0 containers, 0 networks \(next run: exit 0\)/);
    expect(await engines()).toEqual(before);
    expect(await readdir('/run/portlab-faults').catch(() => 'gone')).toBe('gone');
    expect((await execa('ip', ['netns', 'list'])).stdout).not.toMatch(/^pfaults-/m);
  }, 1_200_000);
});
