import { parseProbeLine, type ReadyEvent } from '../../observe/probe-events.ts';
import type { DockerEngine } from '../docker/engine.ts';
import { conntrackOf, hostLimitsOf, type EngineFacts, type HostLimits } from '../engine-facts.ts';
import { EngineError, NofileRefusedError, NprocRefusedError } from '../errors.ts';
import { GrantCache } from '../grant-cache.ts';

async function limitsProbe(
  engine: DockerEngine,
  image: string,
  name: string,
  labels: Record<string, string>,
  nofile: number | undefined,
  signal: AbortSignal | undefined,
  nproc?: { soft: number; hard: number } | null,
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
      nproc: nproc ?? undefined,
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
 * What this engine grants: the nofile (and nproc) of a container that asks for nothing, whether it can grant
 * `wantedNofile` (the most any service of the scenario asks for), and whether a container that names its nofile must
 * name its nproc too (Podman, given any ulimit but nproc, asks for 4,194,304 processes, which an engine without
 * CAP_SYS_RESOURCE is refused; such a container is then given the nproc a container asking for nothing gets). All
 * are the daemon's own limits, fixed while it runs, so they are remembered per engine (its identity: id, version,
 * kernel) and measured again only for an engine not seen before; `remembered` says which.
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
  // An entry from before nproc was measured is measured again.
  if (known && known.nprocWithNofile !== undefined)
    return { version, ...known, nprocWithNofile: known.nprocWithNofile, remembered: true, identity };
  const defaults = await limitsProbe(engine, image, `${naming.prefix}-preflight-default`, naming.labels, undefined, naming.signal);
  let nprocWithNofile: { soft: number; hard: number } | null = null;
  const withNofile = async (nofile: number): Promise<ReadyEvent> => {
    const probe = () =>
      limitsProbe(engine, image, `${naming.prefix}-preflight-nofile`, naming.labels, nofile, naming.signal, nprocWithNofile);
    try {
      return await probe();
    } catch (error) {
      if (!(error instanceof NprocRefusedError) || nprocWithNofile !== null || !defaults.nproc) throw error;
      nprocWithNofile = defaults.nproc;
      return probe();
    }
  };
  let nofileCeiling: number | null;
  try {
    // Asked as a run asks: what the scenario wants, or the default's hard limit where it wants no more.
    const granted = await withNofile(Math.max(wantedNofile, defaults.nofile.hard));
    nofileCeiling = granted.nofile.hard >= wantedNofile ? null : granted.nofile.hard;
  } catch (error) {
    if (!(error instanceof NofileRefusedError)) throw error;
    nofileCeiling = defaults.nofile.hard;
    // What a run then asks for must start (and says whether nproc must be named beside it).
    await withNofile(nofileCeiling);
  }
  const grants = { nofileCeiling, defaultNofile: defaults.nofile, nprocWithNofile };
  await cache.set(key, grants);
  return { version, ...grants, remembered: false, identity };
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
