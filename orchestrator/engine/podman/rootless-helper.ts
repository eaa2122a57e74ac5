import { readdir, readFile, stat } from 'node:fs/promises';
import type { Environment } from '../../predict/environment.ts';

type NetworkHelper = NonNullable<Environment['networkHelper']>;

const readText = (file: string) => readFile(file, 'utf8').catch(() => null);

/** The soft "Max open files" of /proc/PID/limits; null when unreadable. */
export function softNofileOf(limits: string | null): number | null {
  const match = /^Max open files\s+(\d+|unlimited)\s+/m.exec(limits ?? '');
  if (!match) return null;
  return match[1] === 'unlimited' ? Number.MAX_SAFE_INTEGER : Number(match[1]);
}

/** The uid that owns the engine's unix socket: a user's own Podman (rootless) where it is not root; null: not a socket here. */
export async function socketOwner(address: string): Promise<number | null> {
  if (!address.startsWith('unix://')) return null;
  return stat(address.slice('unix://'.length)).then(
    (socket) => socket.uid,
    () => null,
  );
}

type HelperSeen = { nofile: number; descriptors: number };

/**
 * What /proc shows of the user's rootless network: its helper (the slirp4netns whose command line names the
 * rootless-netns; the user's networks share it) where it runs, and the soft nofile of the user's Podman service.
 */
async function lookAtUser(owner: number, proc: string): Promise<{ helper: HelperSeen | null; serviceNofile: number | null }> {
  let serviceNofile: number | null = null;
  let helper: HelperSeen | null = null;
  for (const pid of (await readdir(proc).catch(() => [])).filter((name) => /^\d+$/.test(name))) {
    const uid = await stat(`${proc}/${pid}`).then(
      (entry) => entry.uid,
      () => null,
    );
    if (uid !== owner) continue;
    const args = ((await readText(`${proc}/${pid}/cmdline`)) ?? '').split('\0');
    const program = args[0]?.split('/').pop();
    if (program === 'podman' && args.includes('system') && args.includes('service')) {
      const nofile = softNofileOf(await readText(`${proc}/${pid}/limits`));
      if (nofile !== null) serviceNofile = Math.max(serviceNofile ?? 0, nofile);
    } else if (program === 'slirp4netns' && args.some((arg) => arg.includes('rootless-netns'))) {
      const nofile = softNofileOf(await readText(`${proc}/${pid}/limits`));
      const descriptors = await readdir(`${proc}/${pid}/fd`).then(
        (entries) => entries.length,
        () => null,
      );
      if (nofile !== null && descriptors !== null) helper = { nofile, descriptors };
    }
  }
  return { helper, serviceNofile };
}

/**
 * Rootless Podman's network helper as this machine's /proc shows it, for the engine answering at `address` (the
 * socket's owner is the user whose Podman it is; root's is rootful: no helper). Its nofile is the helper's own:
 * Podman raises its soft limit to its hard one and the helper it starts inherits it (measured: a service started
 * with soft 1,024 and hard 20,000 ran its helper with 20,000). The descriptors it holds are read, never assumed: a
 * new helper holds 7 under one service and 8 under another (it inherits what its service leaves open), so where
 * none runs, `startOne` brings one up (a container on one of the user's networks) while it is read; a dry run, which
 * starts nothing, takes the service's nofile and counts none. null where the engine is not a rootless one on this
 * machine, or nothing could be read.
 */
export async function rootlessNetworkHelper(
  address: string,
  startOne?: () => Promise<() => Promise<void>>,
  proc = '/proc',
): Promise<NetworkHelper | null> {
  const owner = await socketOwner(address);
  if (owner === null || owner === 0) return null;
  const { helper: running, serviceNofile } = await lookAtUser(owner, proc);
  if (running) return { program: 'slirp4netns', nofile: running.nofile, descriptorsHeld: running.descriptors, held: 'running' };
  // A dry run starts nothing: the nofile a helper would inherit, its own descriptors not counted.
  if (!startOne)
    return serviceNofile === null ? null : { program: 'slirp4netns', nofile: serviceNofile, descriptorsHeld: 0, held: 'not read' };
  const stop = await startOne();
  try {
    for (let tries = 0; tries < 50; tries++) {
      const { helper } = await lookAtUser(owner, proc);
      if (helper) return { program: 'slirp4netns', nofile: helper.nofile, descriptorsHeld: helper.descriptors, held: 'new' };
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    return null;
  } finally {
    await stop();
  }
}
