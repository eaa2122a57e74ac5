import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { writeFileAtomic } from '../common/atomic-write.ts';
import { chartData } from './chart-data.ts';
import { reportCharts } from './chart-specs.ts';
import { renderChart } from './render-chart.ts';
import { reportPage, type RenderedChart } from './report-page.ts';
import { StoredResult } from './result-schema.ts';

/** A result file that cannot be read as one: said in one line, exit 2. */
export class ResultFileError extends Error {
  override name = 'ResultFileError';
}

/** results/<name>-<stamp>.json -> results/<name>-<stamp>.html */
export const reportFileFor = (resultFile: string) => resultFile.replace(/(\.json)?$/, '.html');

/** Every chart the result supports, rendered (none for a result of schema version 1: it has no series). */
export async function renderReportCharts(result: StoredResult): Promise<RenderedChart[]> {
  if (result.schemaVersion === 1) return [];
  return Promise.all(reportCharts(chartData(result)).map(async (chart) => ({ ...chart, svg: await renderChart(chart) })));
}

/** Writes the page beside the result file (rendering its charts unless given); returns the page's path. */
export async function writeReport(result: StoredResult, resultFile: string, rendered?: RenderedChart[]): Promise<string> {
  const charts = rendered ?? (await renderReportCharts(result));
  const file = reportFileFor(resultFile);
  await writeFileAtomic(file, reportPage(result, charts, { result: path.basename(resultFile), compose: result.composeFile }));
  return file;
}

/** Reads a results/*.json of any schema version portlab still reads. */
export async function readResultFile(file: string): Promise<StoredResult> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    throw new ResultFileError(`${file}: cannot read it (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new ResultFileError(`${file}: not JSON (${(error as Error).message.replace(/\s+/g, ' ').slice(0, 120)})`);
  }
  const parsed = StoredResult.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = issue?.path.length ? issue.path.join('.') : 'the file';
    throw new ResultFileError(`${file}: not a portlab result: ${where}: ${issue?.message ?? 'unexpected shape'}`);
  }
  return parsed.data;
}
