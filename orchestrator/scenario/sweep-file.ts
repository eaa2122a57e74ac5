import path from 'node:path';
import {
  describeValue,
  dottedPath,
  parseYaml,
  readNamedFile,
  ScenarioError,
  userCwd,
  validateScenario,
  withFilesFound,
  type ScenarioProblem,
} from './load-scenario.ts';
import { PROJECT_ROOT } from '../common/project-root.ts';
import { BOUNDS } from './bounds.ts';
import { SCENARIO_NAME_PATTERN, type Scenario } from './scenario-schema.ts';

export const SWEEPS_DIR = path.join(PROJECT_ROOT, 'sweeps');

/** Points a sweep may have: each is a real run of seconds to minutes. */
export const MAX_SWEEP_POINTS = 100;

/**
 * One axis of a sweep: a field of the scenario (or several, which take its one value together: an application's
 * setting and the expectation that follows it) and the values it takes, in the file's order.
 */
export type SweepAxis = {
  /** As written in the file, e.g. `clients.sysctls.net.ipv4.ip_local_port_range`, or `server.environment.MAXCONN, server.expect.holds`. */
  key: string;
  /** Where each of its fields lands in the scenario document, e.g. [['clients', 'sysctls', 'net.ipv4.ip_local_port_range']]. */
  paths: PropertyKey[][];
  values: unknown[];
};

/** The fields an axis key names: dotted paths, separated by commas where several take the axis's one value. */
export const axisKeys = (key: string) => key.split(',').map((each) => each.trim());

/** One point of the cross product: the scenario it makes, and the value of each axis there. */
export type SweepPoint = { index: number; scenario: Scenario; values: Record<string, unknown> };

/** A sweep file's points; `file` is its path (as given to parseSweep, absolute from loadSweep). */
export type LoadedSweep = { name: string; description: string; file: string; axes: SweepAxis[]; points: SweepPoint[]; text: string };

export async function loadSweep(nameOrPath: string, cwd = userCwd()): Promise<LoadedSweep> {
  const { file, shownFile, text, defaultName } = await readNamedFile(nameOrPath, SWEEPS_DIR, cwd);
  const sweep = parseSweep(text, shownFile, defaultName);
  // An application's files are relative to the sweep file, as a scenario's are to its own.
  const parsed = parseYaml(text, shownFile);
  const points = await Promise.all(
    sweep.points.map(async (point) => ({ ...point, scenario: await withFilesFound(point.scenario, path.dirname(file), parsed) })),
  );
  return { ...sweep, points, file };
}

const isMap = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

/**
 * An axis key -> the path of the field it names in the scenario document. Everything after `sysctls.` is the
 * sysctl's own name (it has dots of its own); where `clients` is a list of named groups, the segment after it
 * names the group. Returns a message when the key names nothing an axis can vary.
 */
export function axisPath(key: string, document: Record<string, unknown>): PropertyKey[] | string {
  const segments = key.split('.');
  if (segments.some((segment) => segment === '')) return 'expected a dotted path such as clients.count';
  const sysctlsAt = segments.indexOf('sysctls');
  const fields: PropertyKey[] =
    sysctlsAt >= 0 && sysctlsAt < segments.length - 1
      ? [...segments.slice(0, sysctlsAt + 1), segments.slice(sysctlsAt + 1).join('.')]
      : segments;
  const [top] = fields;
  if (top === 'name' || top === 'sweep') return `${top} cannot be swept (each point is named after the sweep)`;
  if (top === 'clients' && Array.isArray(document.clients)) {
    const groups = document.clients.map((group) => (isMap(group) ? String(group.name ?? '') : ''));
    const index = groups.indexOf(String(fields[1] ?? ''));
    if (fields.length < 3 || index < 0) {
      return `clients is a list of named groups; name one, as clients.<group>.<field> (groups: ${groups.filter(Boolean).join(', ')})`;
    }
    return ['clients', index, ...fields.slice(2)];
  }
  return fields;
}

/** Sets `value` at `segments` in a copy of `document`, making maps where there are none yet. */
function withValue(document: Record<string, unknown>, segments: PropertyKey[], value: unknown): Record<string, unknown> | string {
  const copy = structuredClone(document);
  let node: Record<string, unknown> | unknown[] = copy;
  for (const [index, segment] of segments.entries()) {
    const last = index === segments.length - 1;
    const key = segment as string & number;
    if (last) {
      (node as Record<string, unknown>)[key] = value;
      break;
    }
    let next = (node as Record<string, unknown>)[key];
    if (next === undefined || next === null) {
      next = {};
      (node as Record<string, unknown>)[key] = next;
    }
    if (typeof next !== 'object') return `${dottedPath(segments.slice(0, index + 1))} is ${describeValue(next)}, not a map`;
    node = next as Record<string, unknown>;
  }
  return copy;
}

/** Every combination of the axes' values, the first axis varying slowest. Pure. */
export function crossProduct(axes: Array<{ values: unknown[] }>): number[][] {
  return axes.reduce<number[][]>(
    (combinations, axis) => combinations.flatMap((combination) => axis.values.map((_, index) => [...combination, index])),
    [[]],
  );
}

/** The text of an axis value, for names, tables and CSV: "61000 61999", 2, "5000, 5001". */
export const showAxisValue = (value: unknown): string =>
  Array.isArray(value) ? value.map(showAxisValue).join(', ') : isMap(value) ? JSON.stringify(value) : String(value);

/** The `sweep:` map's axes: each key's fields (one, or several separated by commas) and its list of values. */
function parseAxes(
  sweep: Record<string, unknown>,
  base: Record<string, unknown>,
  fail: (segments: PropertyKey[], message: string, pointAtKey?: boolean) => never,
): SweepAxis[] {
  return Object.entries(sweep).map(([key, values]) => {
    const at = ['sweep', key];
    const fields = axisKeys(key);
    const paths = fields.map((field) => {
      const target = axisPath(field, base);
      return typeof target === 'string' ? fail(at, fields.length > 1 ? `${field}: ${target}` : target, true) : target;
    });
    if (!Array.isArray(values)) return fail(at, `expected a list of values, found ${describeValue(values)}`);
    if (values.length === 0) return fail(at, 'expected a list of values, found an empty list');
    return { key, paths, values };
  });
}

/**
 * Parses a sweep file: a scenario plus a `sweep:` map of axes, each a dotted path and its list of values. Every
 * point of the cross product is built and validated as a complete scenario before anything runs; a problem is
 * one line that names the file, the axis and the value.
 */
export function parseSweep(text: string, file: string, defaultName: string): LoadedSweep {
  const parsed = parseYaml(text, file);
  const problem = (segments: PropertyKey[], message: string, pointAtKey = false): ScenarioProblem => ({
    file,
    ...parsed.locate(segments, pointAtKey),
    path: dottedPath(segments),
    message,
  });
  const fail = (segments: PropertyKey[], message: string, pointAtKey = false): never => {
    throw new ScenarioError([problem(segments, message, pointAtKey)]);
  };
  if (!isMap(parsed.input)) return fail([], `expected a scenario with a sweep: map, found ${describeValue(parsed.input)}`);
  const { sweep, ...base } = parsed.input;
  if (!isMap(sweep) || Object.keys(sweep).length === 0) {
    return fail(
      sweep === undefined ? [] : ['sweep'],
      'expected a sweep: map of axes, each a dotted path into the scenario and a list of values',
    );
  }
  const name = base.name ?? defaultName;
  // Each point is named <sweep>-<n>, and must still be a scenario name.
  const longest = BOUNDS.nameLength - `-${MAX_SWEEP_POINTS}`.length;
  if (typeof name !== 'string' || !SCENARIO_NAME_PATTERN.test(name) || name.length > longest) {
    return fail(
      base.name === undefined ? [] : ['name'],
      `the sweep's name ${JSON.stringify(name)} must be lower-case letters, digits and dashes, at most ${longest} characters (rename the file or set name:)`,
    );
  }

  const axes = parseAxes(sweep, base, fail);
  const combinations = crossProduct(axes);
  if (combinations.length > MAX_SWEEP_POINTS) {
    fail(['sweep'], `${combinations.length} points; a sweep has at most ${MAX_SWEEP_POINTS} (each is a real run)`, true);
  }

  const points = combinations.map((combination, index): SweepPoint => {
    const pointName = `${name}-${index + 1}`;
    let document: Record<string, unknown> | string = { ...base, name: pointName };
    const values: Record<string, unknown> = {};
    for (const [axisIndex, axis] of axes.entries()) {
      const valueIndex = combination[axisIndex]!;
      const value = axis.values[valueIndex];
      values[axis.key] = value;
      for (const fieldPath of axis.paths) {
        document = typeof document === 'string' ? document : withValue(document, fieldPath, value);
        if (typeof document === 'string') fail(['sweep', axis.key, valueIndex], `value ${showAxisValue(value)}: ${document}`);
      }
    }
    const described =
      `${String(base.description ?? '').trim()} (${axes.map((axis) => `${axis.key} = ${showAxisValue(values[axis.key])}`).join('; ')})`.trim();
    const outcome = validateScenario({ ...(document as Record<string, unknown>), description: described }, pointName);
    if (outcome.ok) return { index: index + 1, scenario: outcome.scenario, values };
    // Blame the axis whose field the first problem lies in; a problem elsewhere (a rule across fields, or the base
    // scenario's own) is shown where it is in the file, with the point's values.
    const first = outcome.problems[0]!;
    const where = dottedPath(first.path);
    const under = (axis: SweepAxis) =>
      axis.paths.some((fieldPath) => {
        const field = dottedPath(fieldPath);
        return where === field || where.startsWith(`${field}.`) || where.startsWith(`${field}[`);
      });
    const axis = axes.find(under);
    if (!axis) {
      const pointValues = axes.map((each) => `${each.key} = ${showAxisValue(values[each.key])}`).join('; ');
      return fail(first.path, `point ${index + 1} (${pointValues}): ${first.message}`, first.pointAtKey);
    }
    const valueIndex = combination[axes.indexOf(axis)]!;
    return fail(
      ['sweep', axis.key, valueIndex],
      `value ${showAxisValue(values[axis.key])} makes point ${index + 1} invalid: ${where}: ${first.message}`,
    );
  });
  return { name, description: String(base.description ?? ''), file, axes, points, text };
}
