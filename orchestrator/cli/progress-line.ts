import type { ContainerObservation } from '../observe/observation.ts';
import { formatCount, showCount } from '../predict/count-range.ts';
import { aboutDuration } from '../predict/fill-time.ts';
import type { ExpectedProgress } from '../run/run-limits.ts';

/**
 * One container on the live line: its count against its prediction ("14,000 of 28,231, 50%"), and for a client
 * still filling the time its estimate leaves ("about 20 s left"), or how it ended. Pure.
 */
export function progressPart(observation: ContainerObservation, expected: ExpectedProgress[string] | undefined, elapsedMs: number): string {
  const count = formatCount(observation.count);
  const predicted = expected?.predicted;
  const share =
    predicted === undefined
      ? count
      : `${count} of ${showCount(predicted)}${predicted.max ? `, ${Math.min(100, Math.floor((100 * observation.count) / predicted.max))}%` : ''}`;
  if (observation.name === 'server') return `server ${share} accepted`;
  if (observation.finished) return `${observation.name} ${share} done ${observation.error ?? ''}`.trim();
  const fill = expected?.fillSeconds;
  const left =
    fill === undefined
      ? ''
      : fill * 1000 > elapsedMs
        ? `, ${aboutDuration((fill * 1000 - elapsedMs) / 1000)} left`
        : `, past its estimate (${aboutDuration(fill)})`;
  return `${observation.name} ${share}${left} connecting`;
}

/** Past this many containers the live line shows each group's total instead of every container. */
const EACH_UP_TO = 4;

/**
 * The live line, pure: every container while there are a handful; past that, each client group's total against
 * its prediction, how many of it are done and its slowest member, and the server. Cut to `width` (a terminal's).
 */
export function progressLine(
  scenario: string,
  observations: Record<string, ContainerObservation>,
  elapsedMs: number,
  expected: ExpectedProgress,
  width?: number,
): string {
  const all = Object.values(observations);
  const parts =
    all.length <= EACH_UP_TO
      ? all.map((observation) => progressPart(observation, expected[observation.name], elapsedMs))
      : groupParts(all, expected, elapsedMs);
  const line = `${scenario} ${Math.round(elapsedMs / 1000)}s  ${parts.join('  ')}`;
  return width !== undefined && width > 1 && line.length >= width ? `${line.slice(0, width - 2)}…` : line;
}

function groupParts(all: ContainerObservation[], expected: ExpectedProgress, elapsedMs: number): string[] {
  const groups = new Map<string, ContainerObservation[]>();
  for (const observation of all) {
    const group = observation.name === 'server' ? 'server' : observation.name.replace(/-\d+$/, '');
    groups.set(group, [...(groups.get(group) ?? []), observation]);
  }
  return [...groups].map(([group, members]) => {
    if (group === 'server') return progressPart(members[0]!, expected.server, elapsedMs);
    const held = members.reduce((sum, member) => sum + member.count, 0);
    const most = members.reduce((sum, member) => sum + (expected[member.name]?.predicted.max ?? Number.NaN), 0);
    const share = (member: ContainerObservation) => member.count / (expected[member.name]?.predicted.max ?? Number.POSITIVE_INFINITY);
    const going = members.filter((member) => !member.finished);
    const slowest = [...going].sort((a, b) => share(a) - share(b))[0];
    const total = Number.isFinite(most)
      ? `${formatCount(held)} of ${formatCount(most)}, ${Math.min(100, Math.floor((100 * held) / most))}%`
      : formatCount(held);
    const done = `${members.length - going.length} of ${members.length} done`;
    return `${group} ×${members.length} ${total}, ${done}${slowest ? `, slowest ${progressPart(slowest, expected[slowest.name], elapsedMs)}` : ''}`;
  });
}

/** Live counts on stderr: one rewritten line on a terminal, a line every ~10 s otherwise. */
export function progressPrinter(scenario: string) {
  const tty = process.stderr.isTTY === true;
  let lastPrinted = -Infinity;
  let printedOnLine = false;
  return {
    update(observations: Record<string, ContainerObservation>, elapsedMs: number, expected: ExpectedProgress = {}) {
      if (!tty && elapsedMs - lastPrinted < 10_000) return;
      lastPrinted = elapsedMs;
      const line = progressLine(scenario, observations, elapsedMs, expected, tty ? process.stderr.columns : undefined);
      if (tty) {
        process.stderr.write(`\r\x1b[K${line}`);
        printedOnLine = true;
      } else {
        process.stderr.write(`${line}\n`);
      }
    },
    end() {
      if (printedOnLine) process.stderr.write('\n');
    },
  };
}
