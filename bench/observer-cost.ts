/**
 * `npm run bench -- --observer [--reps N]`: what observing an application costs the experiment. A probe client fills
 * 16,000 ports against nginx (worker_connections 19000), with the observer looking every 250 ms (the default) and
 * every minute (about once in the fill), N times each, alternating; prints each fill's time and rate and the looks
 * the observer took. Figures only: nothing here passes or fails.
 */
import { mkdtemp, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { formatTable } from '../orchestrator/cli/format-table.ts';
import { DockerEngine } from '../orchestrator/engine/docker/engine.ts';
import { quietRun } from './quiet-run.ts';
import { median } from '../orchestrator/predict/fill-time.ts';

const PORTS = { low: 10000, high: 25999 };
const INTERVALS = ['250ms', '1m'];

function scenarioText(observeEvery: string): string {
  const config = path.join(import.meta.dirname, 'files', 'nginx-19000.conf');
  return [
    'name: observer-cost',
    'server:',
    '  image: portlab.invalid/nginx:1.22',
    `  volumes: ["${config}:/etc/nginx/nginx.conf:ro"]`,
    '  ports: [80]',
    `  observeEvery: ${observeEvery}`,
    'clients:',
    '  count: 1',
    '  targets: [80]',
    `  sysctls: { net.ipv4.ip_local_port_range: "${PORTS.low} ${PORTS.high}" }`,
    '',
  ].join('\n');
}

export async function observerBench(reps: number): Promise<void> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'portlab-observer-bench-'));
  const engine = new DockerEngine();
  const rows: string[][] = [];
  const seconds = new Map<string, number[]>(INTERVALS.map((interval) => [interval, []]));
  for (let rep = 1; rep <= reps; rep++) {
    for (const interval of INTERVALS) {
      const file = path.join(dir, `observer-${interval}.yml`);
      await writeFile(file, scenarioText(interval));
      const result = await quietRun(file, engine);
      const client = result.clients[0]!;
      const fill = (client.stoppedAfterMs ?? 0) / 1000;
      seconds.get(interval)!.push(fill);
      rows.push([
        interval,
        String(rep),
        client.observed.toLocaleString('en-US'),
        fill.toFixed(1),
        fill > 0 ? Math.round(client.observed / fill).toLocaleString('en-US') : '-',
        String(result.server.kernel?.observations ?? '-'),
        (result.server.kernel?.peakAccepted ?? 0).toLocaleString('en-US'),
        result.verdict,
      ]);
    }
  }
  process.stdout.write(
    `${formatTable(['observeEvery', 'rep', 'connections', 'fill s', 'per second', 'looks', 'nginx held', 'verdict'], rows)}\n`,
  );
  const [often, rarely] = INTERVALS.map((interval) => median(seconds.get(interval)!));
  process.stdout.write(
    `median fill: ${often!.toFixed(1)} s looking every ${INTERVALS[0]}, ${rarely!.toFixed(1)} s every ${INTERVALS[1]} (${(((often! - rarely!) / rarely!) * 100).toFixed(1)}%)\n`,
  );
}
