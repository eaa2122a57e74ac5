import { readdir } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { showCount } from '../../orchestrator/predict/count-range.ts';
import { ASSUMED_ENVIRONMENT } from '../../orchestrator/predict/environment.ts';
import { predict } from '../../orchestrator/predict/predict.ts';
import { loadSweep, SWEEPS_DIR } from '../../orchestrator/scenario/sweep-file.ts';

/** What each shipped sweep predicts at each point, all clients together, and the limit: the README's table. */
const SHIPPED_SWEEPS: Record<string, Array<[string, string]>> = {
  'range-width': [
    ['500', 'port-range'],
    ['1,000', 'port-range'],
    ['1,000', 'port-range'],
    ['2,000', 'port-range'],
    ['2,000', 'port-range'],
    ['4,000', 'port-range'],
    ['4,000', 'port-range'],
    ['8,000', 'port-range'],
  ],
  'listen-ports': [
    ['500', 'port-range'],
    ['1,000', 'port-range'],
    ['1,500', 'port-range'],
    ['2,000', 'port-range'],
  ],
  'tw-reuse-rate': [
    ['600', 'none'],
    ['600', 'none'],
    ['at least 1,000', 'time-wait'],
    ['1,200', 'none'],
    ['at least 1,000', 'time-wait'],
    ['2,400', 'none'],
    ['at least 1,000', 'time-wait'],
    ['at least 1,000', 'time-wait'],
  ],
  'nofile-vs-range': [
    ['297', 'nofile'],
    ['597', 'nofile'],
    ['897', 'nofile'],
    ['1,000', 'port-range'],
    ['1,000', 'port-range'],
  ],
  // Two clients each: 3 ports give 2 (the high port is never tried), an odd range its width or one less, an even
  // one exact; 40000-41000 lies in the DNS listener's range, which may cost each client one more.
  'odd-ranges': [
    ['4', 'port-range'],
    ['8-10', 'port-range'],
    ['1,552-1,554', 'port-range'],
    ['1,556', 'port-range'],
    ['3,000-3,002', 'port-range'],
    ['1,998-2,002', 'port-range'],
  ],
  // The same odd widths on each socket (IP_LOCAL_PORT_RANGE): one pass by 1, no rounding to even, so each is exact.
  // haproxy's maxconn and the expectation of it, moved together: the kernel's ceiling is the client's 2,000 ports at
  // every point (what the server holds, and the total behind its queue, are judged against the expectation).
  'haproxy-maxconn': [
    ['2,000', 'port-range'],
    ['2,000', 'port-range'],
    ['2,000', 'port-range'],
  ],
  'odd-socket-ranges': [
    ['6', 'port-range'],
    ['10', 'port-range'],
    ['1,554', 'port-range'],
    ['3,002', 'port-range'],
  ],
};

describe('shipped sweeps', () => {
  it('every file in sweeps/ is listed here', async () => {
    const files = (await readdir(SWEEPS_DIR)).filter((file) => file.endsWith('.yml')).map((file) => file.slice(0, -4));
    expect(files.sort()).toEqual(Object.keys(SHIPPED_SWEEPS).sort());
  });

  it.each(Object.entries(SHIPPED_SWEEPS))('%s: each point predicts what the README says', async (name, expected) => {
    const sweep = await loadSweep(name);
    expect(
      sweep.points.map((point) => {
        const prediction = predict(point.scenario, ASSUMED_ENVIRONMENT);
        return [showCount(prediction.total), prediction.limit];
      }),
    ).toEqual(expected);
  });
});
