import { readFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../cli/run-cli.ts';
import { ownContainers, readResults } from './docker-helpers.ts';
import { changeHostSetting, type HostSettingChange } from '../../orchestrator/engine/host-settings.ts';
import { HOST_SETTINGS_ALLOWED, hostSettingsNote } from './host-settings.ts';

/**
 * The host's open files, lowered for this test: fs.file-max is global (only the host can set it), so the test owns
 * it while it runs and puts back what it found, journaled first; only on a machine declared disposable. Processes with CAP_SYS_ADMIN (dockerd, this test, all root) pass
 * the limit and the containers do not, but every file counts against it: the test runs last, with nothing beside it.
 */
const SETTING = 'fs.file-max';

describe.runIf(HOST_SETTINGS_ALLOWED)(`fs.file-max in the model${hostSettingsNote(`changes ${SETTING}`)}`, () => {
  let change: HostSettingChange | undefined;
  beforeAll(async () => {
    const allocated = Number((await readFile('/proc/sys/fs/file-nr', 'utf8')).split(/\s+/)[0]);
    // Room for about 10,000 connections at two files each: fewer than the two clients' 20,000 ports.
    change = await changeHostSetting(SETTING, String(allocated + 20_000));
  });
  afterAll(async () => {
    await change?.restore();
  });

  it('the host runs out of files before 20,000 ports: file-max binds, socket() and accept() fail with ENFILE, the counts fall in the predicted room', async () => {
    const result = await runCli(['test/fixtures/medium-range.yml']);
    expect(result.exitCode, result.stdout).toBe(0);
    const [run] = await readResults(result.resultsDir);
    expect(run?.prediction.measured.limit).toBe('file-max');
    for (const client of run?.clients ?? []) expect(client).toMatchObject({ limit: 'file-max', observedError: 'ENFILE', verdict: 'pass' });
    expect(run?.server.verdict).toBe('pass');
    expect(run?.total.verdict).toBe('pass');
    expect(run?.total.observed).toBeLessThan(11_000);
    expect(run?.prediction.measured.reasoning.join('\n')).toContain('to lift it, raise fs.file-max on the host');
    expect(await ownContainers('io.portlab.scenario=medium-range')).toEqual([]);
  });
});
