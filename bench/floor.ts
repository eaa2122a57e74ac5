/**
 * `npm run bench -- --floor <scenario> [--reps N]`: how close portlab comes to the kernel's own time. Runs the
 * scenario's own probe command lines (the plan portlab would run, on this engine's grants) in bare network
 * namespaces joined by a bridge, no Docker, then the same scenario through portlab as a user runs it, alternating,
 * N times each. Prints every time, the medians, the ratio, and portlab's phase breakdown. Figures only: nothing
 * here passes or fails. Needs root and iproute2's `ip` (for the namespaces) and util-linux's `prlimit`.
 */
import { mkdtemp, readdir, readFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { execa, type ResultPromise } from 'execa';
import { formatTable } from '../orchestrator/cli/format-table.ts';
import type { ComposeService } from '../orchestrator/compile/compose-schema.ts';
import { DockerEngine } from '../orchestrator/engine/docker/engine.ts';
import { engineGrants } from '../orchestrator/engine/local/preflight.ts';
import { compileProbe, ensureProbeImage } from '../orchestrator/engine/probe-image.ts';
import { ProbeLog } from '../orchestrator/observe/probe-log.ts';
import { LocalBackend } from '../orchestrator/engine/local/local-backend.ts';
import { SERVER_NAME } from '../orchestrator/scenario/names.ts';
import { RunResult } from '../orchestrator/report/result-schema.ts';
import { environmentOf } from '../orchestrator/run/run-environment.ts';
import { loadScenario } from '../orchestrator/scenario/load-scenario.ts';
import { PROJECT_ROOT } from '../orchestrator/common/project-root.ts';
import { PORTLAB_LABEL } from '../orchestrator/compile/compile-compose.ts';

const BRIDGE = 'plfloor0';
const SUBNET = '10.231.0';
const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
};
const seconds = (ms: number | null | undefined) => (ms === null || ms === undefined ? '-' : (ms / 1000).toFixed(2));

async function sh(...args: string[]) {
  await execa(args[0]!, args.slice(1));
}

/** One network namespace per service, each with an eth0 on one bridge: the hosts Docker would make, without Docker. */
async function makeHosts(services: string[]): Promise<Map<string, string>> {
  await removeHosts(services);
  await sh('ip', 'link', 'add', BRIDGE, 'type', 'bridge');
  await sh('ip', 'link', 'set', BRIDGE, 'up');
  // Docker sets iptables' FORWARD policy to DROP and lets its own bridges through; bridged traffic is filtered
  // there (br_netfilter), so this bridge needs the same rule Docker gives its own.
  await sh('iptables', '-I', 'FORWARD', '-i', BRIDGE, '-o', BRIDGE, '-j', 'ACCEPT');
  const addresses = new Map<string, string>();
  for (const [index, service] of services.entries()) {
    const namespace = `plf-${service}`;
    const address = `${SUBNET}.${index + 2}`;
    await sh('ip', 'netns', 'add', namespace);
    await sh('ip', 'link', 'add', `plf${index}h`, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', namespace);
    await sh('ip', 'link', 'set', `plf${index}h`, 'master', BRIDGE, 'up');
    await sh('ip', '-n', namespace, 'addr', 'add', `${address}/24`, 'dev', 'eth0');
    await sh('ip', '-n', namespace, 'link', 'set', 'eth0', 'up');
    await sh('ip', '-n', namespace, 'link', 'set', 'lo', 'up');
    addresses.set(service, address);
  }
  return addresses;
}

async function removeHosts(services: string[]) {
  for (const service of services) await execa('ip', ['netns', 'delete', `plf-${service}`], { reject: false });
  await execa('ip', ['link', 'delete', BRIDGE], { reject: false });
  while ((await execa('iptables', ['-D', 'FORWARD', '-i', BRIDGE, '-o', BRIDGE, '-j', 'ACCEPT'], { reject: false })).exitCode === 0);
}

/** Starts one service's probe in its namespace with its sysctls and nofile; its stdout lines go to a ProbeLog. */
async function startProbe(probe: string, service: string, definition: ComposeService, serverAddress: string, onLine: () => void) {
  const namespace = `plf-${service}`;
  for (const [key, value] of Object.entries(definition.sysctls ?? {}))
    await sh('ip', 'netns', 'exec', namespace, 'sysctl', '-qw', `${key}=${value}`);
  const nofile = definition.ulimits?.nofile;
  const command = definition.command!.map((arg, index) => (definition.command![index - 1] === '--server' ? serverAddress : arg));
  const log = new ProbeLog(service);
  const limit = nofile ? ['prlimit', `--nofile=${nofile.soft}:${nofile.hard}`] : [];
  const child: ResultPromise = execa('ip', ['netns', 'exec', namespace, ...limit, probe, ...command], { reject: false, buffer: false });
  let rest = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    const lines = (rest + chunk.toString('utf8')).split('\n');
    rest = lines.pop() ?? '';
    for (const line of lines) if (line) log.addLine(line);
    onLine();
  });
  return { child, log };
}

/** The scenario's probes in bare namespaces: seconds from the clients' start until every client finished. */
async function bareRun(
  services: Record<string, ComposeService>,
  probe: string,
): Promise<{ wallMs: number; fillMs: number; counts: string }> {
  const names = Object.keys(services);
  const addresses = await makeHosts(names);
  const serverAddress = addresses.get(SERVER_NAME)!;
  let wake: () => void = () => {};
  const changed = () =>
    new Promise<void>((resolve) => {
      wake = resolve;
      setTimeout(resolve, 250);
    });
  const running: Array<Awaited<ReturnType<typeof startProbe>>> = [];
  const started = performance.now();
  try {
    const server = await startProbe(probe, SERVER_NAME, services[SERVER_NAME]!, serverAddress, () => wake());
    running.push(server);
    while (!server.log.snapshots()[SERVER_NAME]?.ready) await changed();
    const clientsAt = performance.now();
    const clients = await Promise.all(
      names.filter((name) => name !== SERVER_NAME).map((name) => startProbe(probe, name, services[name]!, serverAddress, () => wake())),
    );
    running.push(...clients);
    while (!clients.every((client) => client.log.finished())) await changed();
    const fillMs = performance.now() - clientsAt;
    // What each client got and why it stopped: a floor is only a floor if the bare run did the same work.
    const counts = clients
      .map((client) =>
        client.log
          .counted()
          .map((observation) => `${observation.count} ${observation.error ?? ''}`.trim())
          .join('+'),
      )
      .join(', ');
    for (const { child } of running) child.kill('SIGTERM');
    await Promise.all(running.map(({ child }) => child));
    return { wallMs: performance.now() - started, fillMs, counts };
  } finally {
    for (const { child } of running) child.kill('SIGKILL');
    await removeHosts(names);
  }
}

/** The scenario through portlab, as a user runs it; wall time of the command and its result. */
async function portlabRun(scenario: string): Promise<{ wallMs: number; result: RunResult }> {
  const resultsDir = await mkdtemp(path.join(os.tmpdir(), 'portlab-floor-'));
  const started = performance.now();
  // The bundled command `npm run scenario` starts (npm's pre-script for bench builds it).
  const run = await execa(process.execPath, [path.join(PROJECT_ROOT, 'dist', 'main.mjs'), scenario], {
    reject: false,
    env: { PORTLAB_RESULTS_DIR: resultsDir },
  });
  const wallMs = performance.now() - started;
  const file = (await readdir(resultsDir)).find((entry) => entry.endsWith('.json'));
  if (!file) throw new Error(`portlab wrote no result (exit ${run.exitCode}): ${String(run.stderr).trim().split('\n').at(-1)}`);
  return { wallMs, result: RunResult.parse(JSON.parse(await readFile(path.join(resultsDir, file), 'utf8'))) };
}

export async function floorBench(scenarioName: string, reps: number): Promise<void> {
  if (process.getuid?.() !== 0) throw new Error('--floor makes network namespaces and a bridge: run it as root');
  await execa('ip', ['-V']).catch(() => {
    throw new Error('--floor needs iproute2 (`ip`): apt-get install iproute2');
  });
  const engine = new DockerEngine();
  const loaded = await loadScenario(scenarioName);
  const image = await ensureProbeImage(engine);
  const grants = await engineGrants(
    engine,
    image,
    Math.max(
      0,
      ...loaded.scenario.clients.map((group) => group.ulimits.nofile?.hard ?? 0),
      loaded.scenario.server.ulimits.nofile?.hard ?? 0,
    ),
    {
      prefix: `portlab-floor-${loaded.scenario.name}`,
      labels: { [PORTLAB_LABEL.managed]: 'true' },
    },
  );
  const plan = await new LocalBackend(engine).plan(
    loaded,
    environmentOf({ ...grants, conntrack: null }),
    `portlab-floor-${loaded.scenario.name}`,
    image,
  );
  const probe = path.join(await compileProbe(), 'probe');

  const bare: Array<{ wallMs: number; fillMs: number; counts: string }> = [];
  const portlab: Array<{ wallMs: number; result: RunResult }> = [];
  for (let rep = 1; rep <= reps; rep++) {
    // Alternate which goes first: this machine is noisy, and a pair run back to back shares its noise.
    const order = rep % 2 ? ['bare', 'portlab'] : ['portlab', 'bare'];
    for (const which of order) {
      if (which === 'bare') bare.push(await bareRun(plan.compiled.project.services, probe));
      else portlab.push(await portlabRun(scenarioName));
      const last = which === 'bare' ? bare.at(-1)! : portlab.at(-1)!;
      process.stderr.write(`${scenarioName} rep ${rep}: ${which} ${seconds(last.wallMs)} s\n`);
    }
  }
  const clientsMs = (result: RunResult) => Math.max(...result.clients.map((client) => client.stoppedAfterMs ?? 0));
  const rows = bare.map((run, index) => {
    const other = portlab[index]!;
    const phases = other.result.run.phasesMs;
    return [
      String(index + 1),
      seconds(run.wallMs),
      seconds(run.fillMs),
      seconds(other.wallMs),
      seconds(clientsMs(other.result)),
      seconds(other.wallMs - clientsMs(other.result)),
      ...[phases.preflight, phases.serverStart, phases.serverReady, phases.clientsStart, phases.fill, phases.stop, phases.remove].map(
        seconds,
      ),
      other.result.verdict,
      run.counts,
      other.result.clients.map((client) => `${client.observed} ${client.observedError ?? ''}`.trim()).join(', '),
    ];
  });
  const medianOf = (values: number[]) => median(values);
  const bareWall = medianOf(bare.map((run) => run.wallMs));
  const portlabWall = medianOf(portlab.map((run) => run.wallMs));
  const overhead = medianOf(portlab.map((run) => run.wallMs - clientsMs(run.result)));
  const phase = (key: keyof RunResult['run']['phasesMs']) => seconds(medianOf(portlab.map((run) => run.result.run.phasesMs[key] ?? 0)));
  rows.push([
    'median',
    seconds(bareWall),
    seconds(medianOf(bare.map((run) => run.fillMs))),
    seconds(portlabWall),
    seconds(medianOf(portlab.map((run) => clientsMs(run.result)))),
    seconds(overhead),
    phase('preflight'),
    phase('serverStart'),
    phase('serverReady'),
    phase('clientsStart'),
    phase('fill'),
    phase('stop'),
    phase('remove'),
    '',
    '',
    '',
  ]);
  process.stdout.write(
    `${formatTable(
      [
        'rep',
        'bare s',
        'bare fill',
        'portlab s',
        'clients s',
        'overhead',
        'preflight',
        'server',
        'ready',
        'clients',
        'fill',
        'stop',
        'remove',
        'verdict',
        'bare counts',
        'portlab counts',
      ],
      rows,
    )}\n` +
      `${scenarioName}: portlab / bare = ${(portlabWall / bareWall).toFixed(2)} (medians of ${reps}); overhead (portlab wall - its clients' own time) ${seconds(overhead)} s\n`,
  );
}
