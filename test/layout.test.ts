import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../orchestrator/common/project-root.ts';

/**
 * The stages in the order they may depend on each other: a module imports only its own stage or lower ones. learn/
 * keeps what passed runs teach (fill times, churn speed); run/ runs the stages for a scenario, sweep/ for every point
 * of a sweep; cli/ alone talks to the user. Nothing lives at the top of orchestrator/.
 */
const LEVELS: Record<string, number> = {
  common: 0,
  scenario: 1,
  predict: 2,
  observe: 3,
  compile: 4,
  engine: 5,
  verdict: 6,
  report: 7,
  learn: 8,
  run: 9,
  sweep: 10,
  cli: 11,
};
/** Pure stages: data in, data out. */
const PURE = new Set(['predict', 'observe', 'compile', 'verdict']);
const EFFECTS = /^(node:fs|node:fs\/promises|node:child_process|node:net|dockerode|execa)$/;

const ROOT = path.join(PROJECT_ROOT, 'orchestrator');
const modules = readdirSync(ROOT, { recursive: true, encoding: 'utf8' }).filter((file) => file.endsWith('.ts'));
const stageOf = (module: string) => (module.includes('/') ? module.split('/')[0]! : '');
const importsOf = (module: string) =>
  [...readFileSync(path.join(ROOT, module), 'utf8').matchAll(/(?:from |import\(|import )'([^']+)'/g)].map((match) => {
    const spec = match[1]!;
    return spec.startsWith('.') ? { module: path.relative(ROOT, path.resolve(ROOT, path.dirname(module), spec)) } : { package: spec };
  });

describe('the layout: one folder per stage, arrows only downwards', () => {
  it('knows every stage folder', () => {
    expect(modules.filter((module) => LEVELS[stageOf(module)] === undefined)).toEqual([]);
  });

  it('no module imports a higher stage, and the pure stages import no stage with effects', () => {
    const upwards = modules.flatMap((module) =>
      importsOf(module).flatMap((target) => {
        if (!target.module) return [];
        const from = stageOf(module);
        const to = stageOf(target.module);
        const wrong = LEVELS[to]! > LEVELS[from]! || (PURE.has(from) && ['engine', 'report', 'learn', 'run', 'cli', 'sweep'].includes(to));
        return wrong ? [`${module} -> ${target.module}`] : [];
      }),
    );
    expect(upwards).toEqual([]);
  });

  it('predict, observe, compile and verdict do no I/O of their own', () => {
    const effects = modules
      .filter((module) => PURE.has(stageOf(module)))
      .flatMap((module) =>
        importsOf(module).flatMap((target) => (target.package && EFFECTS.test(target.package) ? [`${module}: ${target.package}`] : [])),
      );
    expect(effects).toEqual([]);
  });

  it('has no import cycle', () => {
    const graph = new Map(
      modules.map((module) => [
        module,
        importsOf(module).flatMap((target) => (target.module && modules.includes(target.module) ? [target.module] : [])),
      ]),
    );
    const state = new Map<string, 'visiting' | 'done'>();
    const cycles: string[] = [];
    const visit = (module: string, trail: string[]) => {
      if (state.get(module) === 'done') return;
      if (state.get(module) === 'visiting') {
        cycles.push([...trail.slice(trail.indexOf(module)), module].join(' -> '));
        return;
      }
      state.set(module, 'visiting');
      for (const next of graph.get(module) ?? []) visit(next, [...trail, module]);
      state.set(module, 'done');
    };
    for (const module of modules) visit(module, []);
    expect(cycles).toEqual([]);
  });
});

/** The sizes a reader can hold in mind: no module over 300 lines, no function over 80. */
const MAX_FILE_LINES = 300;
const MAX_FUNCTION_LINES = 80;

/** Every function of a module with a body, by name, and how many lines it spans. */
function functionsOf(module: string): Array<{ name: string; lines: number }> {
  const text = readFileSync(path.join(ROOT, module), 'utf8');
  const source = ts.createSourceFile(module, text, ts.ScriptTarget.Latest, true);
  const found: Array<{ name: string; lines: number }> = [];
  const visit = (node: ts.Node) => {
    if (ts.isFunctionLike(node) && 'body' in node && node.body) {
      const lineOf = (position: number) => source.getLineAndCharacterOfPosition(position).line;
      const parent = node.parent;
      const name =
        (node.name && node.name.getText(source)) ||
        (ts.isVariableDeclaration(parent) || ts.isPropertyAssignment(parent) ? parent.name.getText(source) : '(anonymous)');
      found.push({ name, lines: lineOf(node.getEnd()) - lineOf(node.getStart(source)) + 1 });
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return found;
}

/** The probe's C files (images/probe: probe.c and the rooms it includes), held to the same measure. */
const PROBE_DIR = path.join(PROJECT_ROOT, 'images', 'probe');
const probeFiles = readdirSync(PROBE_DIR).filter((file) => file.endsWith('.c'));

/**
 * Every function a C file defines, by name, and how many lines it spans: a definition starts in column 0 with a
 * name and `(` (not a declaration: no `;` before its `{`) and ends at the next `}` in column 0.
 */
function cFunctionsOf(file: string): Array<{ name: string; lines: number }> {
  const lines = readFileSync(path.join(PROBE_DIR, file), 'utf8').split('\n');
  const found: Array<{ name: string; lines: number }> = [];
  for (let start = 0; start < lines.length; start++) {
    const head = /^[A-Za-z_][\w\s*]*?\b(\w+)\s*\(/.exec(lines[start]!);
    if (!head || lines[start]!.startsWith('#')) continue;
    if (/\{.*\}\s*$/.test(lines[start]!)) {
      found.push({ name: head[1]!, lines: 1 });
      continue;
    }
    let open = start;
    while (open < lines.length && !/\{\s*$/.test(lines[open]!) && !/;\s*$/.test(lines[open]!)) open++;
    if (open >= lines.length || /;\s*$/.test(lines[open]!)) continue;
    const end = lines.findIndex((line, index) => index > open && line === '}');
    found.push({ name: head[1]!, lines: end - start + 1 });
    start = end;
  }
  return found;
}

describe('the layout: modules and functions a reader can hold in mind', () => {
  it(`no C file of the probe is over ${MAX_FILE_LINES} lines, no function of it over ${MAX_FUNCTION_LINES}`, () => {
    const long = probeFiles.flatMap((file) => {
      const lines = readFileSync(path.join(PROBE_DIR, file), 'utf8').split('\n').length;
      return lines > MAX_FILE_LINES ? [`${file}: ${lines}`] : [];
    });
    const longFunctions = probeFiles.flatMap((file) =>
      cFunctionsOf(file).flatMap((fn) => (fn.lines > MAX_FUNCTION_LINES ? [`${file}: ${fn.name} (${fn.lines})`] : [])),
    );
    expect([...long, ...longFunctions]).toEqual([]);
    // It measures what it checks: main() is found, and the probe has functions of some length.
    expect(cFunctionsOf('probe.c').map((fn) => fn.name)).toContain('main');
    expect(Math.max(...probeFiles.flatMap((file) => cFunctionsOf(file).map((fn) => fn.lines)))).toBeGreaterThan(MAX_FUNCTION_LINES / 2);
  });

  it(`no module in orchestrator/ is over ${MAX_FILE_LINES} lines`, () => {
    const long = modules.flatMap((module) => {
      const lines = readFileSync(path.join(ROOT, module), 'utf8').split('\n').length;
      return lines > MAX_FILE_LINES ? [`${module}: ${lines}`] : [];
    });
    expect(long).toEqual([]);
  });

  it(`no function in orchestrator/ is over ${MAX_FUNCTION_LINES} lines`, () => {
    const long = modules.flatMap((module) =>
      functionsOf(module).flatMap((fn) => (fn.lines > MAX_FUNCTION_LINES ? [`${module}: ${fn.name} (${fn.lines})`] : [])),
    );
    expect(long).toEqual([]);
  });

  it('measures what it checks: the longest function is found, and is not trivially short', () => {
    const longest = Math.max(...modules.flatMap((module) => functionsOf(module).map((fn) => fn.lines)));
    expect(longest).toBeGreaterThan(MAX_FUNCTION_LINES / 2);
  });
});
