import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium } from 'playwright-core';
import { PROJECT_ROOT } from '../../orchestrator/common/project-root.ts';

/** Debian's chromium (the package `chromium`); playwright-core never downloads a browser of its own. */
export const CHROMIUM = process.env.PORTLAB_CHROMIUM ?? '/usr/bin/chromium';
/** Screenshots the browser tests leave behind for a person to look at. */
export const ARTIFACTS_DIR = path.join(PROJECT_ROOT, 'test-artifacts');

export type ChartSeen = {
  /** A rendered <svg> in the chart's figure. */
  svg: boolean;
  /** Drawn line series (one path per line). */
  lines: number;
  /** Rule marks (ceilings, halfway rules, failures). */
  rules: number;
  /** Points (the observed dots of the interval chart). */
  points: number;
  axisTitles: string[];
  title: string;
  legendLabels: string[];
};

export type ReportSeen = {
  verdict: string;
  charts: Record<string, ChartSeen>;
  noSeriesNote: string | null;
  consoleErrors: string[];
  /** Requests for anything but the page itself. */
  requests: string[];
  screenshot: string;
};

/** Opens a report from disk in headless Chromium, as a person would, and reads what it shows. */
export async function inspectReport(file: string, screenshotName: string): Promise<ReportSeen> {
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
    ],
  });
  try {
    const page = await browser.newPage({ viewport: { width: 1100, height: 900 } });
    const consoleErrors: string[] = [];
    const requests: string[] = [];
    const url = pathToFileURL(file).href;
    page.on('console', (message) => {
      if (message.type() === 'error') consoleErrors.push(message.text());
    });
    page.on('pageerror', (error) => consoleErrors.push(error.message));
    page.on('request', (request) => {
      if (request.url() !== url) requests.push(request.url());
    });
    await page.goto(url, { waitUntil: 'load' });
    const charts = await page.$$eval('figure[id^="chart-"]', (figures) =>
      Object.fromEntries(
        figures.map((figure) => {
          const texts = (selector: string) => [...figure.querySelectorAll(selector)].map((node) => node.textContent ?? '');
          return [
            figure.id.replace(/^chart-/, ''),
            {
              svg: figure.querySelector('svg') !== null,
              lines: figure.querySelectorAll('g.mark-line.role-mark path').length,
              rules: figure.querySelectorAll('g.mark-rule.role-mark line').length,
              points: figure.querySelectorAll('g.mark-symbol.role-mark path').length,
              axisTitles: texts('g.role-axis-title text'),
              title: texts('g.role-title-text text').join(' '),
              legendLabels: texts('g.role-legend-label text'),
            },
          ];
        }),
      ),
    );
    const verdict = (await page.textContent('#verdict')) ?? '';
    const note = await page.$('#no-series');
    await mkdir(ARTIFACTS_DIR, { recursive: true });
    const screenshot = path.join(ARTIFACTS_DIR, `${screenshotName}.png`);
    await page.screenshot({ path: screenshot, fullPage: true });
    return { verdict, charts, noSeriesNote: note ? await note.textContent() : null, consoleErrors, requests, screenshot };
  } finally {
    await browser.close();
  }
}
