import { parseProbeLine, type ReadyEvent } from '../../observe/probe-events.ts';
import type { DockerEngine } from '../docker/engine.ts';
import { conntrackOf, hostLimitsOf, type EngineFacts, type HostLimits } from '../engine-facts.ts';
import { EngineError, NofileRefusedError } from '../errors.ts';
import { GrantCache } from '../grant-cache.ts';

async function limitsProbe(
  engine: DockerEngine,
  image: string,
  name: string,
  labels: Record<string, string>,
  nofile: number | undefined,
  signal: AbortSignal | undefined,
): Promise<ReadyEvent> {
  const output = await engine.containers.runToCompletion(
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
      if (!(error instanceof NofileRefusedError)) throw error;
      nofileCeiling = defaults.nofile.hard;
    }
  }
  await cache.set(key, { nofileCeiling, defaultNofile: defaults.nofile });
  return { version, nofileCeiling, defaultNofile: defaults.nofile, remembered: false, identity };
}

/**
 * The host's conntrack table now (bridged container traffic is tracked there), read by a probe in the host's network
 * namespace: the one reader of the table, so established entries are counted in one place (the probe); beside it the
 * host's kernel-wide limits (open files, memory). Per run, since entries come and go; the table is null when the host
 * does not let it be read.
 */
export async function hostTables(
  engine: DockerEngine,
  image: string,
  naming: Naming,
): Promise<{ conntrack: EngineFacts['conntrack']; host: HostLimits }> {
  const ready = await limitsProbe(engine, image, `${naming.prefix}-preflight-conntrack`, naming.labels, undefined, naming.signal);
  return { conntrack: conntrackOf(ready), host: hostLimitsOf(ready) };
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
  return { ...grants, ...(await hostTables(engine, image, naming)) };
}
