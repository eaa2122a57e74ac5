import { copyFile, mkdir } from 'node:fs/promises';
import path from 'node:path';
import { execa } from 'execa';
import { EXIT } from '../cli/exit-codes.ts';
import { PORTLAB_LABEL } from '../compile/compile-compose.ts';
import { DockerEngine } from './docker-engine.ts';
import { PROBE_DIR, probeImageTag } from './probe-source.ts';

const BUILD_DIR = path.join(PROBE_DIR, 'build');

export class ProbeBuildError extends Error {
  readonly exitCode = EXIT.runError;
  override name = 'ProbeBuildError';
}

/** Compiles the probe statically with the host's C compiler, into images/probe/build/ with its Dockerfile. */
export async function compileProbe(): Promise<string> {
  await mkdir(BUILD_DIR, { recursive: true });
  const output = path.join(BUILD_DIR, 'probe');
  const cc = process.env.CC ?? 'cc';
  try {
    await execa(cc, ['-static', '-O2', '-Wall', '-Wextra', '-Werror', '-o', output, path.join(PROBE_DIR, 'probe.c')]);
  } catch (error) {
    const detail = (error as { stderr?: string; shortMessage?: string }).stderr || (error as Error).message;
    throw new ProbeBuildError(`compiling the probe with \`${cc} -static\` failed (a static libc is needed: Debian's libc6-dev):\n${detail}`);
  }
  await copyFile(path.join(PROBE_DIR, 'Dockerfile'), path.join(BUILD_DIR, 'Dockerfile'));
  return BUILD_DIR;
}

/** The probe image for the current sources, built only when no image has that tag yet. */
export async function ensureProbeImage(engine: DockerEngine, onBuild: (tag: string) => void = () => {}): Promise<string> {
  const tag = await probeImageTag();
  if (await engine.imageExists(tag)) return tag;
  onBuild(tag);
  const context = await compileProbe();
  await engine.buildImage(context, ['Dockerfile', 'probe'], tag, { [PORTLAB_LABEL.managed]: 'true' });
  return tag;
}
