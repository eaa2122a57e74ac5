import { chmod, copyFile } from 'node:fs/promises';
import path from 'node:path';
import { PROJECT_ROOT } from '../common/project-root.ts';
import { ensureObserverBinary, shippedProbePath } from '../engine/probe-image.ts';

/**
 * `npm pack`'s last step: the probe as a static host binary (musl, scripts/build-probe.sh --musl) for the sources being
 * packed, as dist/probe-<source hash>, so an installed portlab inspects a process (`portlab inspect --pid`, `--host`)
 * with no compiler and no engine on the machine. A checkout without it builds the same binary into its cache.
 */
const file = await ensureObserverBinary(() => process.stderr.write('building the probe for the package (scripts/build-probe.sh --musl)\n'));
const shipped = await shippedProbePath();
await copyFile(file, shipped);
await chmod(shipped, 0o755);
process.stderr.write(`shipped ${path.relative(PROJECT_ROOT, shipped)}\n`);
