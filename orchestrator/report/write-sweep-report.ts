import { writeFileAtomic } from '../common/atomic-write.ts';
import { renderChart } from './render-chart.ts';
import { sweepChart } from './sweep-chart.ts';
import { sweepPage } from './sweep-page.ts';
import type { SweepSummary } from './sweep-schema.ts';

/** Renders the sweep's chart and writes sweep.html. */
export async function writeSweepReport(summary: SweepSummary, file: string): Promise<void> {
  const chart = sweepChart(summary);
  const charts = chart ? [{ ...chart, svg: await renderChart(chart) }] : [];
  await writeFileAtomic(file, sweepPage(summary, charts));
}
