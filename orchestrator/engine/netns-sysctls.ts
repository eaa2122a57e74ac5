import path from 'node:path';
import { z } from 'zod';
import { parseProbeLine } from '../observe/probe-events.ts';
import { catalogOf, type SysctlCatalog } from '../scenario/sysctl-names.ts';
import { type DockerEngine } from './docker/engine.ts';
import { EngineError } from './errors.ts';
import { cacheDir, KeyedCache } from './grant-cache.ts';

/** The sysctls of a new network namespace per engine (its id, version and kernel): fixed by the kernel, remembered. */
export class SysctlNameCache extends KeyedCache<string[]> {
  constructor(file = path.join(cacheDir(), 'netns-sysctls.json')) {
    super(file, z.array(z.string()));
  }
}

type Naming = { prefix: string; labels: Record<string, string>; signal?: AbortSignal };

/**
 * What a new network namespace on this engine's kernel has under /proc/sys/net: a probe in a container of its own
 * (network none, a namespace as new as a run's) lists it once per engine. The names a run's sysctls are checked
 * against before anything runs.
 */
export async function engineSysctls(
  engine: DockerEngine,
  image: string,
  naming: Naming,
  cache = new SysctlNameCache(),
): Promise<SysctlCatalog> {
  const [identity, version] = await Promise.all([engine.identity(), engine.version()]);
  const source = `a new network namespace on this engine's kernel (Linux ${version.kernelVersion})`;
  const known = await cache.get(identity);
  if (known) return catalogOf(known, source);
  const name = `${naming.prefix}-preflight-sysctls`;
  const output = await engine.containers.runToCompletion(
    { name, image, command: ['sysctls'], labels: naming.labels, network: 'none', alias: name, networkMode: 'none' },
    naming.signal,
  );
  for (const line of output.split('\n')) {
    const parsed = parseProbeLine(line);
    if (parsed.ok && parsed.event.event === 'sysctls' && parsed.event.names.length > 0) {
      await cache.set(identity, parsed.event.names);
      return catalogOf(parsed.event.names, source);
    }
  }
  throw new EngineError(`the preflight probe ${name} listed no sysctls (it printed: ${JSON.stringify(output.slice(0, 200))})`);
}
