import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { PROJECT_ROOT } from '../common/project-root.ts';
import { OWN_REGISTRY } from './image-names.ts';

export const PROBE_DIR = path.join(PROJECT_ROOT, 'images', 'probe');
/** Every file the image is built from: observer.c and inspect.c are part of probe.c's one translation unit. */
export const PROBE_SOURCES = ['probe.c', 'observer.c', 'inspect.c', 'Dockerfile'] as const;
export const PROBE_REPOSITORY = `${OWN_REGISTRY}/probe`;

/** The probe image is tagged by a hash of its sources, so it is rebuilt only when they change. */
export async function probeImageTag(): Promise<string> {
  const hash = createHash('sha256');
  for (const file of PROBE_SOURCES) {
    hash
      .update(file)
      .update('\0')
      .update(await readFile(path.join(PROBE_DIR, file)))
      .update('\0');
  }
  return `${PROBE_REPOSITORY}:${hash.digest('hex').slice(0, 12)}`;
}
