import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { SweepSummary } from '../../orchestrator/report/sweep-schema.ts';
import { startSweep, sweepDir } from '../docker/docker-helpers.ts';

/** Every point of every shipped sweep, on the real engine: some fill ranges of tens of thousands of ports. */
describe('the shipped sweeps, as a user runs them', () => {
  it.each(['range-width', 'listen-ports', 'tw-reuse-rate', 'nofile-vs-range', 'odd-ranges'])('%s: every point passes', async (name) => {
    const { cli, resultsDir } = await startSweep([name]);
    const ended = await cli;
    expect(ended.exitCode).toBe(0);
    const summary = SweepSummary.parse(JSON.parse(await readFile(path.join(await sweepDir(resultsDir), 'sweep.json'), 'utf8')));
    expect(summary.points).toHaveLength(summary.pointCount);
    expect(summary.points.every((point) => point.verdict === 'pass')).toBe(true);
  });
});
