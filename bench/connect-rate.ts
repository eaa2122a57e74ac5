/**
 * `npm run bench [-- <scenario> ...]`: how fast connections climb on this machine. Runs each scenario (default:
 * default-range) on the engine and prints, per client, the count, the time until its last worker stopped, and the
 * rate, from the probes' own timings. Figures only: nothing here passes or fails. With --floor, bench/floor.ts.
 */
import { randomBytes } from 'node:crypto';
import { floorBench } from './floor.ts';
import { formatTable } from '../orchestrator/cli/format-table.ts';
import { DockerEngine } from '../orchestrator/engine/docker-engine.ts';
import { runScenario } from '../orchestrator/run-scenario.ts';

const args = process.argv.slice(2);
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
const scenarios = args.filter((arg) => !arg.startsWith('-'));
const engine = new DockerEngine();
const rows: string[][] = [];
for (const name of scenarios.length > 0 ? scenarios : ['default-range']) {
  const started = Date.now();
  const { result } = await runScenario(name, {
    engine,
    runId: randomBytes(3).toString('hex'),
    keep: false,
    signal: new AbortController().signal,
    now: () => new Date(),
    onStatus: () => {},
    onProgress: () => {},
  });
  const wallSeconds = (Date.now() - started) / 1000;
  for (const client of result.clients) {
    const seconds = (client.stoppedAfterMs ?? 0) / 1000;
    rows.push([
      name,
      client.name,
      client.observed.toLocaleString('en-US'),
      seconds.toFixed(1),
      seconds > 0 ? Math.round(client.observed / seconds).toLocaleString('en-US') : '-',
      String(result.environment.containers[client.name]?.processes ?? '-'),
      wallSeconds.toFixed(1),
      result.verdict,
    ]);
  }
}
process.stdout.write(`${formatTable(['scenario', 'client', 'connections', 'seconds', 'per second', 'workers', 'run wall s', 'verdict'], rows)}\n`);
