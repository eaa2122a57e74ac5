import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { RunResult } from '../../orchestrator/report/result-schema.ts';
import { SweepSummary } from '../../orchestrator/report/sweep-schema.ts';
import { APPLICATION_SCENARIOS } from '../shipped-expectations.ts';
import { buildAppImages, expecting, runChanged } from '../docker/application-helpers.ts';
import { startSweep, sweepDir } from '../docker/docker-helpers.ts';

/**
 * Your own software's expectations at the width of everything shipped (`npm run test:scale`): every shipped application
 * scenario with a deliberately wrong expectation, and the sweep that moves haproxy's setting and its expectation
 * together. `npm test` judges both directions on haproxy (test/docker/expectations.test.ts).
 */
beforeAll(async () => {
  await buildAppImages();
}, 15 * 60_000);

describe("a sweep over your own software's setting and your expectation of it", () => {
  it('haproxy-maxconn: maxconn 100, 200, 400 held as expected, each with 101 queued and the client at maxconn + 101', async () => {
    const { cli, resultsDir } = await startSweep(['haproxy-maxconn']);
    const ended = await cli;
    expect(ended.exitCode, String(ended.stderr)).toBe(0);
    const dir = await sweepDir(resultsDir);
    const summary = SweepSummary.parse(JSON.parse(await readFile(path.join(dir, 'sweep.json'), 'utf8')));
    expect(summary.points.map((point) => point.verdict)).toEqual(['pass', 'pass', 'pass']);
    const results = (await readdir(dir)).filter((file) => /-\d+-.*\.json$/.test(file));
    const held = [];
    for (const file of results.sort()) {
      const point = JSON.parse(await readFile(path.join(dir, file), 'utf8')) as RunResult;
      held.push([
        point.server.observed,
        point.server.kernel!.listeners[0]!.peakQueue,
        point.clients[0]!.observed,
        point.clients[0]!.observedError,
      ]);
    }
    expect(held).toEqual([
      [100, 101, 201, 'ETIMEDOUT'],
      [200, 101, 301, 'ETIMEDOUT'],
      [400, 101, 501, 'ETIMEDOUT'],
    ]);
  });
});

describe.concurrent('each shipped application scenario, with a deliberately wrong expectation, fails naming both numbers', () => {
  it.each(APPLICATION_SCENARIOS)('%s', async (name) => {
    const { at, holds } = await expecting(name);
    // Twice the most it may hold, plus one: a count the software never reaches.
    const most =
      typeof holds === 'number'
        ? holds
        : ((holds as { atMost?: number; atLeast?: number }).atMost ?? (holds as { atLeast: number }).atLeast);
    const wrong = most * 2 + 1;
    const { result, stored } = await runChanged(name, (document) => document.setIn(at, wrong));
    expect(result.exitCode).toBe(1);
    expect(stored.verdict).toBe('fail');
    const judged = at[0] === 'server' ? stored.server : stored.clients[0]!;
    expect(judged.verdict).toBe('fail');
    expect(judged.why).toMatch(
      new RegExp(
        `^${judged.observed.toLocaleString('en-US')} .* at most at once, but the scenario expects ${wrong.toLocaleString('en-US')} \\(expect\\.holds\\)`,
      ),
    );
  });
});
