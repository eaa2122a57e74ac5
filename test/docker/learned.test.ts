import { mkdtemp, readFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from '../cli/run-cli.ts';
import { readResults } from './docker-helpers.ts';
import { stopsWith } from '../../orchestrator/predict/prediction-schema.ts';

/** What runs learn about an engine and the next run predicts from: fill times, and the speed of unpaced churn. */
describe('what a run learns about the engine', () => {
  it("a fill teaches the engine's port search costs; the next run predicts its fill from them, against the observed time", async () => {
    const cache = await mkdtemp(path.join(os.tmpdir(), 'portlab-cache-'));
    const env = { PORTLAB_CACHE_DIR: cache };
    const first = await runCli(['test/fixtures/medium-range.yml'], { env });
    expect(first.exitCode).toBe(0);
    expect(first.stderr).not.toContain('to fill its ports');
    type Stored = Record<string, { connects: number[]; checks: Array<{ scanned: number; entries: number; seconds: number }> }>;
    const stored = Object.values(JSON.parse(await readFile(path.join(cache, 'fill-times.json'), 'utf8')) as Stored)[0]!;
    // Each client: one quick-connect cost, and up to four stretches of checks of the first parity's 5,000 ports
    // (4,999 when Docker's DNS listener took one of the range).
    expect(stored.connects).toHaveLength(2);
    expect(stored.checks.length).toBeGreaterThan(0);
    expect(stored.checks.every((check) => (check.scanned === 5_000 || check.scanned === 4_999) && check.seconds > 0)).toBe(true);

    const second = await runCli(['test/fixtures/medium-range.yml'], { env });
    expect(second.exitCode).toBe(0);
    expect(second.stderr).toMatch(
      /client-1: about \d+ s to fill its ports \([\d,]+ connects at \d+ µs, the last [\d,]+ each after checking the [\d,]+ taken ports of the first parity, [\d,]+ checks at \d+ ns .*2 clients filling at once on \d+ cores?\)/,
    );
    const [run] = await readResults(second.resultsDir);
    const times = run?.run.fillTimes ?? {};
    expect(Object.keys(times).sort()).toEqual(['client-1', 'client-2']);
    expect(times['client-1']?.observedSeconds).toBeGreaterThan(0);
    expect(times['client-1']?.predictedSeconds).toBeGreaterThan(0);
    expect(second.stdout).toMatch(/^time: client-1 filled its ports in [\d.]+ s; predicted about \d+ s/m);
  });

  it('an unpaced churn: the first on an engine is predicted both ways, the next from the speed the first reached', async () => {
    const cache = await mkdtemp(path.join(os.tmpdir(), 'portlab-cache-'));
    const env = { PORTLAB_CACHE_DIR: cache };
    const first = await runCli(['test/fixtures/unpaced-churn.yml'], { env });
    expect(first.exitCode).toBe(0);
    const [before] = await readResults(first.resultsDir);
    expect(before?.clients[0]).toMatchObject({
      predictedError: { errnos: ['EADDRNOTAVAIL'], orNone: true },
      observedError: 'EADDRNOTAVAIL',
      verdict: 'pass',
    });

    const second = await runCli(['test/fixtures/unpaced-churn.yml'], { env });
    expect(second.exitCode).toBe(0);
    const [after] = await readResults(second.resultsDir);
    const client = after?.clients[0];
    expect(client).toMatchObject({ predictedError: stopsWith('EADDRNOTAVAIL'), observedError: 'EADDRNOTAVAIL', verdict: 'pass' });
    // The 1,000 ports, plus at most the TIME_WAITs RSTs killed, as the probe counted them.
    expect(client?.predicted.min).toBe(1000);
    expect(client?.observed).toBeGreaterThanOrEqual(client?.predicted.min ?? Number.NaN);
    expect(client?.observed).toBeLessThanOrEqual(client?.predicted.max ?? -1);
    expect(after?.prediction.measured.clients[0]?.reasoning.join(' ')).toContain('the speed unpaced churns reached on this engine before');
  });
});
