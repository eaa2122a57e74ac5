import { formatCount, showCount } from '../predict/count-range.ts';
import { showAxisValue } from '../scenario/sweep-file.ts';
import type { SweepSummary } from './sweep-schema.ts';
import { escape, pageHead, verdictClass } from './html.ts';
import type { RenderedChart } from './report-page.ts';

/** sweep.html: the chart of the whole sweep and a row per point, each linking to its own report. Pure. */
export function sweepPage(summary: SweepSummary, charts: RenderedChart[]): string {
  const axes = summary.axes.map((axis) => axis.key);
  const rows = summary.points.map(
    (point) => `<tr>
      <td class="number">${point.index}</td>${axes.map((axis) => `<td>${escape(showAxisValue(point.values[axis]))}</td>`).join('')}
      <td class="number">${point.total ? escape(showCount(point.total.predicted)) : '-'}</td>
      <td class="number">${point.total ? escape(formatCount(point.total.observed)) : '-'}</td>
      <td>${escape(point.limit ?? '-')}</td><td class="${verdictClass(point.verdict)}">${point.verdict}</td>
      <td class="number">${point.seconds.toFixed(1)}</td>
      <td>${point.reportFile ? `<a href="${escape(point.reportFile)}">report</a>` : escape(point.failure ?? '-')}</td></tr>`,
  );
  const ran = summary.points.length < summary.pointCount ? ` (${summary.points.length} of ${summary.pointCount} points ran)` : '';
  return `${pageHead(`portlab sweep: ${summary.name} (${summary.verdict})`)}
<header>
<h1>${escape(summary.name)} <span class="verdict ${summary.verdict}" id="verdict">${summary.verdict.toUpperCase()}</span></h1>
${summary.description ? `<p>${escape(summary.description)}</p>` : ''}
<p class="muted">sweep ${escape(summary.status)}${escape(ran)}; started ${escape(summary.startedAt)}, ended ${escape(summary.endedAt)}; file ${escape(summary.file)}</p>
${summary.failure ? `<p class="note">${escape(summary.failure)}</p>` : ''}
</header>
<section id="axes"><h2>Axes</h2><ul>${summary.axes.map((axis) => `<li><code>${escape(axis.key)}</code>: ${axis.values.map((value) => escape(showAxisValue(value))).join(' | ')}</li>`).join('')}</ul></section>
<section id="plots"><h2>Predicted against observed</h2>${charts.map((chart) => `<figure id="chart-${chart.id}">${chart.svg}<figcaption>${escape(chart.caption)}</figcaption></figure>`).join('\n')}</section>
<section id="points"><h2>Points</h2><table>
<thead><tr><th>point</th>${axes.map((axis) => `<th>${escape(axis)}</th>`).join('')}<th>predicted (all clients)</th><th>observed</th><th>limit</th><th>verdict</th><th>seconds</th><th>report</th></tr></thead>
<tbody>${rows.join('')}</tbody></table></section>
<footer><h2>Files</h2><p class="muted">sweep.csv (a row per point and container), sweep.json (schema version ${summary.schemaVersion}), and each point's result, compose file and report beside them</p></footer>
</body>
</html>
`;
}
