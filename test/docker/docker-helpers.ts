import { readFile, readdir } from 'node:fs/promises';
import path from 'node:path';
import Docker from 'dockerode';
import { RunResult } from '../../orchestrator/report/result-schema.ts';

/** A second, independent view of the engine for assertions: what really exists, not what portlab believes. */
export const docker = new Docker();

export async function containersLabelled(label: string): Promise<string[]> {
  const found = await docker.listContainers({ all: true, filters: { label: [label] } });
  return found.map((container) => container.Names[0] ?? container.Id);
}

export async function networksLabelled(label: string): Promise<string[]> {
  const found = await docker.listNetworks({ filters: { label: [label] } });
  return found.map((network) => network.Name);
}

/** The results JSON files a run wrote, parsed with the published schema. */
export async function readResults(resultsDir: string): Promise<RunResult[]> {
  const files = (await readdir(resultsDir)).filter((file) => file.endsWith('.json')).sort();
  return Promise.all(files.map(async (file) => RunResult.parse(JSON.parse(await readFile(path.join(resultsDir, file), 'utf8')))));
}

/** The one HTML report a run wrote into `resultsDir`. */
export async function reportIn(resultsDir: string): Promise<string> {
  const pages = (await readdir(resultsDir)).filter((file) => file.endsWith('.html'));
  if (pages.length !== 1) throw new Error(`expected one report in ${resultsDir}, found ${pages.join(', ') || 'none'}`);
  return path.join(resultsDir, pages[0]!);
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls `check` until it returns a value or `timeoutMs` passes. */
export async function eventually<T>(check: () => Promise<T | undefined>, timeoutMs: number, what: string): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(250);
  }
}
