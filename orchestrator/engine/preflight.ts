import { parseProbeLine, type ReadyEvent } from '../observe/probe-events.ts';
import type { DockerEngine, EngineVersion } from './docker-engine.ts';
import { EngineError } from './docker-engine.ts';

export type EngineFacts = {
  version: EngineVersion;
  /** Highest nofile a container can get; null when the engine granted all that was asked. */
  nofileCeiling: number | null;
  defaultNofile: { soft: number; hard: number };
  conntrack: { max: number; inUse: number } | null;
};

/** runc cannot raise a container's hard nofile above the daemon's own without CAP_SYS_RESOURCE. */
const RLIMIT_REFUSED = /setting rlimit|rlimit type 7|operation not permitted/i;

async function limitsProbe(
  engine: DockerEngine,
  image: string,
  name: string,
  labels: Record<string, string>,
  nofile: number | undefined,
  signal: AbortSignal | undefined,
): Promise<ReadyEvent> {
  const output = await engine.runToCompletion({
    name,
    image,
    command: ['limits'],
    labels,
    network: 'host',
    alias: name,
    networkMode: 'host',
    nofile: nofile === undefined ? undefined : { soft: nofile, hard: nofile },
  }, signal);
  for (const line of output.split('\n')) {
    const parsed = parseProbeLine(line);
    if (parsed.ok && parsed.event.event === 'ready') return parsed.event;
  }
  throw new EngineError(`the preflight probe ${name} printed no ready line (it printed: ${JSON.stringify(output.slice(0, 200))})`);
}

/**
 * What this engine grants: the nofile of a container that asks for nothing, whether it can grant `wantedNofile`
 * (the most any service of the scenario asks for), and the host's conntrack table.
 */
export async function measureEngine(
  engine: DockerEngine,
  image: string,
  wantedNofile: number,
  naming: { prefix: string; labels: Record<string, string>; signal?: AbortSignal },
): Promise<EngineFacts> {
  const version = await engine.version();
  const defaults = await limitsProbe(engine, image, `${naming.prefix}-preflight-default`, naming.labels, undefined, naming.signal);
  const conntrack = defaults.conntrack ? { max: defaults.conntrack.max, inUse: defaults.conntrack.count } : null;
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
  return { version, nofileCeiling, defaultNofile: defaults.nofile, conntrack };
}
