import { execFileSync } from 'node:child_process';

/** Stands in for the kernel tests where a kernel lab cannot run here: its one skipped test says why and what to install. */
export const NO_KERNEL_LAB_FILE = 'test/no-kernel-lab.skipped.ts';

const has = (command: string) => {
  try {
    execFileSync('sh', ['-c', `command -v ${command}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
};

/**
 * Why a kernel lab cannot run on this machine, or null where it can: QEMU boots it, debootstrap builds its disk (as
 * root). The suite installs neither; `.ci/run`, on a disposable machine, does.
 */
export function kernelLabsCanRun(): string | null {
  const missing = [
    has('qemu-system-x86_64') ? '' : 'qemu-system-x86',
    has('debootstrap') ? '' : 'debootstrap',
    // The probe is compiled here, static, before its image is built on the lab's engine.
    has('cc') ? '' : 'gcc libc6-dev',
  ].filter(Boolean);
  if (missing.length > 0)
    return `not run: the kernel tests (a kernel lab needs ${missing.join(' and ')}: apt-get install ${missing.join(' ')}; the suite installs nothing)`;
  if (process.getuid?.() !== 0) return "not run: the kernel tests (building a kernel lab's disk with debootstrap needs root)";
  return null;
}
