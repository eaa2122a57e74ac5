/**
 * `npm run bench [-- <scenario> ...]`: how fast connections climb on this machine. Runs each scenario (default:
 * default-range) on the engine and prints, per client, the count, the time until its last worker stopped, and the
 * rate, from the probes' own timings. Figures only: nothing here passes or fails.
 */
import { randomBytes } from 'node:crypto';
import { formatTable } from '../orchestrator/cli/format-table.ts';
import { DockerEngine } from '../orchestrator/engine/docker-engine.ts';
import { runScenario } from '../orchestrator/run-scenario.ts';

const scenarios = process.argv.slice(2).filter((arg) => !arg.startsWith('-'));
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
