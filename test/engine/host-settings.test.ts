import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { changeHostSetting, restoreHostSettings, sysctlFile } from '../../orchestrator/engine/host-settings.ts';
import { runCli, runPortlab } from '../cli/run-cli.ts';

/** A stand-in for a /proc/sys file and a journal of its own, so no host setting is touched. */
async function fakeSetting(value: string) {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'portlab-settings-'));
  const file = path.join(dir, 'nf_conntrack_max');
  await writeFile(file, `${value}\n`);
  return { file, journal: path.join(dir, 'journal', 'host-settings.json'), read: async () => (await readFile(file, 'utf8')).trim() };
}

/** An owner that cannot be alive: pid 1 did not start at that time. */
const GONE = `${os.hostname()}/1/not-its-start`;

const entryOf = (file: string, original: string, value: string) => ({
  name: 'net.netfilter.nf_conntrack_max',
  file,
  original,
  value,
  at: new Date().toISOString(),
});

const HOST_SETTINGS_MODULE = path.join(import.meta.dirname, '..', '..', 'orchestrator', 'engine', 'host-settings.ts');

/** A process that runs `code` with changeHostSetting in scope, then says so and waits to be killed. */
function inAProcess(code: string) {
  const child = execa(
    process.execPath,
    [
      '--import',
      'tsx',
      '--input-type=module',
      '-e',
      `const { changeHostSetting } = await import(${JSON.stringify(HOST_SETTINGS_MODULE)});
       ${code}
       console.log('changed');
       setInterval(() => {}, 1000);`,
    ],
    { reject: false, buffer: false },
  );
  const ready = new Promise<void>((resolve) =>
    child.stdout!.on('data', (data: Buffer) => data.toString().includes('changed') && resolve()),
  );
  return { process: child, ready };
}

/** nf_conntrack_max (a stand-in) set to 3000 by a process that is then killed with SIGKILL, as a crash would. */
async function changeInAProcessKilledAfter(setting: { file: string; journal: string }): Promise<void> {
  const child = inAProcess(`await changeHostSetting('net.netfilter.nf_conntrack_max', '3000', ${JSON.stringify(setting)});`);
  await child.ready;
  child.process.kill('SIGKILL');
  await child.process;
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
    await changeInAProcessKilledAfter(setting);
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

  it.each([
    ['ls', ['ls']],
    ['rm', ['rm', '--gone']],
    ['inspect', ['inspect', 'no-such-container']],
    ['images', ['images']],
    ['report', ['report', 'no-such-result.json']],
    ['schema', ['schema', 'result']],
    ['lab', ['lab', 'status']],
  ])('portlab %s, engine or none, puts back what a killed process left changed', async (_, args) => {
    const setting = await fakeSetting('262144');
    await changeInAProcessKilledAfter(setting);
    const next = await runPortlab(args, { env: { PORTLAB_HOST_JOURNAL: setting.journal, DOCKER_HOST: 'unix:///nonexistent/docker.sock' } });
    expect(next.stderr.split('\n')[0]).toBe(
      'portlab: restored net.netfilter.nf_conntrack_max to 262144 (a portlab process that is gone had set it to 3000)',
    );
    expect(await setting.read()).toBe('262144');
    expect(await journalOf(setting.journal)).toEqual([]);
  });

  it('--help does nothing else, not even that', async () => {
    const setting = await fakeSetting('262144');
    await changeInAProcessKilledAfter(setting);
    const help = await runPortlab(['ls', '--help'], { env: { PORTLAB_HOST_JOURNAL: setting.journal } });
    expect(help.exitCode).toBe(0);
    expect(help.stderr).toBe('');
    expect(await setting.read()).toBe('3000');
  });

  it('a process killed after journaling, before it wrote the setting: the entry goes, nothing is written or said', async () => {
    const setting = await fakeSetting('262144');
    const journal = path.join(path.dirname(setting.file), 'host-settings.json');
    await writeFile(journal, JSON.stringify([{ ...entryOf(setting.file, '262144', '3000'), owner: GONE }]));
    expect(await restoreHostSettings(journal)).toEqual([]);
    expect(await setting.read()).toBe('262144');
    expect(await journalOf(journal)).toEqual([]);
  });

  it('a restore that fails is said in one line, kept for later, and the command goes on', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'portlab-settings-'));
    const journal = path.join(dir, 'host-settings.json');
    // The setting is where the entry says it was set, and its "original" is one the kernel refuses (EINVAL for
    // fs.file-max; EACCES where this is not root): the write fails and changes nothing.
    const now = (await readFile('/proc/sys/fs/file-max', 'utf8')).trim();
    const entry = { ...entryOf('/proc/sys/fs/file-max', 'not-a-number', now), name: 'fs.file-max', owner: GONE };
    await writeFile(journal, JSON.stringify([entry]));
    const next = await runCli(['extra-listen-ports', '--dry-run'], { env: { PORTLAB_HOST_JOURNAL: journal } });
    expect(next.exitCode).toBe(0);
    expect(next.stderr.trim().split('\n')).toEqual([
      expect.stringMatching(
        /^portlab: could not restore fs\.file-max to not-a-number \((EINVAL|EACCES|EPERM|EROFS) writing \/proc\/sys\/fs\/file-max\); it stays at \d+, and in the journal for the next command$/,
      ),
    ]);
    expect(next.stdout).toContain('extra-listen-ports');
    expect(await journalOf(journal)).toHaveLength(1);
    expect((await readFile('/proc/sys/fs/file-max', 'utf8')).trim()).toBe(now);
  });

  it('a journal portlab did not write is one line, and the command goes on', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'portlab-settings-'));
    const journal = path.join(dir, 'host-settings.json');
    await writeFile(journal, '{ not json');
    const next = await runCli(['extra-listen-ports', '--dry-run'], { env: { PORTLAB_HOST_JOURNAL: journal } });
    expect(next.exitCode).toBe(0);
    expect(next.stderr.trim()).toBe(
      `portlab: could not check for host settings a crashed portlab left changed (${journal} is not a journal portlab wrote); going on`,
    );
  });

  it('a lock left by a process killed while it held the journal is taken over', async () => {
    const setting = await fakeSetting('262144');
    await changeInAProcessKilledAfter(setting);
    await writeFile(`${setting.journal}.lock`, GONE);
    expect(await restoreHostSettings(setting.journal)).toEqual([
      'restored net.netfilter.nf_conntrack_max to 262144 (a portlab process that is gone had set it to 3000)',
    ]);
    expect(await readFile(`${setting.journal}.lock`).catch(() => 'no lock')).toBe('no lock');
  });

  it("two processes changing settings at once lose none of each other's entries (the journal is locked)", async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'portlab-settings-'));
    const journal = path.join(dir, 'host-settings.json');
    const files = await Promise.all(
      Array.from({ length: 200 }, async (_, index) => {
        const file = path.join(dir, `setting-${index}`);
        await writeFile(file, '1\n');
        return file;
      }),
    );
    // Both start changing at the same moment, once both have loaded.
    const startAt = Date.now() + 4_000;
    const changeAll = (mine: string[]) =>
      inAProcess(
        `await new Promise((resolve) => setTimeout(resolve, ${startAt} - Date.now()));
         for (const file of ${JSON.stringify(mine)}) await changeHostSetting('fs.file-max', '2', { journal: ${JSON.stringify(journal)}, file });`,
      );
    const both = [changeAll(files.slice(0, 100)), changeAll(files.slice(100))];
    await Promise.all(both.map((child) => child.ready));
    expect((await journalOf(journal)).length).toBe(200);
    for (const child of both) {
      child.process.kill('SIGKILL');
      await child.process;
    }
  });

  it('a setting someone changed again since the crash is left as it is, and said', async () => {
    const setting = await fakeSetting('262144');
    const journal = path.join(path.dirname(setting.file), 'host-settings.json');
    await writeFile(journal, JSON.stringify([{ ...entryOf(setting.file, '262144', '3000'), name: 'fs.file-max', owner: GONE }]));
    await writeFile(setting.file, '5000\n');
    expect(await restoreHostSettings(journal)).toEqual([
      'left fs.file-max at 5000: a portlab process that is gone had set it from 262144 to 3000, and it has changed since',
    ]);
    expect(await setting.read()).toBe('5000');
    expect(await journalOf(journal)).toEqual([]);
  });
});
