import { readFile, readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { isMap, isScalar, isSeq, LineCounter, parseDocument, type Node } from 'yaml';
import type { z } from 'zod';
import { PROJECT_ROOT } from '../common/project-root.ts';
import { BOUNDS } from './bounds.ts';
import { scenarioSchema, type Scenario } from './scenario-schema.ts';

/** One thing wrong with a scenario file, located as precisely as the YAML parser allows. */
export type ScenarioProblem = {
  file: string;
  line?: number;
  column?: number;
  /** Dotted path such as `clients.sysctls.net.ipv4.ip_local_port_range`; empty for the whole file. */
  path: string;
  message: string;
};

export class ScenarioError extends Error {
  constructor(readonly problems: ScenarioProblem[]) {
    super(problems.map(formatProblem).join('\n'));
    this.name = 'ScenarioError';
  }
}

export function formatProblem(problem: ScenarioProblem): string {
  const where = [problem.file, problem.line, problem.column].filter((part) => part !== undefined).join(':');
  return `${where} ${problem.path ? `${problem.path}: ` : ''}${problem.message}`;
}

export type LoadedScenario = { scenario: Scenario; file: string; text: string };

export const SCENARIOS_DIR = path.join(PROJECT_ROOT, 'scenarios');

/** Where the user typed the command: npm runs scripts in the package root and keeps the caller's directory in INIT_CWD. */
export const userCwd = () => process.env.INIT_CWD ?? process.cwd();

/** A bare name means `<dir>/<name>.yml`; anything with a slash or a YAML extension is a path. */
export function resolveNamedPath(nameOrPath: string, dir: string, cwd = userCwd()): string {
  const looksLikePath = nameOrPath.includes('/') || /\.ya?ml$/.test(nameOrPath);
  return looksLikePath ? path.resolve(cwd, nameOrPath) : path.join(dir, `${nameOrPath}.yml`);
}

/** A file as the user's messages name it: relative to where they typed the command. */
export const shownPath = (file: string, cwd = userCwd()) => path.relative(cwd, file) || file;

export const resolveScenarioPath = (nameOrPath: string, cwd = userCwd()) => resolveNamedPath(nameOrPath, SCENARIOS_DIR, cwd);

/** The names of the YAML files shipped in `dir`. */
async function shippedNames(dir: string): Promise<string[]> {
  const entries = await readdir(dir).catch(() => [] as string[]);
  return entries
    .filter((entry) => entry.endsWith('.yml'))
    .map((entry) => entry.slice(0, -4))
    .sort();
}

export const listScenarioNames = () => shippedNames(SCENARIOS_DIR);

/**
 * Reads a scenario or sweep file named as a user names it: a bare name from `dir`, or a path. A file that cannot be
 * read is one line that says why and lists what `dir` ships.
 */
export async function readNamedFile(
  nameOrPath: string,
  dir: string,
  cwd = userCwd(),
): Promise<{ file: string; shownFile: string; text: string; defaultName: string }> {
  const file = resolveNamedPath(nameOrPath, dir, cwd);
  const shownFile = shownPath(file, cwd);
  try {
    return { file, shownFile, text: await readFile(file, 'utf8'), defaultName: path.basename(file).replace(/\.ya?ml$/, '') };
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : String((error as Error).message);
    const shipped = await shippedNames(dir);
    throw new ScenarioError([
      { file: shownFile, path: '', message: `${reason}; shipped ${path.basename(dir)}: ${shipped.join(', ') || '(none)'}` },
    ]);
  }
}

export async function loadScenario(nameOrPath: string, cwd = userCwd()): Promise<LoadedScenario> {
  const { file, shownFile, text, defaultName } = await readNamedFile(nameOrPath, SCENARIOS_DIR, cwd);
  const scenario = await withFilesFound(parseScenario(text, shownFile, defaultName), path.dirname(file), parseYaml(text, shownFile));
  return { scenario, file, text };
}

/**
 * An application's read-only files, their host paths made absolute from the scenario (or sweep) file's folder: each
 * must be a file there (compose would otherwise make an empty directory of it, and the application fail to read its config).
 */
export async function withFilesFound(scenario: Scenario, dir: string, parsed: ParsedYaml): Promise<Scenario> {
  const listed = Array.isArray((parsed.input as { clients?: unknown } | null)?.clients);
  const resolve = async (volumes: string[] | undefined, at: PropertyKey[]) => {
    if (!volumes) return undefined;
    return Promise.all(
      volumes.map(async (volume, index) => {
        const [host, ...rest] = volume.split(':');
        const absolute = path.resolve(dir, host!);
        const found = await stat(absolute).catch(() => null);
        if (!found?.isFile()) {
          const where = [...at, index];
          const message = `${host} is not a file (paths are relative to the scenario file)`;
          throw new ScenarioError([{ file: parsed.file, ...parsed.locate(where), path: dottedPath(where), message }]);
        }
        return [absolute, ...rest].join(':');
      }),
    );
  };
  const serverVolumes = await resolve(scenario.server.volumes, ['server', 'volumes']);
  const clients = await Promise.all(
    scenario.clients.map(async (group, index) => {
      const volumes = await resolve(group.volumes, listed ? ['clients', index, 'volumes'] : ['clients', 'volumes']);
      return volumes ? { ...group, volumes } : group;
    }),
  );
  return { ...scenario, server: serverVolumes ? { ...scenario.server, volumes: serverVolumes } : scenario.server, clients };
}

/** A YAML file parsed, with what locates a path in it: for errors that name a line and column. */
export type ParsedYaml = {
  file: string;
  input: unknown;
  /** Where `segments` starts in the text (its key when `pointAtKey`), as line and column. */
  locate: (segments: PropertyKey[], pointAtKey?: boolean) => { line?: number; column?: number };
};

/** Aliases a document may expand (yaml's own guard against "billion laughs" documents is 100). */
const MAX_ALIAS_COUNT = 100;

/**
 * Parses YAML text; syntax errors, resource guards (size, aliases, nesting) and an empty document are scenario
 * problems with their line and column where the parser knows them.
 */
export function parseYaml(text: string, file: string): ParsedYaml {
  const whole = (message: string) => new ScenarioError([{ file, path: '', message }]);
  const bytes = Buffer.byteLength(text);
  if (bytes > BOUNDS.fileBytes)
    throw whole(
      `the file is ${bytes.toLocaleString('en-US')} bytes; a scenario file is at most ${BOUNDS.fileBytes.toLocaleString('en-US')}`,
    );
  const lineCounter = new LineCounter();
  let doc;
  try {
    doc = parseDocument(text, { lineCounter, prettyErrors: true });
  } catch (error) {
    throw whole(`not valid YAML: ${(error as Error).message.split('\n')[0]}`);
  }
  if (doc.errors.length > 0) {
    throw new ScenarioError(
      doc.errors.map((error) => ({
        file,
        line: error.linePos?.[0].line,
        column: error.linePos?.[0].col,
        path: '',
        message: `not valid YAML: ${error.message.split('\n')[0]!.replace('Maximum call stack size exceeded', 'nested too deeply')}`,
      })),
    );
  }
  if (doc.contents === null) throw whole('the file is empty (or only comments); a scenario needs at least a server or clients');
  let input: unknown;
  try {
    input = doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT });
  } catch (error) {
    // yaml refuses documents whose aliases would expand without bound; anything else it throws here is as fatal.
    throw whole(`not a usable YAML document: ${(error as Error).message.split('\n')[0]}`);
  }
  return {
    file,
    input,
    locate: (segments, pointAtKey = false) => {
      const offset = offsetOf(doc.contents, segments, pointAtKey);
      const position = offset === undefined ? undefined : lineCounter.linePos(offset);
      return { line: position?.line, column: position?.col };
    },
  };
}

/** Parses and validates scenario text; `file` is only used to name the file in errors. */
export function parseScenario(text: string, file: string, defaultName: string): Scenario {
  const parsed = parseYaml(text, file);
  const outcome = validateScenario(parsed.input, defaultName);
  if (outcome.ok) return outcome.scenario;
  const problems = outcome.problems.map((problem) => ({
    file,
    ...parsed.locate(problem.path, problem.pointAtKey),
    path: dottedPath(problem.path),
    message: problem.message,
  }));
  // Alternatives of a union can say the same thing twice.
  throw new ScenarioError(
    problems.filter((problem, index) => problems.findIndex((other) => formatProblem(other) === formatProblem(problem)) === index),
  );
}

/** One thing wrong with a scenario document, by its path in the document. */
export type ScenarioIssue = { path: PropertyKey[]; message: string; pointAtKey: boolean };

/** Validates a scenario document (as YAML gives it) against the scenario schema. Pure. */
export function validateScenario(
  input: unknown,
  defaultName: string,
): { ok: true; scenario: Scenario } | { ok: false; problems: ScenarioIssue[] } {
  const result = scenarioSchema(defaultName).safeParse(input, { reportInput: true });
  return result.success
    ? { ok: true, scenario: result.data }
    : { ok: false, problems: result.error.issues.flatMap((issue) => problemsOf(issue)) };
}

function problemsOf(issue: z.core.$ZodIssue): ScenarioIssue[] {
  if (issue.code === 'invalid_union') {
    // Report the alternative whose shape the input has (all its complaints are about what is inside the value),
    // not "none of them matched".
    const matching = issue.errors.filter((branch) => branch.every((inner) => inner.path.length > 0));
    if (matching.length === 1 && matching[0]!.length > 0) {
      return matching[0]!.flatMap((inner) => problemsOf({ ...inner, path: [...issue.path, ...inner.path] } as z.core.$ZodIssue));
    }
  }
  if (issue.code === 'unrecognized_keys') {
    return issue.keys.map((key) => ({
      path: [...issue.path, key],
      message: issue.message.replace('unknown key', `unknown key "${key}"`),
      pointAtKey: true,
    }));
  }
  const input = (issue as { input?: unknown }).input;
  const wantsFound = issue.message.startsWith('expected') && !issue.message.includes('found');
  const message = wantsFound ? `${issue.message}, found ${describeValue(input)}` : issue.message;
  return [{ path: issue.path, message, pointAtKey: false }];
}

export function describeValue(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (value === null) return 'an empty value';
  if (typeof value === 'string') return JSON.stringify(value);
  if (Array.isArray(value)) return value.length === 0 ? 'an empty list' : `a list of ${value.length}`;
  if (typeof value === 'object') return 'a map';
  return String(value);
}

export function dottedPath(segments: PropertyKey[]): string {
  return segments.reduce<string>((text, segment) => {
    if (typeof segment === 'number') return `${text}[${segment}]`;
    return text ? `${text}.${String(segment)}` : String(segment);
  }, '');
}

/** Where in the text the deepest existing node on `segments` starts (its key when the key is the problem). */
function offsetOf(root: unknown, segments: PropertyKey[], pointAtKey: boolean): number | undefined {
  let node = root as Node | null;
  let offset = node?.range?.[0];
  for (const [index, segment] of segments.entries()) {
    const last = index === segments.length - 1;
    if (isMap(node)) {
      const pair = node.items.find((item) => isScalar(item.key) && String(item.key.value) === String(segment));
      if (!pair) break;
      const keyOffset = (pair.key as Node).range?.[0];
      const value = pair.value as Node | null;
      offset = last && pointAtKey ? keyOffset : (value?.range?.[0] ?? keyOffset);
      node = value;
    } else if (isSeq(node) && typeof segment === 'number') {
      const item = node.items[segment] as Node | undefined;
      if (!item) break;
      offset = item.range?.[0] ?? offset;
      node = item;
    } else {
      break;
    }
  }
  return offset;
}
