import { readdir, readFile, stat } from 'node:fs/promises';
import type { Environment } from '../../predict/environment.ts';

type NetworkHelper = NonNullable<Environment['networkHelper']>;

/**
 * Descriptors a rootless network's slirp4netns holds before it carries any connection, measured on Podman 4.3.1
 * with slirp4netns 1.2.0: stdin (/dev/null), stdout and stderr (its log), another /dev/null, the tap device, one
 * socket and Podman's ready pipe. A helper with 20,000 descriptors carried 19,993 connections.
 */
export const NEW_HELPER_DESCRIPTORS = 7;

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

/**
 * Rootless Podman's network helper as this machine's /proc shows it, for the engine answering at `address`: the
 * socket's owner is the user whose Podman it is (root's is rootful: no helper). Its rootless networks share one
 * slirp4netns (its command line names the rootless-netns); its nofile is its own where it runs, else that of the
 * user's Podman service, which raises its soft limit to its hard one and passes it to the helper it starts
 * (measured: a service started with soft 1,024 and hard 20,000 ran its helper with 20,000). null where the engine is
 * not a rootless one on this machine, or its processes cannot be read.
 */
export async function rootlessNetworkHelper(address: string, proc = '/proc'): Promise<NetworkHelper | null> {
  const owner = await socketOwner(address);
  if (owner === null || owner === 0) return null;
  let serviceNofile: number | null = null;
  let helper: { nofile: number; descriptors: number } | null = null;
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
  if (helper) return { program: 'slirp4netns', nofile: helper.nofile, descriptorsHeld: helper.descriptors, held: 'read' };
  if (serviceNofile === null) return null;
  return { program: 'slirp4netns', nofile: serviceNofile, descriptorsHeld: NEW_HELPER_DESCRIPTORS, held: 'assumed' };
}
