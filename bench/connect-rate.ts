/**
 * `npm run bench [-- <scenario> ...]`: how fast connections climb on this machine. Runs each scenario (default:
 * default-range) on the engine and prints, per client, the count, the time until its last worker stopped, and the
 * rate, from the probes' own timings. Figures only: nothing here passes or fails. With --floor, bench/floor.ts; with
 * --observer, bench/observer-cost.ts; with --million, bench/million.ts (which raises nf_conntrack_max for its run);
 * with --faults, bench/faults.ts (kill -9, Ctrl-C twice, two runs at once, a full results directory, the engine
 * restarted: what each leaves); with --kernel-lab, bench/kernel-lab.ts (a kernel lab's disk, boot and a run on it);
 * with --inspect, bench/inspect-speed.ts (portlab inspect and a --serve scrape of a namespace of 100,000 sockets).
 */
import { floorBench } from './floor.ts';
import { observerBench } from './observer-cost.ts';
import { millionBench } from './million.ts';
import { faultsBench } from './faults.ts';
import { kernelLabBench } from './kernel-lab.ts';
import { inspectSpeedBench } from './inspect-speed.ts';
import { formatTable } from '../orchestrator/cli/format-table.ts';
import { DockerEngine } from '../orchestrator/engine/docker/engine.ts';
import { quietRun } from './quiet-run.ts';
import { median } from '../orchestrator/predict/fill-time.ts';
import { chartData } from '../orchestrator/report/chart-data.ts';

const medianOrNull = (values: number[]) => (values.length === 0 ? null : median(values));

const args = process.argv.slice(2);
if (args.includes('--help') || args.includes('-h')) {
  process.stdout.write(`usage: npm run bench [-- <scenario> ...]      connection rates per client (default: default-range)
       npm run bench -- --floor <scenario> [--reps N]   a run against the kernel's own time in bare namespaces
       npm run bench -- --observer [--reps N]           what observing an application costs
       npm run bench -- --million [<scenario>]          a million connections (raises nf_conntrack_max, journaled; root)
       npm run bench -- --faults                        kill -9, Ctrl-C twice, two runs at once, a full results directory,
                                                        the engine restarted: what each leaves (restarts the engine; root)
       npm run bench -- --kernel-lab [6.1|6.12]         a kernel lab's costs: its disk, its boot, 1,000 connections on it (root)
       npm run bench -- --inspect [SOCKETS]             portlab inspect and a --serve scrape of a namespace of 100,000 sockets
`);
  process.exit(0);
}
const floorAt = args.indexOf('--floor');
if (floorAt >= 0) {
  const repsAt = args.indexOf('--reps');
  const reps = repsAt >= 0 ? Number(args[repsAt + 1]) : 3;
  const scenario = args[floorAt + 1];
  if (!scenario || !Number.isInteger(reps) || reps < 1) {
    process.stderr.write('usage: npm run bench -- --floor <scenario> [--reps N]\n');
    process.exit(2);
  }
  try {
    await floorBench(scenario, reps);
  } catch (error) {
    process.stderr.write(`bench: ${(error as Error).message}\n`);
    process.exit(3);
  }
  process.exit(0);
}
if (args.includes('--observer')) {
  const repsAt = args.indexOf('--reps');
  const reps = repsAt >= 0 ? Number(args[repsAt + 1]) : 2;
  if (!Number.isInteger(reps) || reps < 1) {
    process.stderr.write('usage: npm run bench -- --observer [--reps N]\n');
    process.exit(2);
  }
  try {
    await observerBench(reps);
  } catch (error) {
    process.stderr.write(`bench: ${(error as Error).message}\n`);
    process.exit(3);
  }
  process.exit(0);
}
const inspectAt = args.indexOf('--inspect');
if (inspectAt >= 0) {
  try {
    await inspectSpeedBench(args[inspectAt + 1]);
  } catch (error) {
    process.stderr.write(`bench: ${(error as Error).message}\n`);
    process.exit(3);
  }
  process.exit(0);
}
const kernelLabAt = args.indexOf('--kernel-lab');
if (kernelLabAt >= 0) {
  try {
    await kernelLabBench(args[kernelLabAt + 1]);
  } catch (error) {
    process.stderr.write(`bench: ${(error as Error).message}\n`);
    process.exit(3);
  }
  process.exit(0);
}
if (args.includes('--faults')) {
  try {
    await faultsBench();
  } catch (error) {
    process.stderr.write(`bench: ${(error as Error).message}\n`);
    process.exit(3);
  }
  process.exit(0);
}
const millionAt = args.indexOf('--million');
if (millionAt >= 0) {
  try {
    await millionBench(args[millionAt + 1]);
  } catch (error) {
    process.stderr.write(`bench: ${(error as Error).message}\n`);
    process.exit(3);
  }
  process.exit(0);
}
const scenarios = args.filter((arg) => !arg.startsWith('-'));
const engine = new DockerEngine();
const rows: string[][] = [];
/** Where each run's time went (run.phasesMs), so the next regression in portlab's own overhead is seen. */
const phases: string[][] = [];
const PHASES = ['preflight', 'serverStart', 'serverReady', 'clientsStart', 'fill', 'stop', 'remove'] as const;
for (const name of scenarios.length > 0 ? scenarios : ['default-range']) {
  const started = Date.now();
  const result = await quietRun(name, engine);
  const wallSeconds = (Date.now() - started) / 1000;
  const { rate } = chartData(result);
  const spent = PHASES.map((phase) => result.run.phasesMs[phase]);
  const known = spent.reduce<number>((sum, ms) => sum + (ms ?? 0), 0);
  phases.push([
    name,
    ...spent.map((ms) => (ms === null ? '-' : (ms / 1000).toFixed(2))),
    ((wallSeconds * 1000 - known) / 1000).toFixed(2),
    wallSeconds.toFixed(2),
  ]);
  for (const client of result.clients) {
    const seconds = (client.stoppedAfterMs ?? 0) / 1000;
    // Before and past half the range: once one parity is used, each connect() walks it (docs/model.md, "Time to fill").
    const half = (client.predicted.max ?? client.observed) / 2;
    const rates = rate.filter((row) => row.container === client.name);
    const before = medianOrNull(rates.filter((row) => row.held < 0.8 * half).map((row) => row.perSecond));
    const after = medianOrNull(rates.filter((row) => row.held > 1.2 * half).map((row) => row.perSecond));
    rows.push([
      name,
      client.name,
      client.observed.toLocaleString('en-US'),
      seconds.toFixed(1),
      seconds > 0 ? Math.round(client.observed / seconds).toLocaleString('en-US') : '-',
      before === null ? '-' : Math.round(before).toLocaleString('en-US'),
      after === null ? '-' : Math.round(after).toLocaleString('en-US'),
      before !== null && after ? `${(before / after).toFixed(1)}x` : '-',
      String(result.environment.containers[client.name]?.processes ?? '-'),
      wallSeconds.toFixed(1),
      result.verdict,
    ]);
  }
}
process.stdout.write(
  `${formatTable(['scenario', 'client', 'connections', 'seconds', 'per second', '/s before half', '/s past half', 'slower', 'workers', 'run wall s', 'verdict'], rows)}\n`,
);
process.stdout.write(
  `\n${formatTable(['scenario', ...PHASES.map((phase) => `${phase} s`), 'rest s (result, report)', 'wall s'], phases)}\n`,
);
