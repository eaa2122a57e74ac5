import { access, mkdir, open, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import { writeFileAtomic } from '../common/atomic-write.ts';
import { currentOwner, formatOwner, ownerState, parseOwner } from './run-owner.ts';

/*
 * Host-wide kernel settings (nf_conntrack_max, fs.file-max) changed for a while by a test or a benchmark that owns the
 * machine. Each change is written to a journal before it is made, and undone from it: by its owner when it is done,
 * or by the next portlab command of any kind once its owner is gone (a crash, a kill -9, a CI time limit). The
 * journal lives in /run, which a reboot empties as it resets the settings themselves. Every read-modify-write of it
 * holds a lock (a file beside it, created exclusively, naming its owner), so two processes never lose each other's
 * entries.
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

/** How long a process waits for another's hold on the journal (a read-modify-write takes milliseconds). */
const LOCK_WAIT_MS = 10_000;

/** The journal could not be locked, read or written: said in one line by whoever asked. */
export class HostJournalError extends Error {
  override name = 'HostJournalError';
}

const errnoOf = (error: unknown) => (error as NodeJS.ErrnoException).code ?? (error as Error).message;

/**
 * Runs `update` while this process alone holds the journal: the lock file is created exclusively with this process's
 * owner in it; one whose owner is gone (killed while holding it) is taken over.
 */
async function withJournalLock<T>(journal: string, update: () => Promise<T>): Promise<T> {
  const lock = `${journal}.lock`;
  const me = formatOwner(currentOwner());
  await mkdir(path.dirname(journal), { recursive: true });
  for (const deadline = Date.now() + LOCK_WAIT_MS; ;) {
    try {
      const handle = await open(lock, 'wx');
      await handle.writeFile(me);
      await handle.close();
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    const holder = await readFile(lock, 'utf8').catch(() => '');
    // An empty lock is one being written this instant, unless its writer died in between: taken over after the wait.
    if (holder !== '' && ownerState(parseOwner(holder)) === 'gone') await rm(lock, { force: true });
    else if (Date.now() > deadline) {
      if (holder === '') await rm(lock, { force: true });
      else throw new HostJournalError(`the journal ${journal} has been locked by ${holder} for ${LOCK_WAIT_MS / 1000} s`);
    } else await new Promise((resolve) => setTimeout(resolve, 20));
  }
  try {
    return await update();
  } finally {
    await rm(lock, { force: true });
  }
}

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
  await withJournalLock(journal, async () => writeJournal(journal, [...(await readJournal(journal)), entry]));
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
      await withJournalLock(journal, async () =>
        writeJournal(
          journal,
          (await readJournal(journal)).filter((other) => !(other.file === file && other.owner === entry.owner && other.at === entry.at)),
        ),
      );
    },
  };
}

/** Puts back one entry whose owner is gone. Returns what to say, and whether the entry is done with. */
async function restoreEntry(entry: JournalEntry): Promise<{ line?: string; done: boolean }> {
  const now = await readSetting(entry.file).catch(() => null);
  if (now === entry.value) {
    try {
      await writeFile(entry.file, `${entry.original}\n`);
    } catch (error) {
      return {
        line: `could not restore ${entry.name} to ${entry.original} (${errnoOf(error)} writing ${entry.file}); it stays at ${entry.value}, and in the journal for the next command`,
        done: false,
      };
    }
    return {
      line: `restored ${entry.name} to ${entry.original} (a portlab process that is gone had set it to ${entry.value})`,
      done: true,
    };
  }
  if (now !== entry.original)
    return {
      line: `left ${entry.name} at ${now ?? 'unreadable'}: a portlab process that is gone had set it from ${entry.original} to ${entry.value}, and it has changed since`,
      done: true,
    };
  return { done: true };
}

/**
 * Undoes what processes that are gone left changed (newest first, so the oldest original wins where one setting was
 * changed twice); a setting that someone changed again since is left as it is. Returns one line per setting, and
 * never throws: a journal it cannot lock, read or write, or a setting it cannot write back, is a line too, and the
 * command that asked goes on.
 */
export async function restoreHostSettings(journal = hostJournal()): Promise<string[]> {
  // No journal, nothing to restore (and no lock to take: a command makes no folder in /run for nothing).
  if (
    !(await access(journal).then(
      () => true,
      (error: NodeJS.ErrnoException) => error.code !== 'ENOENT',
    ))
  )
    return [];
  try {
    return await withJournalLock(journal, async () => {
      const entries = await readJournal(journal);
      const lines: string[] = [];
      const kept: JournalEntry[] = [];
      for (const entry of [...entries].reverse()) {
        if (ownerState(parseOwner(entry.owner)) !== 'gone') {
          kept.unshift(entry);
          continue;
        }
        const { line, done } = await restoreEntry(entry);
        if (line) lines.push(line);
        if (!done) kept.unshift(entry);
      }
      if (kept.length !== entries.length) await writeJournal(journal, kept);
      return [...new Set(lines)];
    });
  } catch (error) {
    const why =
      error instanceof HostJournalError
        ? error.message
        : error instanceof z.ZodError || error instanceof SyntaxError
          ? `${journal} is not a journal portlab wrote`
          : `${errnoOf(error)} on the journal ${journal}`;
    return [`could not check for host settings a crashed portlab left changed (${why}); going on`];
  }
}
