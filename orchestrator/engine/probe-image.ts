import { access, copyFile, mkdir, mkdtemp, rename, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { PORTLAB_LABEL } from '../compile/compile-compose.ts';
import { DockerEngine } from './docker/engine.ts';
import { BUILD_SCRIPT, PROBE_DIR, probeImageTag, probeSourceHash } from './probe-source.ts';
import { PROJECT_ROOT } from '../common/project-root.ts';
import { cacheDir } from './grant-cache.ts';

export class ProbeBuildError extends Error {
  override name = 'ProbeBuildError';
}

/**
 * Compiles the probe statically with the host's C compiler (scripts/build-probe.sh) into a build context of its own (a
 * fresh directory under the system's temporary directory: portlab's own files may be another user's, as an installed
 * package's are), so two first runs at once never write the same file. Returns the directory.
 */
export async function compileProbe(): Promise<string> {
  const context = await mkdtemp(path.join(os.tmpdir(), 'portlab-probe-'));
  const output = path.join(context, 'probe');
  const cc = process.env.CC ?? 'cc';
  try {
    const { execa } = await import('execa');
    await execa('bash', [BUILD_SCRIPT, output]);
  } catch (error) {
    await rm(context, { recursive: true, force: true });
    const detail = (error as { stderr?: string; shortMessage?: string }).stderr || (error as Error).message;
    throw new ProbeBuildError(
      `compiling the probe with \`${cc} -static\` failed (a static libc is needed: Debian's libc6-dev):\n${detail}`,
    );
  }
  await copyFile(path.join(PROBE_DIR, 'Dockerfile'), path.join(context, 'Dockerfile'));
  return context;
}

/**
 * The probe image for the current sources, built only when no image has that tag yet. The engine tags an image
 * only once it is complete, so runs that build it at the same time both end with the same, whole image.
 */
export async function ensureProbeImage(
  engine: DockerEngine,
  onBuild: (tag: string) => void = () => {},
  signal?: AbortSignal,
): Promise<string> {
  const tag = await probeImageTag();
  if (await engine.images.exists(tag, signal)) return tag;
  onBuild(tag);
  const context = await compileProbe();
  try {
    await engine.images.build(context, ['Dockerfile', 'probe'], tag, { [PORTLAB_LABEL.managed]: 'true' }, signal);
  } finally {
    await rm(context, { recursive: true, force: true });
  }
  return tag;
}

/** The most a swarm config may hold (swarmkit's MaxConfigSize): the observer travels as one. */
export const SWARM_CONFIG_MAX_BYTES = 500 * 1024;

/** Where the observer for the current sources is (or will be, once built) in portlab's cache. */
export async function observerBinaryPath(): Promise<string> {
  return path.join(cacheDir(), 'observer', `observer-${await probeSourceHash()}`);
}

/** Where the npm package ships the host binary for the current sources (dist/probe-<source hash>, built by `npm pack`). */
export async function shippedProbePath(): Promise<string> {
  return path.join(PROJECT_ROOT, 'dist', `probe-${await probeSourceHash()}`);
}

/**
 * The probe as a host binary for the current sources: the one the npm package ships, or else built against musl into
 * portlab's cache (scripts/build-probe.sh --musl, once).
 */
export async function hostProbeBinary(onBuild: () => void): Promise<string> {
  const shipped = await shippedProbePath();
  const exists = await access(shipped).then(
    () => true,
    () => false,
  );
  return exists ? shipped : ensureObserverBinary(onBuild);
}

/**
 * The probe built against musl (scripts/build-probe.sh --musl: Debian's musl unpacked into the cache, never installed),
 * for the current sources, as a file in portlab's cache: about 100 kB, small enough to travel as a swarm config and
 * run as `/portlab-observer observe ... -- COMMAND` in an application's own image. Built once per source hash; two
 * builds at once each write their own file and rename it into place.
 */
export async function ensureObserverBinary(onBuild: () => void = () => {}): Promise<string> {
  const file = await observerBinaryPath();
  if (
    await access(file).then(
      () => true,
      () => false,
    )
  )
    return file;
  onBuild();
  await mkdir(path.dirname(file), { recursive: true });
  const building = `${file}.${process.pid}`;
  try {
    const { execa } = await import('execa');
    await execa('bash', [BUILD_SCRIPT, '--musl', building]);
  } catch (error) {
    await rm(building, { force: true });
    const detail = (error as { stderr?: string }).stderr || (error as Error).message;
    throw new ProbeBuildError(`building the observer against musl failed (scripts/build-probe.sh --musl):\n${detail}`);
  }
  const { size } = await stat(building);
  if (size > SWARM_CONFIG_MAX_BYTES) {
    await rm(building, { force: true });
    throw new ProbeBuildError(
      `the observer built against musl is ${size} bytes, more than a swarm config holds (${SWARM_CONFIG_MAX_BYTES})`,
    );
  }
  await rename(building, file);
  return file;
}
