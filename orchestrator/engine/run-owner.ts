import { PORTLAB_LABEL } from '../compile/compile-compose.ts';
import { readFileSync } from 'node:fs';
import os from 'node:os';

/**
 * Who created a run: the orchestrator process, as host/pid/start. The start (clock ticks since boot, from
 * /proc/<pid>/stat) tells a live owner from a later process that got the same pid.
 */
export type RunOwner = { host: string; pid: number; started: string };

/** A process's start time in clock ticks since boot (field 22 of /proc/<pid>/stat); null where /proc cannot tell. */
function processStart(pid: number): string | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) is in parentheses and may hold spaces: count fields after its closing one.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return fields[19] ?? null;
  } catch {
    return null;
  }
}

export function currentOwner(): RunOwner {
  return { host: os.hostname(), pid: process.pid, started: processStart(process.pid) ?? 'unknown' };
}

export const formatOwner = (owner: RunOwner) => `${owner.host}/${owner.pid}/${owner.started}`;

export function parseOwner(label: string | undefined): RunOwner | undefined {
  const match = label ? /^(.+)\/(\d+)\/([^/]+)$/.exec(label) : null;
  return match ? { host: match[1]!, pid: Number(match[2]), started: match[3]! } : undefined;
}

/**
 * Whether the process that owns a run is still there. `other-host` when it ran on another machine (its processes
 * cannot be seen from here): such runs are removed only when named, or with --all.
 */
export function ownerState(owner: RunOwner | undefined, here = os.hostname()): 'alive' | 'gone' | 'other-host' {
  if (!owner) return 'gone';
  if (owner.host !== here) return 'other-host';
  try {
    process.kill(owner.pid, 0);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EPERM') return 'gone';
  }
  const started = processStart(owner.pid);
  return started === null || owner.started === 'unknown' || started === owner.started ? 'alive' : 'gone';
}

/**
 * The session this process works in (PORTLAB_SESSION): its runs carry it, and its cleanup sees only runs that carry
 * it. Unset for a person's own commands, which see every run.
 */
export function currentSession(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const session = env.PORTLAB_SESSION?.trim();
  return session ? session : undefined;
}

/** The labels that tie a container or network to its run and its owner (and session): cleanup is by these. */
export function runLabels(run: { runId: string; owner: RunOwner; afterRun?: AfterRun }): Record<string, string> {
  const session = currentSession();
  return {
    [PORTLAB_LABEL.managed]: 'true',
    [PORTLAB_LABEL.runId]: run.runId,
    [PORTLAB_LABEL.owner]: formatOwner(run.owner),
    ...run.afterRun?.labels,
    ...(session ? { [PORTLAB_LABEL.session]: session } : {}),
  };
}

/** What becomes of a run's containers and network once it ends: REMOVE_RUN or KEEP_RUN, chosen by the command. */
export type AfterRun = {
  /** The result says whether the run was left in place. */
  readonly kept: boolean;
  /** What its containers and network carry besides the run's labels (a kept run's survive the next run's cleanup). */
  readonly labels: Record<string, string>;
  /** Its containers go on running after the run, holding what they held (where the backend can leave them so). */
  readonly staysUp: boolean;
  /** Takes the deployment away, or leaves it (no longer followed: its containers go on without portlab). */
  end(deployment: { remove(): Promise<void>; detach(): void }): Promise<void>;
};

/** The default: everything of the run is removed once what it measured is read. */
export const REMOVE_RUN: AfterRun = {
  kept: false,
  labels: {},
  staysUp: false,
  end: (deployment) => deployment.remove(),
};

/**
 * --keep: the run's containers and network stay until `portlab rm` or --cleanup; on the local engine its containers
 * go on running, each holding what it held at the end (`portlab inspect`, `docker exec`, `ss` see the experiment as
 * it stood); a swarm's are stopped.
 */
export const KEEP_RUN: AfterRun = {
  kept: true,
  labels: { [PORTLAB_LABEL.kept]: 'true' },
  staysUp: true,
  end: async (deployment) => deployment.detach(),
};

/**
 * A sweep's --keep: every point's containers and network stay, stopped (points left running would hold their
 * connections while the next points run, and crowd the host's tables those measure).
 */
export const KEEP_STOPPED: AfterRun = { ...KEEP_RUN, staysUp: false };
