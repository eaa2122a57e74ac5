import type { TopLevelSpec } from 'vega-lite';
import type { Chart } from './chart-specs.ts';

/** vega is large (a few hundred ms to load): loaded once, when asked for or on the first chart. */
let loading: Promise<[typeof import('vega'), typeof import('vega-lite')]> | undefined;
const renderers = () => (loading ??= Promise.all([import('vega'), import('vega-lite')]));

/** Starts loading the renderer now, while the caller waits on something else (the engine creating containers). */
export function preloadRenderer(): void {
  renderers().catch(() => undefined);
}

/**
 * A chart as an SVG element, rendered in Node by vega's headless View (no browser, no canvas). Ids inside the SVG
 * (clip paths, gradients) are prefixed with the chart's id, so several charts can share one page.
 */
export async function renderChart(chart: Chart): Promise<string> {
  const [vega, { compile }] = await renderers();
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
