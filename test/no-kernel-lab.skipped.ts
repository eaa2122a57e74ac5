import { it } from 'vitest';
import { kernelLabsCanRun } from './kernel-lab-answers.ts';

// The kernels project includes only this file where a kernel lab cannot run (vitest.config.ts): reported as not run.
it.skip(kernelLabsCanRun() ?? 'not run: the kernel tests', () => {});
