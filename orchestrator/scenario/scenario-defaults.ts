/** Defaults applied to every scenario file; the README's scenario file reference documents the same values. */
export const SCENARIO_DEFAULTS = {
  server: { ports: [5000], backlog: 4096, processes: 'auto' },
  clients: {
    name: 'client',
    close: 'client',
    count: 1,
    mode: 'hold',
    holdDuration: '10m',
    processes: 'auto',
    connectTimeout: '5s',
    bind: 'none',
  },
  expect: { tolerance: 0 },
  /** How often an observer looks at an application's namespace. */
  observeEvery: '250ms',
} as const satisfies {
  server: { ports: readonly number[]; backlog: number; processes: 'auto' | number };
  clients: {
    name: string;
    close: 'client';
    count: number;
    mode: 'hold' | 'churn';
    holdDuration: string;
    processes: 'auto' | number;
    connectTimeout: string;
    bind: 'none';
  };
  expect: { tolerance: number | string };
  observeEvery: string;
};
