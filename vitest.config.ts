import { defineConfig } from 'vitest/config';

/** Real containers fill real port ranges: a wide range takes minutes here. */
const ENGINE_TIMEOUTS = { testTimeout: 600_000, hookTimeout: 300_000 };

export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: ['test/**/*.test.ts'],
          exclude: ['test/docker/**', 'test/browser/**'],
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
          // Tests that leave orphans on purpose (a kill -9, an engine cut off) and check what cleanup does with them:
          // alone on the engine, or another run's start-up cleanup would take their orphans first.
          name: 'engine-alone',
          include: ['test/docker/engine.test.ts', 'test/docker/faults.test.ts', 'test/docker/compose-rerun.test.ts', 'test/docker/swarm.test.ts', 'test/docker/conntrack.test.ts'],
          ...ENGINE_TIMEOUTS,
          fileParallelism: false,
          sequence: { groupOrder: 1 },
        },
      },
      {
        test: {
          // Runs judged by their own run ids. One file at a time: on 2 cores, files side by side took as long in
          // all (the fills are CPU-bound in the kernel) and paced churn fell behind its rate.
          name: 'engine',
          include: ['test/docker/**/*.test.ts'],
          exclude: ['test/docker/engine.test.ts', 'test/docker/faults.test.ts', 'test/docker/compose-rerun.test.ts', 'test/docker/swarm.test.ts', 'test/docker/conntrack.test.ts'],
          ...ENGINE_TIMEOUTS,
          fileParallelism: false,
          sequence: { groupOrder: 2 },
        },
      },
    ],
  },
});
