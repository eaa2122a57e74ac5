import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { parseProbeLine } from '../../orchestrator/observe/probe-events.ts';
import { runCli } from '../cli/run-cli.ts';
import { containersLabelled, eventually, readResults } from './docker-helpers.ts';

/** Debian's docker-compose (v1.29), a real Compose implementation independent of portlab. */
const compose = (project: string, file: string, args: string[]) =>
  execa('docker-compose', ['-p', project, '-f', file, ...args], { reject: false });

describe('the compose file saved with a result', () => {
  it('is accepted by a real docker-compose and reruns the experiment by hand to the same counts, untouched by a portlab run meanwhile', async () => {
    const run = await runCli(['test/fixtures/small-range.yml']);
    expect(run.exitCode).toBe(0);
    const [result] = await readResults(run.resultsDir);
    const file = path.join(run.resultsDir, result?.composeFile ?? '');
    // A name of this run's own: a person's project, or another suite's run of this test, is never touched.
    const project = `portlab-rerun-by-hand-${randomBytes(4).toString('hex')}`;

    const config = await compose(project, file, ['config', '-q']);
    expect(config.stderr).toBe('');
    expect(config.exitCode).toBe(0);

    try {
      expect((await compose(project, file, ['up', '-d'])).exitCode).toBe(0);
      const events = await eventually(
        async () => {
          const logs = await compose(project, file, ['logs', '--no-color', 'client-1']);
          const parsed = String(logs.stdout)
            .split('\n')
            .map((line) => parseProbeLine(line.replace(/^[^|]*\|\s?/, '')))
            .flatMap((line) => (line.ok ? [line.event] : []));
          return parsed.some((event) => event.event === 'done') ? parsed : undefined;
        },
        60_000,
        'client-1 to stop',
      );
      const done = events.flatMap((event) => (event.event === 'done' ? [event] : []));
      const ready = events.find((event) => event.event === 'ready');
      // The same arithmetic as portlab's run, for this container: 1,000 ports per server port, less any port of
      // 40000-40999 its own namespace already had bound (Docker's DNS listener lands there about once in 28 runs).
      const bound = ready?.event === 'ready' ? ready.boundPorts.filter((port) => port >= 40000 && port <= 40999).length : 0;
      const held = done.reduce((sum, event) => sum + event.count, 0);
      expect(held).toBe(2 * (1000 - bound));
      const portlabBound =
        result?.environment.containers['client-1']?.boundPorts.filter((port) => port >= 40000 && port <= 40999).length ?? 0;
      expect(result?.clients[0]?.observed).toBe(2 * (1000 - portlabBound));
      expect(done.at(-1)?.errno).toBe('EADDRNOTAVAIL');

      // A portlab run started meanwhile leaves the hand run alone: it has no portlab process to be gone.
      const handRun = await containersLabelled(`com.docker.compose.project=${project}`);
      expect(handRun).toHaveLength(3);
      const other = await runCli(['test/fixtures/small-range.yml']);
      expect(other.exitCode).toBe(0);
      expect(other.stderr).not.toContain('removed what earlier runs left behind');
      expect((await containersLabelled(`com.docker.compose.project=${project}`)).sort()).toEqual(handRun.sort());
    } finally {
      await compose(project, file, ['down', '--timeout', '5']);
    }
    expect(await containersLabelled(`com.docker.compose.project=${project}`)).toEqual([]);
  });
});
