import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFile } from 'node:fs/promises';
import { runCli } from '../cli/run-cli.ts';
import { ownContainers, readResults } from './docker-helpers.ts';
import { changeHostSetting, type HostSettingChange } from '../../orchestrator/engine/host-settings.ts';
import { HOST_SETTINGS_ALLOWED, hostSettingsNote } from './host-settings.ts';

/**
 * The host's conntrack table, lowered for this test: net.netfilter.nf_conntrack_max is global (only the host can set
 * it), so the test owns it while it runs and puts back what it found, journaled first (a crash leaves the journal to
 * the next portlab command). Only on a machine declared disposable.
 */
const SETTING = 'net.netfilter.nf_conntrack_max';

describe.runIf(HOST_SETTINGS_ALLOWED)(`conntrack in the model${hostSettingsNote(`changes ${SETTING}`)}`, () => {
  let change: HostSettingChange | undefined;
  // Room for 3,000 more entries than the table holds now: what else this host tracks (a kept run still holding its
  // connections, a lab) is not the test's, and stays.
  let max = 0;
  beforeAll(async () => {
    max = Number((await readFile('/proc/sys/net/netfilter/nf_conntrack_count', 'utf8')).trim()) + 3000;
    change = await changeHostSetting(SETTING, String(max));
  });
  afterAll(async () => {
    await change?.restore();
  });

  it('a table with room for 3,000 entries fills before 5,000 ports: conntrack binds, connect() times out, and the counts fall in the predicted room', async () => {
    const result = await runCli(['test/fixtures/conntrack-full.yml']);
    expect(result.exitCode).toBe(0);
    const [run] = await readResults(result.resultsDir);
    expect(run?.environment.conntrack?.max).toBe(max);
    const inUse = run?.environment.conntrack?.inUse ?? 0;
    expect(run?.prediction.measured.limit).toBe('conntrack');
    // Room now: the table less the entries in use at preflight; less one per client for entries the clients' own
    // traffic may add; more if closing entries expire first.
    expect(run?.clients[0]?.predicted.min).toBe(max - inUse - 1);
    expect(run?.clients[0]).toMatchObject({ limit: 'conntrack', observedError: 'ETIMEDOUT', verdict: 'pass' });
    expect(run?.clients[0]?.observed).toBeLessThan(5000);
    expect(run?.total.verdict).toBe('pass');
    expect(await ownContainers('io.portlab.scenario=conntrack-full')).toEqual([]);
  });
});
