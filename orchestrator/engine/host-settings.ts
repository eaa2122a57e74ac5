import { readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import { writeFileAtomic } from '../common/atomic-write.ts';
import { currentOwner, formatOwner, ownerState, parseOwner } from './run-owner.ts';

/*
 * Host-wide kernel settings (nf_conntrack_max, fs.file-max) changed for a while by a test or a benchmark that owns the
 * machine. Each change is written to a journal before it is made, and undone from it: by its owner when it is done,
 * or by the next portlab command once its owner is gone (a crash, a kill -9, a CI time limit). The journal lives in
 * /run, which a reboot empties as it resets the settings themselves.
 */

const JournalEntry = z.strictObject({
  /** The sysctl's name, as people know it. */
  name: z.string(),
  /** Its file under /proc/sys. */
  file: z.string(),
  /** What it was before the change, and what the change set. */
  original: z.string(),
  value: z.string(),
  /** host/pid/start of the process that changed it (engine/run-owner.ts). */
  owner: z.string(),
  at: z.string(),
});
type JournalEntry = z.infer<typeof JournalEntry>;
const Journal = z.array(JournalEntry);

/** Where the journal is: PORTLAB_HOST_JOURNAL, or a file in /run. */
export const hostJournal = (env: NodeJS.ProcessEnv = process.env) => env.PORTLAB_HOST_JOURNAL ?? '/run/portlab/host-settings.json';

/** A sysctl's file under /proc/sys: net.netfilter.nf_conntrack_max -> /proc/sys/net/netfilter/nf_conntrack_max. */
export const sysctlFile = (name: string, root = '/proc/sys') => path.join(root, ...name.split('.'));

async function readJournal(journal: string): Promise<JournalEntry[]> {
  const text = await readFile(journal, 'utf8').catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') return '[]';
    throw error;
  });
  return Journal.parse(JSON.parse(text));
}

async function writeJournal(journal: string, entries: JournalEntry[]): Promise<void> {
  if (entries.length === 0) await rm(journal, { force: true });
  else await writeFileAtomic(journal, `${JSON.stringify(entries, null, 2)}\n`);
}

const readSetting = async (file: string) => (await readFile(file, 'utf8')).trim();

/** A change that is in force; `restore()` puts the original back (once) and takes it out of the journal. */
export type HostSettingChange = { name: string; original: string; value: string; restore: () => Promise<void> };

/**
 * Sets a host-wide setting for as long as this process needs it: the old value is journaled first, then written.
 * The caller restores it in a `finally`; should it never get there, the next portlab command does.
 */
export async function changeHostSetting(
  name: string,
  value: string,
  options: { journal?: string; file?: string } = {},
): Promise<HostSettingChange> {
  const journal = options.journal ?? hostJournal();
  const file = options.file ?? sysctlFile(name);
  const original = await readSetting(file);
  const entry: JournalEntry = { name, file, original, value, owner: formatOwner(currentOwner()), at: new Date().toISOString() };
  await writeJournal(journal, [...(await readJournal(journal)), entry]);
  await writeFile(file, `${value}\n`);
  let restored = false;
  return {
    name,
    original,
    value,
    restore: async () => {
      if (restored) return;
      restored = true;
      await writeFile(file, `${original}\n`);
      await writeJournal(
        journal,
        (await readJournal(journal)).filter((other) => !(other.file === file && other.owner === entry.owner && other.at === entry.at)),
      );
    },
  };
}

/**
 * Undoes what processes that are gone left changed (newest first, so the oldest original wins where one setting was
 * changed twice); a setting that someone changed again since is left as it is. Returns one line per setting.
 */
export async function restoreHostSettings(journal = hostJournal()): Promise<string[]> {
  const entries = await readJournal(journal).catch(() => null);
  if (!entries || entries.length === 0) return [];
  const gone = (entry: JournalEntry) => ownerState(parseOwner(entry.owner)) === 'gone';
  const lines: string[] = [];
  for (const entry of entries.filter(gone).reverse()) {
    const now = await readSetting(entry.file).catch(() => null);
    if (now === entry.value) {
      await writeFile(entry.file, `${entry.original}\n`);
      lines.push(`restored ${entry.name} to ${entry.original} (a portlab process that is gone had set it to ${entry.value})`);
    } else if (now !== entry.original) {
      lines.push(
        `left ${entry.name} at ${now ?? 'unreadable'}: a portlab process that is gone had set it from ${entry.original} to ${entry.value}, and it has changed since`,
      );
    }
  }
  await writeJournal(
    journal,
    entries.filter((entry) => !gone(entry)),
  );
  return [...new Set(lines)];
}
