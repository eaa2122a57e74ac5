import { defineConfig } from 'vitest/config';
import LongestFirst from './test/longest-first.ts';
import { engineAnswers, NO_ENGINE_FILE } from './test/engine-answers.ts';
import { kernelLabsCanRun, NO_KERNEL_LAB_FILE } from './test/kernel-lab-answers.ts';
import { NO_PODMAN_FILE, podmanCanRun } from './test/podman-answers.ts';

/** Tests that need the engine to themselves (orphans on purpose, the host's conntrack table): one file. */
const ALONE = 'test/docker/alone.test.ts';
/** The test that lowers fs.file-max: after everything else. */
const FILES_LAST = 'test/docker/file-max.last.ts';

/** These guard against a hang; portlab's own limits end a run that stops moving. */
const ENGINE_TIMEOUTS = { testTimeout: 600_000, hookTimeout: 300_000 };

/**
 * Where no engine answers, each engine project holds one skipped test that says how to start one (the suite never
 * starts or installs one itself); test/global-setup.ts says it once more, in one line, where such a project was asked for.
 */
const engine = (await engineAnswers()) ? 'answers' : 'absent';
process.env.PORTLAB_TEST_ENGINE = engine;
const onEngine = (include: string[]) => (engine === 'answers' ? include : [NO_ENGINE_FILE]);
/** The kernel tests boot VMs with QEMU and build their disks with debootstrap: where either is missing, not run. */
const onKernelLabs = (include: string[]) => (kernelLabsCanRun() === null ? include : [NO_KERNEL_LAB_FILE]);
/** The Podman tests need a rootful Podman service answering: where none does, not run. */
const podman = (await podmanCanRun()) === null;
const onPodman = (include: string[]) => (podman ? include : [NO_PODMAN_FILE]);

export default defineConfig({
  test: {
    // Two files at a time (vitest's default is one fewer than the cores: one here).
    maxWorkers: 2,
    globalSetup: ['test/global-setup.ts'],
    sequence: { sequencer: LongestFirst },
    projects: [
      {
        test: {
          name: 'unit',
          include: ['test/**/*.test.ts'],
          exclude: ['test/docker/**', 'test/browser/**', 'test/scale/**', 'test/kernels/**', 'test/engines/**'],
          // Some start the real CLI (node on the bundle): a second alone, several beside the engine files and the
          // typecheck. A hang guard, not a time limit.
          testTimeout: 30_000,
          sequence: { groupOrder: 0 },
        },
      },
      {
        test: {
          // Reports opened in Debian's headless Chromium, driven by playwright-core.
          name: 'browser',
          include: ['test/browser/**/*.test.ts'],
          testTimeout: 60_000,
          sequence: { groupOrder: 0 },
        },
      },
      {
        test: {
          // One file (its suites one after another) that has the engine to itself while the unit and browser files
          // run beside it: they never touch the engine.
          name: 'engine-alone',
          include: onEngine([ALONE]),
          ...ENGINE_TIMEOUTS,
          sequence: { groupOrder: 0 },
        },
      },
      {
        test: {
          // Runs judged by their own run ids, two files at a time; their runs are small (a few thousand ports) and
          // mostly wait (paced churn, durations, timeouts). A paced churn that falls behind its rate beside another
          // file's run says by how much, and its prediction counts it.
          name: 'engine',
          include: onEngine(['test/docker/**/*.test.ts']),
          exclude: [ALONE],
          ...ENGINE_TIMEOUTS,
          // The tests of a describe.concurrent (the seed scenarios) three at a time.
          maxConcurrency: 3,
          sequence: { groupOrder: 1 },
        },
      },
      {
        test: {
          // The host's open files lowered for one run: every other process's files count against the same limit,
          // so it runs last, with nothing beside it.
          name: 'engine-last',
          include: onEngine([FILES_LAST]),
          ...ENGINE_TIMEOUTS,
          sequence: { groupOrder: 2 },
        },
      },
      {
        test: {
          // `npm run test:scale`, not `npm test`: the shipped scenarios that fill tens of thousands of ports, the
          // shipped sweeps, the lab's swarm. One file at a time (scripts/test-scale.sh): each needs a large share of
          // the host's conntrack table and cores.
          name: 'scale',
          include: onEngine(['test/scale/**/*.test.ts']),
          ...ENGINE_TIMEOUTS,
          testTimeout: 3_600_000,
          sequence: { groupOrder: 3 },
        },
      },
      {
        test: {
          // `npm run test:kernels`: the scenarios whose outcome depends on the kernel, on Debian's 6.1 and 6.12 in
          // kernel labs (QEMU VMs) the file makes and removes. Its own engines: no Docker engine on the host needed.
          name: 'kernels',
          include: onKernelLabs(['test/kernels/**/*.test.ts']),
          testTimeout: 900_000,
          hookTimeout: 900_000,
          sequence: { groupOrder: 4 },
        },
      },
      {
        test: {
          // `npm run test:engines`: the scenarios on Podman, rootful and (where a user of its own is given) rootless.
          // One file at a time: their runs share the host's conntrack table with nothing else of the suite's.
          name: 'engines',
          include: onPodman(['test/engines/**/*.test.ts']),
          ...ENGINE_TIMEOUTS,
          sequence: { groupOrder: 5 },
        },
      },
    ],
  },
});
