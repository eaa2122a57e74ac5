/**
 * `npm run bench -- --million [scenario]`: a million connections held on this host (scenarios/one-million.yml).
 * This benchmark owns the machine while it runs: the host's conntrack table (net.netfilter.nf_conntrack_max) is too
 * small here for a million tracked connections, so it raises it for the run to what the plan says the run needs and
 * restores it afterwards, on an interrupt too. It runs the scenario as `npm run scenario` does, in a process of its own, and prints: connections
 * held and the verdict, predicted and observed time to fill, kernel memory per connection (slab growth against the
 * slab objects the prediction counts), open files per connection, the orchestrator's peak RSS, removal time.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, readdir, readFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { formatTable } from '../orchestrator/cli/format-table.ts';
import { formatCount } from '../orchestrator/predict/count-range.ts';
import { ASSUMED_ENVIRONMENT } from '../orchestrator/predict/environment.ts';
import { connectionBytes } from '../orchestrator/predict/host-limits.ts';
import { predict } from '../orchestrator/predict/predict.ts';
import { conntrackNeeded } from '../orchestrator/predict/shared-limits.ts';
import { loadScenario } from '../orchestrator/scenario/load-scenario.ts';
import { RunResult } from '../orchestrator/report/result-schema.ts';
import { PROJECT_ROOT } from '../orchestrator/common/project-root.ts';
import { changeHostSetting, restoreHostSettings, sysctlFile, type HostSettingChange } from '../orchestrator/engine/host-settings.ts';

const CONNTRACK_SETTING = 'net.netfilter.nf_conntrack_max';
const CONNTRACK_MAX = sysctlFile(CONNTRACK_SETTING);
const CONNTRACK_COUNT = '/proc/sys/net/netfilter/nf_conntrack_count';

const readNumber = async (file: string) => Number((await readFile(file, 'utf8')).trim().split(/\s+/)[0]);

async function meminfoKb(): Promise<Record<string, number>> {
  const text = await readFile('/proc/meminfo', 'utf8');
  return Object.fromEntries(
    text.split('\n').flatMap((line) => {
      const match = /^(\w+):\s+(\d+) kB/.exec(line);
      return match ? [[match[1]!, Number(match[2])]] : [];
    }),
  );
}

/** Peak of each host figure while the run goes, read every second. */
type Peaks = { slabKb: number; unreclaimableKb: number; files: number; conntrack: number; rssKb: number };

async function sample(pid: number, peaks: Peaks): Promise<void> {
  const memory = await meminfoKb();
  peaks.slabKb = Math.max(peaks.slabKb, memory['Slab'] ?? 0);
  peaks.unreclaimableKb = Math.max(peaks.unreclaimableKb, memory['SUnreclaim'] ?? 0);
  peaks.files = Math.max(peaks.files, await readNumber('/proc/sys/fs/file-nr'));
  peaks.conntrack = Math.max(peaks.conntrack, await readNumber(CONNTRACK_COUNT).catch(() => 0));
  const status = await readFile(`/proc/${pid}/status`, 'utf8').catch(() => '');
  const hwm = /VmHWM:\s+(\d+) kB/.exec(status);
  if (hwm) peaks.rssKb = Math.max(peaks.rssKb, Number(hwm[1]));
}

/** Runs the scenario in its own process (node dist/main.mjs), sampling the host and the process's peak RSS. */
async function runMeasured(scenario: string, resultsDir: string, peaks: Peaks): Promise<number> {
  const child = spawn(process.execPath, [path.join(PROJECT_ROOT, 'dist', 'main.mjs'), scenario], {
    cwd: PROJECT_ROOT,
    env: { ...process.env, PORTLAB_RESULTS_DIR: resultsDir },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  const timer = setInterval(() => void sample(child.pid!, peaks).catch(() => {}), 1000);
  const code = await new Promise<number>((resolve) => child.on('exit', (exit, signal) => resolve(exit ?? (signal ? 130 : 1))));
  clearInterval(timer);
  return code;
}

export async function millionBench(scenario = 'one-million'): Promise<void> {
  if (process.getuid?.() !== 0) throw new Error('the million benchmark raises nf_conntrack_max for its run: run it as root');
  for (const line of await restoreHostSettings()) process.stderr.write(`bench: ${line}\n`);
  const original = await readNumber(CONNTRACK_MAX);
  const inUse = await readNumber(CONNTRACK_COUNT);
  // What the plan's lift line says the run needs: its connections with a table that does not bind, what is in use
  // now, one entry per client for its lookup of the server.
  const { scenario: loaded } = await loadScenario(scenario);
  const env = { ...ASSUMED_ENVIRONMENT, conntrackMax: Number.MAX_SAFE_INTEGER, conntrackInUse: inUse };
  const clients = loaded.clients.reduce((sum, group) => sum + group.count, 0);
  const lifted = Math.max(original, conntrackNeeded(env, predict(loaded, env).total, clients));
  // The old value is journaled before the change: a crash of this process leaves it for the next portlab command.
  let change: HostSettingChange | undefined;
  const restore = async () => change?.restore();
  const onSignal = () => void restore().finally(() => process.exit(130));
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  process.stderr.write(
    lifted > original
      ? `bench: this benchmark owns the machine while it runs: net.netfilter.nf_conntrack_max ${formatCount(original)} -> ${formatCount(lifted)}, restored afterwards\n`
      : `bench: net.netfilter.nf_conntrack_max ${formatCount(original)} has room for the run: left as it is\n`,
  );
  const before = await meminfoKb();
  const filesBefore = await readNumber('/proc/sys/fs/file-nr');
  const peaks: Peaks = { slabKb: 0, unreclaimableKb: 0, files: 0, conntrack: 0, rssKb: 0 };
  const resultsDir = await mkdtemp(path.join(os.tmpdir(), 'portlab-million-'));
  let exit: number;
  try {
    if (lifted > original) change = await changeHostSetting(CONNTRACK_SETTING, String(lifted));
    exit = await runMeasured(scenario, resultsDir, peaks);
  } finally {
    await restore();
    process.removeListener('SIGINT', onSignal);
    process.removeListener('SIGTERM', onSignal);
  }
  process.stderr.write(`bench: nf_conntrack_max restored to ${formatCount(await readNumber(CONNTRACK_MAX))}\n`);
  const file = (await readdir(resultsDir)).find((name) => name.endsWith('.json'));
  if (!file) throw new Error(`the run wrote no result (exit code ${exit})`);
  const result = RunResult.parse(JSON.parse(await readFile(path.join(resultsDir, file), 'utf8')));
  printFigures(result, { before, filesBefore, peaks, exit, resultFile: path.join(resultsDir, file) });
}

function printFigures(
  result: RunResult,
  run: { before: Record<string, number>; filesBefore: number; peaks: Peaks; exit: number; resultFile: string },
): void {
  const held = result.total.observed;
  const fills = Object.values(result.run.fillTimes ?? {});
  const predicted = fills.length ? Math.max(...fills.map((fill) => fill.predictedSeconds)) : null;
  const observed = fills.length ? Math.max(...fills.map((fill) => fill.observedSeconds ?? 0)) : null;
  const perConnection = (kb: number) => (held > 0 ? `${formatCount(Math.round((kb * 1024) / held))} bytes` : '-');
  const objects = result.environment.host?.slabBytes ? connectionBytes(result.environment.host.slabBytes) : null;
  const seconds = (value: number | null) => (value === null ? '-' : `${value.toFixed(0)} s`);
  const rows = [
    [
      'connections held',
      `${formatCount(held)} (predicted ${result.total.predicted.min === result.total.predicted.max ? formatCount(result.total.predicted.min) : `${formatCount(result.total.predicted.min)}-${formatCount(result.total.predicted.max ?? 0)}`})`,
    ],
    ['verdict', `${result.verdict} (exit code ${run.exit})`],
    ['time to fill, predicted', seconds(predicted)],
    ['time to fill, observed', seconds(observed)],
    ['  predicted / observed', predicted !== null && observed ? (predicted / observed).toFixed(2) : '-'],
    ['slab growth per connection', perConnection(run.peaks.slabKb - (run.before['Slab'] ?? 0))],
    ['  of it unreclaimable', perConnection(run.peaks.unreclaimableKb - (run.before['SUnreclaim'] ?? 0))],
    ['  slab objects counted by the plan', objects ? `${formatCount(objects.held)} bytes` : '-'],
    ['open files per connection', held > 0 ? ((run.peaks.files - run.filesBefore) / held).toFixed(2) : '-'],
    ['conntrack entries at the peak', formatCount(run.peaks.conntrack)],
    ['orchestrator peak RSS', `${(run.peaks.rssKb / 1024).toFixed(0)} MB`],
    ['removal', seconds(result.run.phasesMs.remove === null ? null : result.run.phasesMs.remove / 1000)],
    ['whole run', seconds(result.run.durationMs / 1000)],
  ];
  process.stdout.write(`${formatTable(['figure', 'value'], rows)}\nresult: ${run.resultFile}\n`);
}
