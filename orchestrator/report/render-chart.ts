import * as vega from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';
import type { Chart } from './chart-specs.ts';

/**
 * A chart as an SVG element, rendered in Node by vega's headless View (no browser, no canvas). Ids inside the SVG
 * (clip paths, gradients) are prefixed with the chart's id, so several charts can share one page.
 */
export async function renderChart(chart: Chart): Promise<string> {
  const { spec } = compile(chart.spec as unknown as TopLevelSpec);
  const view = new vega.View(vega.parse(spec), { renderer: 'none' });
  try {
    const svg = await view.toSVG();
    return svg
      .replace(/\bid="([^"]+)"/g, `id="${chart.id}-$1"`)
      .replace(/url\(#([^)]+)\)/g, `url(#${chart.id}-$1)`)
      .replace('<svg ', `<svg role="img" aria-label="${chart.spec.title.text}" data-chart="${chart.id}" `);
  } finally {
    view.finalize();
  }
}
