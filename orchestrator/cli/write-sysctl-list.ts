import { mkdtemp } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { engineSysctls, SysctlNameCache } from '../engine/netns-sysctls.ts';
import { ensureProbeImage } from '../engine/probe-image.ts';
import { currentOwner, runLabels } from '../engine/run-owner.ts';
import { writeFileAtomic } from '../common/atomic-write.ts';
import { PROJECT_ROOT } from '../common/project-root.ts';
import { SHIPPED_SYSCTLS_FILE } from '../scenario/shipped-sysctls.ts';
import { connectEngine } from './connect-engine.ts';
import { newRunId } from './run-command.ts';

/**
 * `npm run sysctl-list`: records the sysctls of a new network namespace on this engine's kernel into the list a dry
 * run checks names against (orchestrator/scenario/netns-sysctls.json), the same way a run measures them.
 */
const engine = await connectEngine();
const image = await ensureProbeImage(engine);
const runId = newRunId();
const cache = new SysctlNameCache(path.join(await mkdtemp(path.join(os.tmpdir(), 'portlab-sysctls-')), 'names.json'));
const catalog = await engineSysctls(
  engine,
  image,
  { prefix: `portlab-sysctls-${runId}`, labels: runLabels({ runId, owner: currentOwner() }) },
  cache,
);
const { kernelVersion } = await engine.version();
const names = [...catalog.names].sort();
await writeFileAtomic(SHIPPED_SYSCTLS_FILE, `${JSON.stringify({ kernel: kernelVersion, names }, null, 2)}\n`);
process.stdout.write(
  `wrote ${path.relative(PROJECT_ROOT, SHIPPED_SYSCTLS_FILE)}: ${names.length} sysctls of a new network namespace on Linux ${kernelVersion}\n`,
);
