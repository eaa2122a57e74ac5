import { connectingAtOnce, fillHostOf, portFill } from './engine-lessons.ts';
import { ehashChain, firstParity, type FillCosts } from '../predict/fill-time.ts';
import type { ContainerSeries } from '../observe/series.ts';
import type { RunResult } from '../report/result-schema.ts';
import type { Scenario } from '../scenario/scenario-schema.ts';

/* What a passed run's counts over time teach about this engine's port search (docs/model.md, "Time"): the
 * seconds of one core a connect costs while the first parity has free ports, and a check costs once it has none,
 * each with the hash entries a check walked at the time. Pure. */

/** A series in wall-clock ms, and its count at any time between its points (clamped at the ends). */
type Timeline = { at: number[]; count: number[] };

const timelineOf = (series: ContainerSeries | null): Timeline | null =>
  series?.probeStartedAt == null || series.t.length < 2
    ? null
    : { at: series.t.map((t) => series.probeStartedAt! + t), count: series.count };

function countAt(line: Timeline, time: number): number {
  if (time <= line.at[0]!) return line.count[0]!;
  for (let i = 1; i < line.at.length; i++) {
    if (time <= line.at[i]!) {
      const span = line.at[i]! - line.at[i - 1]!;
      return span <= 0 ? line.count[i]! : line.count[i - 1]! + ((line.count[i]! - line.count[i - 1]!) * (time - line.at[i - 1]!)) / span;
    }
  }
  return line.count.at(-1)!;
}

type Filler = { line: Timeline; ports: number; destinations: number; workers: number; final: number };

/** Stretches of a phase-2 fill are cut at these fractions of its connects (its ends left out: start-up, the last few). */
const STRETCHES = [0.05, 0.275, 0.5, 0.725, 0.95];
/** A stretch shorter than this (twenty of the probe's 10 ms reports) says more about the reports than the search. */
const MIN_STRETCH_MS = 200;
/**
 * A stretch of fewer connects than this says more about a few connects' stalls (a scheduler's tick, a worker that
 * waited) than about the search: measured, a 100-port range's stretches of about ten connects each came out at
 * 18-440 µs a check where 5,000-port ones gave 0.1-0.4 µs, and fitted together they predicted default-range's fill
 * at 17,850 s instead of its 53 s.
 */
export const MIN_STRETCH_CONNECTS = 100;

export function fillCostsOf(scenario: Scenario, result: RunResult): FillCosts {
  const none: FillCosts = { connectSeconds: [], checks: [] };
  const host = fillHostOf(result.environment.host, result.environment.network ?? 'bridge');
  if (!host) return none;
  const fillers = result.prediction.measured.clients.flatMap((client): Filler[] => {
    const fill = portFill(scenario, client);
    const observed = result.clients.find((entry) => entry.name === client.name);
    const line = timelineOf(observed?.series ?? null);
    if (!fill || !observed || !line || observed.verdict !== 'pass') return [];
    const ports = Math.round(observed.observed / fill.destinations);
    const workers = connectingAtOnce(scenario, client, observed.workers.length);
    return [{ line, ports, destinations: fill.destinations, workers, final: observed.observed }];
  });
  const server = timelineOf(result.server.series);
  // Clients still filling at a time share the cores; every client's held ports walk the same hash chains.
  const filling = (time: number) => fillers.filter((f) => time <= f.line.at.at(-1)! && countAt(f.line, time) < 0.99 * f.final).length;
  const shareAt = (f: Filler, time: number) => Math.min(f.workers, host.cores / Math.max(1, filling(time)));
  const entriesAt = (time: number) =>
    ehashChain(host, server ? countAt(server, time) : fillers.reduce((sum, f) => sum + countAt(f.line, time), 0));
  const costs: FillCosts = { connectSeconds: [], checks: [] };
  for (const f of fillers) {
    const h = firstParity(f.ports);
    const quick = f.destinations * h;
    const rest = f.final - quick;
    const start = f.line.at[0]!;
    const quickEnd = timeOfCount(f.line, quick);
    if (h < 2 || rest < 2 || quickEnd === null || quickEnd <= start) continue;
    const connect = (((quickEnd - start) / 1000) * shareAt(f, (start + quickEnd) / 2)) / quick;
    costs.connectSeconds.push(connect);
    const cuts = STRETCHES.map((fraction) => timeOfCount(f.line, quick + fraction * rest));
    for (let i = 1; i < cuts.length; i++) {
      const [from, to] = [cuts[i - 1], cuts[i]];
      if (from == null || to == null || to - from < MIN_STRETCH_MS) continue;
      const connects = countAt(f.line, to) - countAt(f.line, from);
      const middle = (from + to) / 2;
      const perConnect = (((to - from) / 1000) * shareAt(f, middle)) / connects;
      const seconds = (perConnect - connect) / h;
      if (connects >= MIN_STRETCH_CONNECTS && seconds > 0)
        costs.checks.push({ scanned: h, entries: round(entriesAt(middle)), seconds, connects: Math.round(connects) });
    }
  }
  return costs;
}

/** The first time a series reached a count (interpolated), or null if it never did. */
function timeOfCount(line: Timeline, count: number): number | null {
  for (let i = 0; i < line.at.length; i++) {
    if (line.count[i]! >= count) {
      if (i === 0) return line.at[0]!;
      const rise = line.count[i]! - line.count[i - 1]!;
      return rise <= 0 ? line.at[i]! : line.at[i - 1]! + ((line.at[i]! - line.at[i - 1]!) * (count - line.count[i - 1]!)) / rise;
    }
  }
  return null;
}

const round = (value: number) => Math.round(value * 1000) / 1000;
