import { z } from 'zod';
import { formatCount } from './count-range.ts';

/*
 * How long clients take to use up their local ports (docs/model.md, "Time").
 *
 * connect() picks a port in `__inet_hash_connect` (net/ipv4/inet_hashtables.c): it tries ports of one parity first
 * and starts each search just past the port the last one found. Until that parity's `h` ports are taken, a connect
 * finds a port at once; after that every connect checks all `h` taken ports of the first parity before it tries the
 * other: a client with N ports per destination makes N - h connects that each check h ports, per destination
 * (round robin, each destination its own 4-tuples). A check locks the port's bind-hash bucket and, since a
 * connect()-made bucket is shared, looks the 4-tuple up in the established hash (`__inet_check_established`): one
 * table for every namespace of the host, its chains the host's sockets over `tcp_ehash_entries`. So a check costs
 * `base + perScanned x h + perEntry x chain`, fitted to what the engine measured (fitCheckCost). Clients that fill at
 * once share the host's cores; a client uses at most as many as it has worker processes connecting at once.
 */

/** What one filling client asks of the port search. */
export type FillLoad = { name: string; portsPerDestination: number; destinations: number; workers: number };

/** The host the clients fill on: its cores, its hash tables, and how many ends of each connection it holds. */
export type FillHost = { cores: number; ehashEntries: number; endsOnHost: 1 | 2 };

/**
 * One measured stretch of a fill: seconds of one core per check, while each connect checked `scanned` ports and each
 * check's lookup walked an established-hash chain of `entries` sockets.
 */
export const CheckSample = z.strictObject({
  scanned: z.number().int().positive(),
  entries: z.number().nonnegative(),
  seconds: z.number().positive(),
  /** The connects the stretch held (absent from stretches learnt before it was kept). */
  connects: z.number().positive().optional(),
});
export type CheckSample = z.infer<typeof CheckSample>;

/** What the engine measured: seconds of one core per connect while ports are free, and per check once they are not. */
export type FillCosts = { connectSeconds: number[]; checks: CheckSample[] };

/**
 * A check's cost, fitted to the measured stretches: `base`, plus `perScanned` for each port a connect checks (a longer
 * scan touches more buckets, sockets and bucket locks than the caches hold), plus `perEntry` for each socket of the
 * established-hash chain its lookup walks (one cache line of a socket each, and past the caches a miss).
 */
export type CheckCost = {
  base: number;
  perScanned: number;
  perEntry: number;
  samples: number;
  scanned: { min: number; max: number };
  entries: { min: number; max: number };
};

export type FillEstimate = { seconds: number; basis: string };

/** The ports of the first parity: the ones a connect finds at once. */
export const firstParity = (ports: number) => Math.floor(ports / 2);

/** Sockets per chain of the established hash when the host holds `connections` (both ends, on one engine). */
export const ehashChain = (host: FillHost, connections: number) => (host.endsOnHost * connections) / host.ehashEntries;

const checkSeconds = (cost: CheckCost, scanned: number, entries: number) => cost.base + cost.perScanned * scanned + cost.perEntry * entries;

type Term = 'base' | 'scanned' | 'entries';

/**
 * Least squares of seconds on a constant, the ports scanned and the entries walked. Every subset of the three the
 * samples spread over is fitted; of those whose every share is positive (a cost cannot fall as the work grows), the
 * one closest to the samples stands (a constant, their mean, when nothing better fits).
 */
export function fitCheckCost(samples: CheckSample[]): CheckCost | null {
  if (samples.length === 0) return null;
  const range = (values: number[]) => ({ min: Math.min(...values), max: Math.max(...values) });
  const scanned = range(samples.map((sample) => sample.scanned));
  const entries = range(samples.map((sample) => sample.entries));
  const spread: Record<Term, boolean> = {
    base: true,
    scanned: scanned.max > 1.5 * scanned.min,
    entries: entries.max - entries.min >= 0.25,
  };
  const ys = samples.map((sample) => sample.seconds);
  const value = (sample: CheckSample, term: Term) => (term === 'base' ? 1 : sample[term]);
  const subsets: Term[][] = [
    ['base', 'scanned', 'entries'],
    ['scanned', 'entries'],
    ['base', 'entries'],
    ['base', 'scanned'],
    ['entries'],
    ['scanned'],
    ['base'],
  ];
  let best: { terms: Term[]; fitted: number[]; residual: number } | null = null;
  for (const terms of subsets) {
    if (terms.some((term) => !spread[term])) continue;
    const rows = samples.map((sample) => terms.map((term) => value(sample, term)));
    const fitted = leastSquares(rows, ys);
    if (!fitted || fitted.some((share) => share <= 0)) continue;
    const residual = rows.reduce((sum, row, i) => sum + (row.reduce((y, x, j) => y + x * fitted[j]!, 0) - ys[i]!) ** 2, 0);
    if (!best || residual < best.residual) best = { terms, fitted, residual };
  }
  if (!best) return { base: median(ys), perScanned: 0, perEntry: 0, samples: samples.length, scanned, entries };
  const { terms, fitted } = best;
  const share = (term: Term) => (terms.includes(term) ? fitted[terms.indexOf(term)]! : 0);
  return { base: share('base'), perScanned: share('scanned'), perEntry: share('entries'), samples: samples.length, scanned, entries };
}

/** Solves the normal equations of rows x = ys; null when they are singular. */
function leastSquares(rows: number[][], ys: number[]): number[] | null {
  const n = rows[0]!.length;
  if (rows.length < n) return null;
  // Scaled columns keep the system well conditioned (ports are thousands, entries units, seconds nanoseconds).
  const scale = Array.from({ length: n }, (_, j) => Math.max(...rows.map((row) => Math.abs(row[j]!))) || 1);
  const a = Array.from({ length: n }, (_, i) =>
    Array.from({ length: n + 1 }, (_, j) =>
      j < n
        ? rows.reduce((sum, row) => sum + (row[i]! / scale[i]!) * (row[j]! / scale[j]!), 0)
        : rows.reduce((sum, row, k) => sum + (row[i]! / scale[i]!) * ys[k]!, 0),
    ),
  );
  for (let col = 0; col < n; col++) {
    const pivot = a.slice(col).reduce((best, row, k) => (Math.abs(row[col]!) > Math.abs(a[best]![col]!) ? col + k : best), col);
    if (Math.abs(a[pivot]![col]!) < 1e-12) return null;
    [a[col], a[pivot]] = [a[pivot]!, a[col]!];
    for (let row = 0; row < n; row++) {
      if (row === col) continue;
      const factor = a[row]![col]! / a[col]![col]!;
      for (let j = col; j <= n; j++) a[row]![j] = a[row]![j]! - factor * a[col]![j]!;
    }
  }
  return a.map((row, i) => row[n]! / row[i]! / scale[i]!);
}

/** Core-seconds of each client's fill, with the chain its checks walk (every client at the middle of its search). */
function workOf(loads: FillLoad[], host: FillHost, connect: number, check: CheckCost) {
  const middle = (load: FillLoad) => {
    const h = firstParity(load.portsPerDestination);
    return load.destinations * (h + (load.portsPerDestination - h) / 2);
  };
  const entries = ehashChain(
    host,
    loads.reduce((sum, load) => sum + middle(load), 0),
  );
  return {
    entries,
    clients: loads.map((load) => {
      const h = firstParity(load.portsPerDestination);
      const perCheck = checkSeconds(check, h, entries);
      return { perCheck, work: load.destinations * (h * connect + (load.portsPerDestination - h) * (connect + h * perCheck)) };
    }),
  };
}

/** When each client finishes when the host's cores are shared evenly among those still filling (each at most `cap`). */
export function sharedFinish(work: number[], caps: number[], cores: number): number[] {
  const left = [...work];
  const finish = work.map(() => 0);
  let now = 0;
  let active = work.map((_, i) => i).filter((i) => left[i]! > 0);
  while (active.length > 0) {
    // Water-filling: clients capped below the even share keep their cap, the rest share what is left.
    const rate = new Map<number, number>();
    let free = cores;
    let open = [...active].sort((a, b) => caps[a]! - caps[b]!);
    while (open.length > 0) {
      const even = free / open.length;
      const capped = open.filter((i) => caps[i]! <= even);
      if (capped.length === 0) {
        for (const i of open) rate.set(i, even);
        break;
      }
      for (const i of capped) {
        rate.set(i, caps[i]!);
        free -= caps[i]!;
      }
      open = open.filter((i) => !capped.includes(i));
    }
    const step = Math.min(...active.map((i) => left[i]! / rate.get(i)!));
    now += step;
    for (const i of active) left[i] = left[i]! - step * rate.get(i)!;
    for (const i of active) if (left[i]! <= 1e-9) finish[i] = now;
    active = active.filter((i) => left[i]! > 1e-9);
  }
  return finish;
}

/**
 * Each filling client's expected time, from what this engine measured. Null when it has measured no fill yet.
 */
export function estimateFills(loads: FillLoad[], host: FillHost, costs: FillCosts): Map<string, FillEstimate> | null {
  const check = fitCheckCost(costs.checks);
  if (!check || costs.connectSeconds.length === 0 || loads.length === 0) return null;
  const connect = median(costs.connectSeconds);
  const { entries, clients } = workOf(loads, host, connect, check);
  const finish = sharedFinish(
    clients.map((client) => client.work),
    loads.map((load) => Math.max(1, load.workers)),
    host.cores,
  );
  const terms = [
    ...(check.base > 0 ? [ns(check.base)] : []),
    ...(check.perScanned > 0 ? [`${ns(check.perScanned * 1000)} per 1,000 ports scanned`] : []),
    ...(check.perEntry > 0 ? [`${ns(check.perEntry)} per socket of the chain`] : []),
  ];
  const measured = `a check costs ${terms.join(' + ')}, from ${check.samples} measured stretches`;
  const estimates = new Map<string, FillEstimate>();
  loads.forEach((load, i) => {
    const h = firstParity(load.portsPerDestination);
    const late = load.destinations * (load.portsPerDestination - h);
    estimates.set(load.name, {
      seconds: finish[i]!,
      basis:
        `${formatCount(load.portsPerDestination * load.destinations)} connects at ${us(connect)}, the last ${formatCount(late)} each after checking the ${formatCount(h)} taken ports of the first parity, ` +
        `${formatCount(late * h)} checks at ${ns(clients[i]!.perCheck)} (chains of ${entries.toFixed(1)} sockets; ${measured}); ` +
        `${formatCount(loads.length)} client${loads.length > 1 ? 's' : ''} filling at once on ${host.cores} core${host.cores > 1 ? 's' : ''}`,
    });
  });
  return estimates;
}

const ns = (seconds: number) => `${Math.round(seconds * 1e9)} ns`;
const us = (seconds: number) => `${(seconds * 1e6).toFixed(0)} µs`;

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

/** 14 -> "about 14 s", 200 -> "about 3 min", 6000 -> "about 1 h 40 min". */
export function aboutDuration(seconds: number): string {
  if (seconds < 90) return `about ${Math.max(1, Math.round(seconds))} s`;
  const minutes = Math.round(seconds / 60);
  return minutes < 90 ? `about ${minutes} min` : `about ${Math.floor(minutes / 60)} h ${minutes % 60} min`;
}
