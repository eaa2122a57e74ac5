import { mkdir, readFile, readdir, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { PROJECT_ROOT } from '../../orchestrator/common/project-root.ts';
import { formatCount, showCount } from '../../orchestrator/predict/count-range.ts';
import type { CountRange } from '../../orchestrator/predict/prediction-schema.ts';

/** The shipped scenarios whose outcome depends on the kernel (docs/kernels.md), run on every kernel lab. */
export const KERNEL_SCENARIOS = ['socket-port-range', 'dual-stack', 'tw-reuse', 'time-wait-exhaustion', 'extra-listen-ports'];
/** The shipped sweeps likewise. */
export const KERNEL_SWEEPS = ['odd-ranges', 'odd-socket-ranges'];

/** One container of one run (or sweep point) on one kernel, as measured. */
export type MeasuredRow = {
  series: string;
  release: string;
  /** uname -v, where the run recorded it ("#1 SMP PREEMPT_DYNAMIC Debian 6.1.192-3 (...)"). */
  build: string;
  what: string;
  container: string;
  predicted: CountRange;
  observed: number;
  verdict: string;
};

export const KERNELS_DOC = path.join(PROJECT_ROOT, 'docs', 'kernels.md');
export const TABLE_START = '<!-- measured by npm run test:kernels: start -->';
export const TABLE_END = '<!-- measured by npm run test:kernels: end -->';

/** The upstream version a Debian build names ("Debian 6.1.192-3" -> 6.1.192), else the release. */
const upstreamOf = (row: MeasuredRow) => /Debian (\d+\.\d+\.\d+)/.exec(row.build)?.[1] ?? row.release;

/**
 * The table docs/kernels.md shows: one row per run (or sweep point) and container, a column per kernel, each cell
 * "predicted → observed" and the verdict.
 */
export function measuredTable(rows: MeasuredRow[], date: string): string {
  const kernels = [...new Map(rows.map((row) => [row.series, row])).values()];
  const heading = kernels.map((row) => `Linux ${upstreamOf(row)} (\`${row.release}\`)`);
  const keys = [...new Set(rows.map((row) => `${row.what}\u0000${row.container}`))];
  const lines = [
    `Measured on ${date}, every run judged by portlab's own verdict (predicted → observed):`,
    '',
    `| run | container | ${heading.join(' | ')} |`,
    `| --- | --- | ${heading.map(() => '---').join(' | ')} |`,
    ...keys.map((key) => {
      const [what, container] = key.split('\u0000') as [string, string];
      const cells = kernels.map((kernel) => {
        const row = rows.find((each) => each.series === kernel.series && each.what === what && each.container === container);
        return row ? `${showCount(row.predicted)} → ${formatCount(row.observed)} ${row.verdict}` : '-';
      });
      return `| ${what} | ${container} | ${cells.join(' | ')} |`;
    }),
  ];
  return lines.join('\n');
}

/** Where each kernel's test file leaves its rows for the session (the files run side by side). */
const rowsDir = () => path.join(os.tmpdir(), `portlab-kernels-${process.env.PORTLAB_SESSION ?? 'session'}`);

/**
 * Keeps one kernel's rows for the session, and with PORTLAB_RECORD_KERNELS=1 writes every kernel's rows of the session
 * into docs/kernels.md, between its markers: the table is the test's, never written by hand.
 */
export async function saveMeasured(series: string, rows: MeasuredRow[]): Promise<void> {
  await mkdir(rowsDir(), { recursive: true });
  await writeFile(path.join(rowsDir(), `${series}.json`), JSON.stringify(rows));
  if (process.env.PORTLAB_RECORD_KERNELS !== '1') return;
  const files = (await readdir(rowsDir())).filter((file) => file.endsWith('.json')).sort();
  const all = (
    await Promise.all(files.map(async (file) => JSON.parse(await readFile(path.join(rowsDir(), file), 'utf8')) as MeasuredRow[]))
  ).flat();
  const doc = await readFile(KERNELS_DOC, 'utf8');
  const start = doc.indexOf(TABLE_START);
  const end = doc.indexOf(TABLE_END);
  if (start < 0 || end < start) throw new Error(`${KERNELS_DOC} has no ${TABLE_START} ... ${TABLE_END}`);
  const table = measuredTable(all, new Date().toISOString().slice(0, 10));
  await writeFile(KERNELS_DOC, `${doc.slice(0, start + TABLE_START.length)}\n\n${table}\n\n${doc.slice(end)}`);
}
