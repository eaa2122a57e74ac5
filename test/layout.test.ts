import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../orchestrator/common/project-root.ts';

/**
 * The stages in the order they may depend on each other: a module imports only its own stage or lower ones. The
 * top level (pipeline.ts, run-scenario.ts) and sweep/ run the stages; cli/ alone talks to the user.
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
  '': 8,
  sweep: 8,
  cli: 9,
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
        const wrong = LEVELS[to]! > LEVELS[from]! || (PURE.has(from) && ['engine', 'report', 'cli', 'sweep', ''].includes(to));
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
