import { formatCount } from './count-range.ts';

/** One client's fill on an engine: how many local ports per destination it used up, over how many destinations, in how long. */
export type FillSample = { portsPerDestination: number; destinations: number; seconds: number };

export type FillEstimate = { seconds: number; basis: string };

/**
 * How long a client takes to use up its local ports, from earlier fills on the same engine. connect() tries ports of
 * one parity first (__inet_hash_connect), so the first half of a range fills quickly; after that every connect() walks
 * the used half before it finds a free port, so the time grows at least with the square of the ports per destination,
 * and with the number of destinations (each is its own search). How much faster than the square it grows on a machine
 * (larger port tables miss its caches more) is measured, not assumed: between two earlier fills the growth is the one
 * they show; past them, or from one fill, the square. Null when this engine has no earlier fill.
 */
export function estimateFill(portsPerDestination: number, destinations: number, samples: FillSample[]): FillEstimate | null {
  const usable = samples.filter((sample) => sample.portsPerDestination > 0 && sample.destinations > 0 && sample.seconds > 0);
  if (usable.length === 0 || portsPerDestination <= 0) return null;
  // Per destination: each sample's time for one destination's range; fills of the same range, their median.
  const byPorts = new Map<number, number[]>();
  for (const sample of usable)
    byPorts.set(sample.portsPerDestination, [...(byPorts.get(sample.portsPerDestination) ?? []), sample.seconds / sample.destinations]);
  const perDestination = [...byPorts].map(([ports, times]) => ({ ports, seconds: median(times), fills: times.length }));
  const below = perDestination.filter((sample) => sample.ports <= portsPerDestination).sort((a, b) => b.ports - a.ports)[0];
  const above = perDestination.filter((sample) => sample.ports >= portsPerDestination).sort((a, b) => a.ports - b.ports)[0];
  let seconds: number;
  let basis: string;
  const sampleText = (sample: { ports: number; seconds: number; fills: number }) =>
    `${formatCount(sample.ports)} ports in ${sample.seconds.toFixed(1)} s${sample.fills > 1 ? `, the median of ${sample.fills} fills` : ''}`;
  if (below && above && below.ports !== above.ports) {
    const growth = Math.log(above.seconds / below.seconds) / Math.log(above.ports / below.ports);
    seconds = below.seconds * (portsPerDestination / below.ports) ** growth;
    basis = `between earlier fills on this engine, ${sampleText(below)} and ${sampleText(above)}: the time grows with the ${growth.toFixed(1)} power of the range`;
  } else {
    const nearest = below ?? above!;
    seconds = nearest.seconds * (portsPerDestination / nearest.ports) ** 2;
    basis =
      nearest.ports === portsPerDestination
        ? `as earlier on this engine: ${sampleText(nearest)}`
        : `from earlier on this engine, ${sampleText(nearest)}, scaled by the square of the range (the least it grows)`;
  }
  return { seconds: seconds * destinations, basis: destinations > 1 ? `${basis}, x ${destinations} destinations` : basis };
}

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
