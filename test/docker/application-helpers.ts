import { mkdtemp, readFile, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { expect } from 'vitest';
import { parseDocument } from 'yaml';
import { PROJECT_ROOT } from '../../orchestrator/common/project-root.ts';
import { loadScenario } from '../../orchestrator/scenario/load-scenario.ts';
import { runCli } from '../cli/run-cli.ts';
import { containersLabelled, networksLabelled, readResults } from './docker-helpers.ts';

/*
 * Real software portlab did not write, from Debian's packages in images FROM scratch, run through portlab on the
 * real engine: what the engine test files that run it share.
 */

/** The images of the software the shipped scenarios run, built where missing (scripts/build-app-images.sh). */
export const buildAppImages = (...apps: string[]) =>
  execa('bash', [path.join(PROJECT_ROOT, 'scripts', 'build-app-images.sh'), ...apps], { stdio: 'inherit' });

/** A file the shipped scenarios mount, as the test reads it (not as portlab does). */
export const shippedFile = (name: string) => readFile(path.join(PROJECT_ROOT, 'scenarios', 'files', name), 'utf8');
export const shippedScenario = async (name: string) => (await loadScenario(name)).scenario;

/** The ports of a shipped scenario's one client group, from its ip_local_port_range as written. */
export async function clientPorts(name: string): Promise<number> {
  const range = (await shippedScenario(name)).clients[0]!.sysctls['net.ipv4.ip_local_port_range']!;
  const [low, high] = String(range).split(/\s+/).map(Number);
  return high! - low! + 1;
}

/** A shipped scenario (or a path) run as a user runs it; nothing of its run is left after it. */
export const run = async (scenario: string) => {
  const result = await runCli([scenario]);
  const [stored] = await readResults(result.resultsDir);
  // Nothing of this run is left (other engine test files run beside this one: only its own run is looked at).
  expect(await containersLabelled(`io.portlab.run-id=${stored!.run.id}`)).toEqual([]);
  expect(await networksLabelled(`io.portlab.run-id=${stored!.run.id}`)).toEqual([]);
  return { result, stored: stored! };
};

/**
 * A copy of a shipped scenario (its files beside it, as a symlink) with the `expect:` of one container changed: `set`
 * gets the YAML document and changes it. Runs it as a user would.
 */
export async function runChanged(name: string, set: (document: ReturnType<typeof parseDocument>) => void, args: string[] = []) {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'portlab-expect-'));
  await symlink(path.join(PROJECT_ROOT, 'scenarios', 'files'), path.join(dir, 'files'));
  const document = parseDocument(await readFile(path.join(PROJECT_ROOT, 'scenarios', `${name}.yml`), 'utf8'));
  document.set('name', `${name}-changed`);
  set(document);
  const file = path.join(dir, `${name}.yml`);
  await writeFile(file, document.toString());
  const resultsDir = await mkdtemp(path.join(os.tmpdir(), 'portlab-results-'));
  const result = await runCli([file, ...args.map((arg) => arg.replace('<results>', resultsDir))], { resultsDir });
  const [stored] = await readResults(result.resultsDir);
  return { result, stored: stored! };
}

/** Where a shipped scenario states its expectation: the server, or its one application client group. */
export async function expecting(name: string): Promise<{ at: string[]; holds: unknown }> {
  const { scenario } = await loadScenario(name);
  if (scenario.server.expect) return { at: ['server', 'expect', 'holds'], holds: scenario.server.expect.holds };
  return { at: ['clients', 'expect', 'holds'], holds: scenario.clients[0]!.expect!.holds };
}
