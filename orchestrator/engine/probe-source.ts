import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { PROJECT_ROOT } from '../common/project-root.ts';
import { OWN_REGISTRY } from './image-names.ts';

export const PROBE_DIR = path.join(PROJECT_ROOT, 'images', 'probe');
/**
 * Every file the probe is built from: the C files of images/probe (probe.c's one translation unit includes the
 * others), its Dockerfile, and the script that compiles it.
 */
export async function probeSources(): Promise<string[]> {
  const files = (await readdir(PROBE_DIR)).filter((file) => file.endsWith('.c')).sort();
  return [...files.map((file) => path.join(PROBE_DIR, file)), path.join(PROBE_DIR, 'Dockerfile'), BUILD_SCRIPT];
}
/** The one script that compiles the probe: for the image and, with --musl, as the host binary. */
export const BUILD_SCRIPT = path.join(PROJECT_ROOT, 'scripts', 'build-probe.sh');
export const PROBE_REPOSITORY = `${OWN_REGISTRY}/probe`;

/** The probe image is tagged by a hash of its sources, so it is rebuilt only when they change. */
export async function probeImageTag(): Promise<string> {
  return `${PROBE_REPOSITORY}:${await probeSourceHash()}`;
}

/** A hash of the probe's sources: its image's tag, and the name of its host binaries (cached and shipped). */
export async function probeSourceHash(): Promise<string> {
  const hash = createHash('sha256');
  for (const file of await probeSources()) {
    hash
      .update(path.relative(PROJECT_ROOT, file))
      .update('\0')
      .update(await readFile(file))
      .update('\0');
  }
  return hash.digest('hex').slice(0, 12);
}
