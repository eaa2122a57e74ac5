import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { writeFileAtomic } from '../common/atomic-write.ts';
import { inspectionName, liftScenario, liftsFor } from '../predict/lifts.ts';
import { Inspection, type Headroom, type Lift } from '../predict/inspection-schema.ts';
import { inspectPage, targetText } from '../report/inspect-page.ts';
import { RESULTS_DIR } from '../report/results-dir.ts';
import { userCwd } from '../scenario/load-scenario.ts';
import { inspectContainer, type Inspected } from '../engine/local/inspect-container.ts';
import { inspectProcess, type HostTarget } from '../engine/local/inspect-process.ts';
import { parseServeAddress, serveInspections } from './inspect-serve.ts';
import { firstToRunOut, headroom } from '../predict/headroom.ts';
import { formatCount } from '../predict/count-range.ts';
import { backendFor } from './backends.ts';
import { connectEngine } from './connect-engine.ts';
import { engineKind } from './parse-args.ts';
import { ENGINE_CHOICES, type EngineKind } from '../engine/registry.ts';
import { badUsage, EXIT, showUsage } from './exit-codes.ts';
import { formatTable } from './format-table.ts';
import { reportError } from './report-error.ts';

export const INSPECT_USAGE = `usage: portlab inspect <container> [--engine ${ENGINE_CHOICES}] [--json] [--watch SECONDS]
       portlab inspect --pid PID | --host [--json] [--watch SECONDS]
       portlab inspect <container> | --pid PID | --host --serve ADDR [--top N]

  The model pointed at a container that is already running (a name or id on the local engine, portlab's or not),
  at the network namespace of any process on this machine (--pid: a host service, a Kubernetes pod's process, a
  Podman container's; as root), or at the one portlab runs in (--host: the host's, run from the host):
  for each destination it connects to, how many more connections it can make and the limit that stops it first
  (free ports of the range, its process's free descriptors, the host's conntrack and open files); for each port it
  listens on, the accept queue's and the descriptors' room. Read-only: portlab's probe joins the container's network
  namespace for a moment (as root with the engine on this machine, as a host binary; else in a container of its own;
  with --pid or --host it runs on this machine and connects to no engine), reads what the kernel holds there, and is
  gone at once. Each look is also
  written as results/inspect-<name>.html, with what would lift the first limit as a scenario to try
  (results/inspect-<name>.yml, for portlab run; --results-dir DIR writes them there).

  --engine KIND   the engine the container is on (local, the default: Docker's; podman: Podman's)
  --pid PID       the network namespace of process PID (exit 2 when there is none; exit 3 without the rights)
  --host          the network namespace portlab runs in, and its processes
  --json          the same as JSON on stdout
  --watch SECONDS look again every SECONDS (2 to 3600) until Ctrl-C
  --serve ADDR    serve Prometheus's text format at http://ADDR/metrics (HOST:PORT, [IPV6]:PORT, :PORT), a look per
                  scrape, until Ctrl-C or SIGTERM; no files are written
  --top N         the destinations --serve lists: the N (1 to 128, 20 unless said) that run out first`;

/** What `portlab inspect` shows a person: the container, its destinations and listeners, each with its limit. */
export function formatHeadroom(inspected: Inspected, room: Headroom): string {
  const destinations = room.destinations.map((destination) => [
    `${destination.address}:${destination.port}`,
    Object.entries(destination.states)
      .map(([state, count]) => `${formatCount(count)} ${state}`)
      .join(', '),
    formatCount(destination.portsUsed),
    formatCount(destination.portsFree),
    formatCount(destination.left),
    destination.limit,
  ]);
  const listeners = room.listeners.map((listener) => [
    `${listener.address}:${listener.port}${listener.dockerDns ? " (Docker's DNS)" : ''}`,
    `${formatCount(listener.backlog)}${listener.sockets > 1 ? ` (${listener.sockets} sockets)` : ''}`,
    formatCount(listener.queued),
    formatCount(listener.queueRoom),
    formatCount(listener.accepted),
    listener.descriptorsFree === null ? '-' : formatCount(listener.descriptorsFree),
  ]);
  const descriptors = room.descriptors
    ? `descriptors: ${room.descriptors.process} holds ${formatCount(room.descriptors.fds)} of its nofile ${formatCount(room.descriptors.nofile)}`
    : 'descriptors: no process of it could be read';
  return [
    inspected.target.kind === 'container' ? `${inspected.target.name} (${targetText(inspected.target)})` : inspected.target.name,
    ...room.lines,
    descriptors,
    '',
    destinations.length > 0
      ? formatTable(['destination', 'sockets', 'ports used', 'ports free', 'left', 'binds first'], destinations)
      : 'no connections out',
    '',
    listeners.length > 0
      ? formatTable(['listening port', 'backlog', 'queued', 'queue room', 'accepted', 'descriptors free'], listeners)
      : 'no listening socket',
    ...room.destinations.flatMap((destination) => [
      '',
      `${destination.address}:${destination.port}:`,
      ...destination.lines.map((line) => `  ${line}`),
    ]),
  ].join('\n');
}

/**
 * For the destination that runs out first, what would lift its limit, and a scenario file that tries each change
 * (results/inspect-<container>.yml, written again at each look). Nothing when no destination is bound by a limit a
 * change of its own lifts.
 */
async function writeLifts(inspected: Inspected, room: Headroom): Promise<{ lifts?: Lift[]; scenarioFile?: string }> {
  const first = firstToRunOut(room);
  if (!first) return {};
  const lifts = liftsFor(first, inspected.look, room.descriptors);
  if (lifts.length === 0) return {};
  const { name, text } = liftScenario(inspected.target.name, first, inspected.look, room.descriptors, lifts);
  return { lifts, scenarioFile: await writeResultsFile(`${name}.yml`, text) };
}

/** Writes one of inspect's files into the results directory; its path as shown to the person. */
async function writeResultsFile(name: string, text: string): Promise<string> {
  const file = path.join(RESULTS_DIR, name);
  await mkdir(RESULTS_DIR, { recursive: true });
  await writeFileAtomic(file, text);
  return path.relative(userCwd(), file);
}

/** The inspection as a page (results/inspect-<container>.html, written again at each look); its path as shown. */
async function writePage(inspected: Inspected, room: Headroom, lifted: { lifts?: Lift[]; scenarioFile?: string }): Promise<string> {
  const html = inspectPage({
    target: inspected.target,
    readAt: new Date().toISOString(),
    host: inspected.host,
    headroom: room,
    ...lifted,
  });
  return writeResultsFile(`${inspectionName(inspected.target.name)}.html`, html);
}

function formatLifts({ lifts, scenarioFile }: { lifts?: Lift[]; scenarioFile?: string }): string[] {
  if (!lifts || !scenarioFile) return [];
  return [
    '',
    'what would lift it:',
    ...lifts.map((lift) => `  ${lift.change}: ${formatCount(lift.connections)} to that destination`),
    `try them: portlab run ${scenarioFile}`,
  ];
}

/** Waits `ms`, or less when `signal` aborts. */
const sleep = (ms: number, signal: AbortSignal) =>
  new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal.addEventListener('abort', () => (clearTimeout(timer), resolve()), { once: true });
  });

const status = (message: string) => process.stderr.write(`${message}\n`);

/** The headroom of a look: for a process asked about by pid, its own nofile is the one a connection counts against. */
const roomOf = (inspected: Inspected): Headroom =>
  headroom(inspected.look, inspected.host, inspected.target.kind === 'process' ? Number(inspected.target.id) : undefined);

/**
 * How each look is taken: of a container, through the local engine (connected to once, its probe image built
 * once if a look needs it); of a process or the host's namespace, by the probe as a host binary, with no engine at all.
 */
async function inspector(
  container: string | undefined,
  hostTarget: HostTarget | null,
  kind: EngineKind,
  signal: AbortSignal,
): Promise<() => Promise<Inspected>> {
  if (hostTarget) return () => inspectProcess(hostTarget, status, signal);
  const engine = await connectEngine(kind);
  let image: Promise<string> | null = null;
  const probeImage = () => (image ??= backendFor(kind, engine).buildProbe(signal, status));
  return () => inspectContainer(engine, probeImage, container!, status, signal);
}

/** The command line, checked: what to inspect and how; throws a one-line message for a wrong one. */
function parseInspectArgs(argv: string[]) {
  const parsed = parseArgs({
    args: argv,
    allowPositionals: true,
    strict: true,
    options: {
      help: { type: 'boolean', short: 'h', default: false },
      json: { type: 'boolean', default: false },
      watch: { type: 'string' },
      pid: { type: 'string' },
      host: { type: 'boolean', default: false },
      serve: { type: 'string' },
      top: { type: 'string' },
      engine: { type: 'string' },
    },
  });
  const { pid, host, serve, top, watch } = parsed.values;
  if (parsed.values.help) return parsed;
  engineKind(parsed.values.engine);
  if (parsed.values.engine !== undefined && (pid !== undefined || host))
    throw new Error('--engine says where a container is: --pid and --host look from this machine, through no engine');
  const asked = parsed.positionals.length + (pid === undefined ? 0 : 1) + (host ? 1 : 0);
  if (asked !== 1) throw new Error('inspect takes one container (a name or id), or --pid PID, or --host');
  if (pid !== undefined && !(/^\d+$/.test(pid) && Number(pid) >= 1 && Number(pid) <= 4_194_304))
    throw new Error(`--pid takes a process id (a whole number from 1 to 4194304, the kernel's most), found ${JSON.stringify(pid)}`);
  if (watch !== undefined && !(/^\d+$/.test(watch) && Number(watch) >= 2 && Number(watch) <= 3600))
    throw new Error(`--watch takes a whole number of seconds from 2 to 3600, found ${JSON.stringify(watch)}`);
  if (serve !== undefined) parseServeAddress(serve);
  if (serve !== undefined && (parsed.values.json || watch !== undefined))
    throw new Error('--serve answers each scrape with a look of its own: it takes neither --json nor --watch');
  if (top !== undefined && serve === undefined) throw new Error('--top says how many destinations --serve lists: it needs --serve');
  if (top !== undefined && !(/^\d+$/.test(top) && Number(top) >= 1 && Number(top) <= 128))
    throw new Error(`--top takes a whole number from 1 to 128, found ${JSON.stringify(top)}`);
  return parsed;
}

export async function inspectCommand(argv: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseInspectArgs(argv);
  } catch (error) {
    return badUsage((error as Error).message, INSPECT_USAGE);
  }
  if (parsed.values.help) return showUsage(INSPECT_USAGE);
  const { pid, host } = parsed.values;
  const hostTarget: HostTarget | null = pid !== undefined ? { pid: Number(pid) } : host ? { host: true } : null;
  const everyMs = parsed.values.watch === undefined ? null : Number(parsed.values.watch) * 1000;
  const stop = new AbortController();
  const onInterrupt = () => stop.abort();
  process.once('SIGINT', onInterrupt);
  process.once('SIGTERM', onInterrupt);
  try {
    const look = await inspector(parsed.positionals[0], hostTarget, engineKind(parsed.values.engine), stop.signal);
    if (parsed.values.serve !== undefined) {
      const take = async () => {
        const inspected = await look();
        return { inspected, room: roomOf(inspected) };
      };
      await serveInspections(parseServeAddress(parsed.values.serve), take, Number(parsed.values.top ?? 20), stop.signal, status);
      return EXIT.pass;
    }
    do {
      const inspected = await look();
      const room = roomOf(inspected);
      const lifted = await writeLifts(inspected, room);
      const page = await writePage(inspected, room, lifted);
      const shown = parsed.values.json
        ? JSON.stringify(
            Inspection.parse({
              target: inspected.target,
              namespace: inspected.look,
              host: inspected.host,
              headroom: room,
              ...lifted,
              page,
            }),
            null,
            2,
          )
        : [formatHeadroom(inspected, room), ...formatLifts(lifted), `page: ${page}`].join('\n');
      process.stdout.write(`${everyMs !== null && !parsed.values.json ? `\n${new Date().toISOString()}\n` : ''}${shown}\n`);
      if (everyMs !== null) await sleep(everyMs, stop.signal);
    } while (everyMs !== null && !stop.signal.aborted);
    return EXIT.pass;
  } catch (error) {
    if (stop.signal.aborted && everyMs !== null) return EXIT.pass;
    return reportError(error);
  } finally {
    process.off('SIGINT', onInterrupt);
    process.off('SIGTERM', onInterrupt);
  }
}
