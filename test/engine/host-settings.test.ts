import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { changeHostSetting, restoreHostSettings, sysctlFile } from '../../orchestrator/engine/host-settings.ts';
import { runCli } from '../cli/run-cli.ts';

/** A stand-in for a /proc/sys file and a journal of its own, so no host setting is touched. */
async function fakeSetting(value: string) {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'portlab-settings-'));
  const file = path.join(dir, 'nf_conntrack_max');
  await writeFile(file, `${value}\n`);
  return { file, journal: path.join(dir, 'journal', 'host-settings.json'), read: async () => (await readFile(file, 'utf8')).trim() };
}

const journalOf = async (journal: string) => JSON.parse(await readFile(journal, 'utf8').catch(() => '[]')) as Array<{ original: string }>;

describe('host-wide settings, journaled before they change', () => {
  it("a sysctl's file under /proc/sys", () => {
    expect(sysctlFile('net.netfilter.nf_conntrack_max')).toBe('/proc/sys/net/netfilter/nf_conntrack_max');
  });

  it('the old value is in the journal while the change is in force, and gone from it once restored', async () => {
    const setting = await fakeSetting('262144');
    const change = await changeHostSetting('net.netfilter.nf_conntrack_max', '3000', setting);
    expect(await setting.read()).toBe('3000');
    expect(await journalOf(setting.journal)).toMatchObject([{ original: '262144' }]);
    // Its owner (this process) is alive: the next command leaves it alone.
    expect(await restoreHostSettings(setting.journal)).toEqual([]);
    expect(await setting.read()).toBe('3000');
    await change.restore();
    await change.restore();
    expect(await setting.read()).toBe('262144');
    expect(await journalOf(setting.journal)).toEqual([]);
  });

  it('a process killed with SIGKILL mid-change: the next portlab command puts the value back and says so in one line', async () => {
    const setting = await fakeSetting('262144');
    const module = path.join(import.meta.dirname, '..', '..', 'orchestrator', 'engine', 'host-settings.ts');
    const child = execa(
      process.execPath,
      [
        '--import',
        'tsx',
        '--input-type=module',
        '-e',
        `const { changeHostSetting } = await import(${JSON.stringify(module)});
         await changeHostSetting('net.netfilter.nf_conntrack_max', '3000', ${JSON.stringify(setting)});
         console.log('changed');
         setInterval(() => {}, 1000);`,
      ],
      { reject: false, buffer: false },
    );
    await new Promise<void>((resolve) => child.stdout!.on('data', (data: Buffer) => data.toString().includes('changed') && resolve()));
    child.kill('SIGKILL');
    await child;
    expect(await setting.read()).toBe('3000');
    expect(await journalOf(setting.journal)).toHaveLength(1);

    const next = await runCli(['extra-listen-ports', '--dry-run'], { env: { PORTLAB_HOST_JOURNAL: setting.journal } });
    expect(next.exitCode).toBe(0);
    expect(next.stderr.trim().split('\n')).toEqual([
      'portlab: restored net.netfilter.nf_conntrack_max to 262144 (a portlab process that is gone had set it to 3000)',
    ]);
    expect(await setting.read()).toBe('262144');
    expect(await journalOf(setting.journal)).toEqual([]);
  });

  it('a setting someone changed again since the crash is left as it is, and said', async () => {
    const setting = await fakeSetting('262144');
    const entry = { name: 'fs.file-max', file: setting.file, original: '262144', value: '3000', at: new Date().toISOString() };
    // An owner that cannot be alive: pid 1 did not start at that time.
    const journal = path.join(path.dirname(setting.file), 'host-settings.json');
    await writeFile(journal, JSON.stringify([{ ...entry, owner: `${os.hostname()}/1/not-its-start` }]));
    await writeFile(setting.file, '5000\n');
    expect(await restoreHostSettings(journal)).toEqual([
      'left fs.file-max at 5000: a portlab process that is gone had set it from 262144 to 3000, and it has changed since',
    ]);
    expect(await setting.read()).toBe('5000');
    expect(await journalOf(journal)).toEqual([]);
  });
});
