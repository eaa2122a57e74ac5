import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { runCli } from '../cli/run-cli.ts';
import { eventually, expectAsShipped, readResults } from '../docker/docker-helpers.ts';
import { HOST_SETTINGS_ALLOWED, hostSettingsNote } from '../docker/host-settings.ts';

const CONNTRACK_COUNT = '/proc/sys/net/netfilter/nf_conntrack_count';
const CONNTRACK_MAX = '/proc/sys/net/netfilter/nf_conntrack_max';

/**
 * Four wide clients at once against one server port: 258,044 connections on one host, 16 to 21 minutes here. The
 * first of the scale files: it needs nearly all of the host's conntrack table (262,144 here), so it starts once what
 * earlier runs left closing has expired (at most 120 s for a TIME_WAIT entry), and nothing runs beside it. Everything
 * else on the host shares that table, so it runs only where the machine is declared disposable.
 */
describe.runIf(HOST_SETTINGS_ALLOWED)(
  `four-wide-range on the real engine${hostSettingsNote("fills 258,044 of the conntrack table's entries")}`,
  () => {
    it('each of four clients holds 64,511 connections to one server port: 258,044 on the server', async () => {
      const needed = 4 * 64_511;
      const max = Number(await readFile(CONNTRACK_MAX, 'utf8'));
      await eventually(
        async () => (max - Number(await readFile(CONNTRACK_COUNT, 'utf8')) >= needed + 1_000 ? true : undefined),
        300_000,
        `the host's conntrack table to have room for ${needed} connections`,
      );
      const result = await runCli(['four-wide-range']);
      expect(result.exitCode, result.stdout).toBe(0);
      const [run] = await readResults(result.resultsDir);
      expectAsShipped('four-wide-range', run);
      expect(run?.server.observed).toBe(needed);
    });
  },
);
