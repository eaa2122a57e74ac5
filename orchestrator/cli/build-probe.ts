import { DockerEngine } from '../engine/docker/engine.ts';
import { ensureProbeImage } from '../engine/probe-image.ts';
import { reportError } from './report-error.ts';

/** `npm run build-probe`: builds the probe image that compiled compose files name, so they can be rerun by hand. */
if (process.argv.includes('--help') || process.argv.includes('-h')) {
  process.stdout.write(
    'usage: npm run build-probe\n\n  Builds the probe image (from images/probe) that saved compose files name, and prints its tag.\n',
  );
} else {
  try {
    const engine = new DockerEngine();
    await engine.version();
    const tag = await ensureProbeImage(engine, (building) => process.stderr.write(`building ${building} ...\n`));
    process.stdout.write(`${tag}\n`);
  } catch (error) {
    process.exitCode = reportError(error);
  }
}
