import { readFile, writeFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../cli/run-cli.ts';
import { containersLabelled, readResults } from './docker-helpers.ts';

/**
 * The host's conntrack table, lowered for this test: net.netfilter.nf_conntrack_max is global (only the host can set
 * it), so the test owns it while it runs and puts back what it found.
 */
const MAX_FILE = '/proc/sys/net/netfilter/nf_conntrack_max';

describe('conntrack in the model', () => {
  let original: string | undefined;
  beforeAll(async () => {
    original = (await readFile(MAX_FILE, 'utf8')).trim();
    await writeFile(MAX_FILE, '3000');
  });
  afterAll(async () => {
    if (original !== undefined) await writeFile(MAX_FILE, original);
  });

  it('a table of 3,000 entries fills before 5,000 ports: conntrack binds, connect() times out, and the counts fall in the predicted room', async () => {
    const result = await runCli(['test/fixtures/conntrack-full.yml']);
    expect(result.exitCode).toBe(0);
    const [run] = await readResults(result.resultsDir);
    expect(run?.environment.conntrack?.max).toBe(3000);
    const inUse = run?.environment.conntrack?.inUse ?? 0;
    expect(run?.prediction.measured.limit).toBe('conntrack');
    // Room now: 3,000 - the entries in use at preflight; less one per client for entries the clients' own traffic
    // may add; more if closing entries expire first.
    expect(run?.clients[0]?.predicted.min).toBe(3000 - inUse - 1);
    expect(run?.clients[0]).toMatchObject({ limit: 'conntrack', observedError: 'ETIMEDOUT', verdict: 'pass' });
    expect(run?.clients[0]?.observed).toBeLessThan(5000);
    expect(run?.total.verdict).toBe('pass');
    expect(await containersLabelled('io.portlab.scenario=conntrack-full')).toEqual([]);
  });
});
