import { mkdtemp, symlink } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { kernelLabsCanRun } from './kernel-lab-answers.ts';

describe('npm run test:kernels where a kernel lab cannot run', () => {
  const path0 = process.env.PATH;
  afterEach(() => {
    process.env.PATH = path0;
  });

  it('without QEMU, debootstrap or a C compiler its tests are reported as not run, with what to install', async () => {
    const bin = await mkdtemp(path.join(os.tmpdir(), 'portlab-path-'));
    await symlink('/bin/sh', path.join(bin, 'sh'));
    process.env.PATH = bin;
    expect(kernelLabsCanRun()).toBe(
      'not run: the kernel tests (a kernel lab needs qemu-system-x86 and debootstrap and gcc libc6-dev: apt-get install qemu-system-x86 debootstrap gcc libc6-dev; the suite installs nothing)',
    );
  });
});
