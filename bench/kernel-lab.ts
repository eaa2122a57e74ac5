import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { formatTable } from '../orchestrator/cli/format-table.ts';
import { PROJECT_ROOT } from '../orchestrator/common/project-root.ts';

const PORTLAB = path.join(PROJECT_ROOT, 'dist', 'portlab.mjs');
const THOUSAND = path.join(import.meta.dirname, 'files', 'thousand.yml');

/** `portlab <args>` with `env`, timed; its output kept for the figures. */
async function timed(args: string[], env: Record<string, string>) {
  const started = Date.now();
  const ran = await execa(process.execPath, [PORTLAB, ...args], { reject: false, env: { ...env, INIT_CWD: '' } });
  if (ran.exitCode !== 0)
    throw new Error(`portlab ${args.join(' ')} exited ${ran.exitCode}: ${String(ran.stderr).trim().split('\n').at(-1)}`);
  return { seconds: (Date.now() - started) / 1000, stdout: String(ran.stdout), stderr: String(ran.stderr) };
}

/** The resident memory of the lab's QEMU, from its pidfile, in MiB. */
async function qemuRssMiB(cache: string, series: string): Promise<number | null> {
  const { readFile } = await import('node:fs/promises');
  try {
    const pid = (await readFile(path.join(cache, 'kernel-lab', 'run', series, 'qemu.pid'), 'utf8')).trim();
    const status = await readFile(`/proc/${pid}/status`, 'utf8');
    const kb = /^VmRSS:\s+(\d+) kB$/m.exec(status)?.[1];
    return kb ? Math.round(Number(kb) / 1024) : null;
  } catch {
    return null;
  }
}

/**
 * `npm run bench -- --kernel-lab [6.1|6.12]`: what a kernel lab costs, in a cache of its own (nothing of a person's
 * labs or cache is used): building its disk (the first `up`, which also boots), booting from the built disk (a second
 * `up` after `down`), a 1,000-connection scenario on it (bench/files/thousand.yml), and the VM's resident memory.
 * Figures only: nothing passes or fails.
 */
export async function kernelLabBench(series = '6.1'): Promise<void> {
  const cache = await mkdtemp(path.join(os.tmpdir(), 'portlab-bench-kernel-lab-'));
  const results = await mkdtemp(path.join(os.tmpdir(), 'portlab-bench-results-'));
  const env = { PORTLAB_CACHE_DIR: cache, PORTLAB_RESULTS_DIR: results };
  try {
    process.stderr.write(`bench: building a ${series} lab's disk and booting it (a cache of its own: ${cache})\n`);
    const first = await timed(['lab', 'kernel', 'up', series], env);
    await timed(['lab', 'kernel', 'down', series], env);
    process.stderr.write('bench: booting it again from the built disk\n');
    const boot = await timed(['lab', 'kernel', 'up', series], env);
    const dockerHost = /^export DOCKER_HOST=(\S+)$/m.exec(boot.stdout)?.[1];
    if (!dockerHost) throw new Error(`lab kernel up printed no DOCKER_HOST: ${boot.stdout}`);
    const accel = /, (tcg|kvm)$/m.exec(boot.stdout)?.[1] ?? '?';
    process.stderr.write('bench: a 1,000-connection scenario on it\n');
    const run = await timed(['run', THOUSAND], { ...env, DOCKER_HOST: dockerHost });
    const rss = await qemuRssMiB(cache, series);
    const rows = [
      ['disk built and booted (first up)', first.seconds.toFixed(0)],
      ['booted from the built disk, to an engine that answers', boot.seconds.toFixed(0)],
      ['1,000 connections held and judged (portlab run, first on this engine)', run.seconds.toFixed(0)],
      ['boot plus run', (boot.seconds + run.seconds).toFixed(0)],
    ];
    process.stdout.write(`kernel lab ${series} (${accel}), seconds:\n${formatTable(['what', 'seconds'], rows)}\n`);
    process.stdout.write(`the VM's resident memory after the run: ${rss === null ? 'unknown' : `${rss} MiB`}\n`);
  } finally {
    await execa(process.execPath, [PORTLAB, 'lab', 'kernel', 'down'], { reject: false, env });
    await rm(cache, { recursive: true, force: true });
    await rm(results, { recursive: true, force: true });
  }
}
