import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
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
    // The estimate against the fill it estimated, within a factor of 3: this machine's speed moves by about a quarter
    // between runs, and two runs in a row differ by more on a busy machine; a model off by the scan's order (checks
    // grow with the square of the ports) or by the clients' sharing of the cores is off by more than that.
    for (const name of ['client-1', 'client-2']) {
      const predicted = times[name]?.predictedSeconds ?? Number.NaN;
      const observed = times[name]?.observedSeconds ?? Number.NaN;
      expect(observed).toBeGreaterThan(0);
      expect(predicted / observed).toBeGreaterThan(1 / 3);
      expect(predicted / observed).toBeLessThan(3);
    }
    expect(second.stdout).toMatch(/^time: client-1 filled its ports in [\d.]+ s; predicted about \d+ s/m);
  });

  it("an unpaced churn: the same verdict with no history and with a history that says otherwise, judged on the run's own speed", async () => {
    const cache = await mkdtemp(path.join(os.tmpdir(), 'portlab-cache-'));
    const env = { PORTLAB_CACHE_DIR: cache };
    const first = await runCli(['test/fixtures/unpaced-churn.yml'], { env });
    expect(first.exitCode).toBe(0);
    const [empty] = await readResults(first.resultsDir);
    // Before the run, with no history, either way; judged against its own speed, it ran out of ports.
    expect(empty?.prediction.before.clients[0]).toMatchObject({ error: { errnos: ['EADDRNOTAVAIL'], orNone: true } });
    expect(empty?.clients[0]).toMatchObject({
      predictedError: stopsWith('EADDRNOTAVAIL'),
      observedError: 'EADDRNOTAVAIL',
      verdict: 'pass',
    });
    expect(empty?.prediction.measured.clients[0]?.reasoning.join(' ')).toContain('its own speed in this run');

    // A history that says unpaced churns here go 5 connections a second: too slow to fill 1,000 ports in 5 s.
    const file = path.join(cache, 'fill-times.json');
    type Stored = Record<string, { churnRates: number[] }>;
    const stored = JSON.parse(await readFile(file, 'utf8')) as Stored;
    for (const record of Object.values(stored)) record.churnRates = [5, 5, 5];
    await writeFile(file, JSON.stringify(stored));
    const second = await runCli(['test/fixtures/unpaced-churn.yml'], { env });
    expect(second.exitCode).toBe(0);
    const [slow] = await readResults(second.resultsDir);
    // The estimate before the run follows the history; the verdict does not.
    expect(slow?.prediction.before.clients[0]).toMatchObject({ limit: 'none' });
    expect(slow?.prediction.before.clients[0]?.reasoning.join(' ')).toContain(
      '5/s (the speed unpaced churns reached on this engine before)',
    );
    const client = slow?.clients[0];
    expect(client).toMatchObject({ predictedError: stopsWith('EADDRNOTAVAIL'), observedError: 'EADDRNOTAVAIL', verdict: 'pass' });
    expect([slow?.verdict, slow?.prediction.measured.clients[0]?.limit]).toEqual([
      empty?.verdict,
      empty?.prediction.measured.clients[0]?.limit,
    ]);
    // The 1,000 ports, plus at most the TIME_WAITs RSTs killed, as the probe counted them.
    expect(client?.predicted.min).toBe(1000);
    expect(client?.observed).toBeGreaterThanOrEqual(client?.predicted.min ?? Number.NaN);
    expect(client?.observed).toBeLessThanOrEqual(client?.predicted.max ?? -1);
  });
});
