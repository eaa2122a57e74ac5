import { parseProbeLine, type ReadyEvent } from '../observe/probe-events.ts';
import type { DockerEngine, EngineVersion } from './docker-engine.ts';
import { EngineError } from './errors.ts';
import { GrantCache } from './grant-cache.ts';
import { HostNamespaceCache, inNamespace, readConntrack, type ConntrackTable } from './host-namespace.ts';

export type EngineFacts = {
  version: EngineVersion;
  /** Highest nofile a container can get; null when the engine granted all that was asked. */
  nofileCeiling: number | null;
  defaultNofile: { soft: number; hard: number };
  /** established: TCP entries in state ESTABLISHED; the other entries in use are closing (or UDP) and expire. */
  conntrack: ConntrackTable | null;
  /** On a swarm: every node services can be placed on, and its conntrack table (the server's node's is `conntrack`). */
  nodes?: Array<{ hostname: string; conntrack: ConntrackTable | null }>;
};

/** The conntrack table a `limits` probe read in its namespace, if it could. */
export const conntrackOf = (ready: ReadyEvent): ConntrackTable | null =>
  ready.conntrack
    ? {
        max: ready.conntrack.max,
        inUse: ready.conntrack.count,
        ...(ready.conntrack.established === undefined ? {} : { established: ready.conntrack.established }),
      }
    : null;

/** runc cannot raise a container's hard nofile above the daemon's own without CAP_SYS_RESOURCE. */
export const RLIMIT_REFUSED = /setting rlimit|rlimit type 7|operation not permitted/i;

async function limitsProbe(
  engine: DockerEngine,
  image: string,
  name: string,
  labels: Record<string, string>,
  nofile: number | undefined,
  signal: AbortSignal | undefined,
): Promise<ReadyEvent> {
  const output = await engine.runToCompletion(
    {
      name,
      image,
      command: ['limits'],
      labels,
      network: 'host',
      alias: name,
      networkMode: 'host',
      nofile: nofile === undefined ? undefined : { soft: nofile, hard: nofile },
    },
    signal,
  );
  for (const line of output.split('\n')) {
    const parsed = parseProbeLine(line);
    if (parsed.ok && parsed.event.event === 'ready') return parsed.event;
  }
  throw new EngineError(`the preflight probe ${name} printed no ready line (it printed: ${JSON.stringify(output.slice(0, 200))})`);
}

export type EngineGrants = Omit<EngineFacts, 'conntrack'>;
type Naming = { prefix: string; labels: Record<string, string>; signal?: AbortSignal };

/**
 * What this engine grants: the nofile of a container that asks for nothing, and whether it can grant `wantedNofile`
 * (the most any service of the scenario asks for). Both are the daemon's own limits, fixed while it runs, so they
 * are remembered per engine (its identity: id, version, kernel) and measured again only for an engine not seen
 * before; `remembered` says which.
 */
export async function engineGrants(
  engine: DockerEngine,
  image: string,
  wantedNofile: number,
  naming: Naming,
  cache: GrantCache = new GrantCache(),
): Promise<EngineGrants & { remembered: boolean; identity: string }> {
  const [version, identity] = await Promise.all([engine.version(), engine.identity()]);
  const key = `${identity} nofile ${wantedNofile}`;
  const known = await cache.get(key);
  if (known) return { version, ...known, remembered: true, identity };
  const defaults = await limitsProbe(engine, image, `${naming.prefix}-preflight-default`, naming.labels, undefined, naming.signal);
  let nofileCeiling: number | null = null;
  if (wantedNofile > defaults.nofile.hard) {
    try {
      const granted = await limitsProbe(engine, image, `${naming.prefix}-preflight-nofile`, naming.labels, wantedNofile, naming.signal);
      nofileCeiling = granted.nofile.hard >= wantedNofile ? null : granted.nofile.hard;
    } catch (error) {
      if (!(error instanceof EngineError) || !RLIMIT_REFUSED.test(error.message)) throw error;
      nofileCeiling = defaults.nofile.hard;
    }
  }
  await cache.set(key, { nofileCeiling, defaultNofile: defaults.nofile });
  return { version, nofileCeiling, defaultNofile: defaults.nofile, remembered: false, identity };
}

/**
 * The host's conntrack table now (bridged container traffic is tracked there). Per run, since entries come and go;
 * null when the host does not let it be read. A probe in the host's network namespace reads it, and says which
 * namespace that is; when portlab itself runs in that namespace (same namespace, same boot: a local engine), later
 * runs read the same files without a container.
 */
export async function hostConntrack(
  engine: DockerEngine,
  image: string,
  naming: Naming,
  namespaces = new HostNamespaceCache(),
): Promise<EngineFacts['conntrack']> {
  const identity = await engine.identity();
  const known = await namespaces.get(identity);
  if (known && (await inNamespace(known))) {
    const here = await readConntrack();
    if (here) return here;
  }
  const ready = await limitsProbe(engine, image, `${naming.prefix}-preflight-conntrack`, naming.labels, undefined, naming.signal);
  if (ready.netns && ready.bootId) await namespaces.set(identity, { netns: ready.netns, bootId: ready.bootId });
  return conntrackOf(ready);
}

/** Everything at once, as a run needs it (the engine suite checks the measurement itself this way). */
export async function measureEngine(
  engine: DockerEngine,
  image: string,
  wantedNofile: number,
  naming: Naming,
  cache?: GrantCache,
): Promise<EngineFacts> {
  const { remembered: _remembered, identity: _identity, ...grants } = await engineGrants(engine, image, wantedNofile, naming, cache);
  return { ...grants, conntrack: await hostConntrack(engine, image, naming) };
}
