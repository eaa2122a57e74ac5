/**
 * `npm run bench -- --faults`: what portlab leaves when things go wrong around it, tried for real on an
 * engine of its own on this machine. Each trial starts portlab as a user does (node on the bundle), breaks something, then runs the next command
 * a user would (a small run, which starts by removing what runs whose process is gone left) and counts what is left
 * of the broken run on the engine. Prints one row per trial: portlab's exit code, whether its result was kept, and
 * the containers and networks of it left after the next command.
 *
 * Every trial runs on an engine of its own, never the person's: a lab of one manager and one worker named `faults`
 * (scripts/lab.sh: its own dockerd with its own data root, exec root, pidfile and socket, in a network namespace of
 * its own), made when the trial starts and removed when it ends, even when a trial fails. The engine it restarts is
 * that lab's node 1, stopped by the pid in its own pidfile. It also mounts a small tmpfs for a results directory that
 * fills up. Root only. Figures, not verdicts: nothing here passes or fails.
 */
import { execa, type ResultPromise } from 'execa';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import Docker from 'dockerode';
import { formatTable } from '../orchestrator/cli/format-table.ts';
import { PROJECT_ROOT } from '../orchestrator/common/project-root.ts';
import { PORTLAB_LABEL } from '../orchestrator/compile/compile-compose.ts';

const CLI = [path.join(PROJECT_ROOT, 'dist', 'main.mjs')];
/** A hold that fills 5,000 ports a client and holds them for minutes: long enough to break it mid-fill. */
const SLOW = 'test/fixtures/slow-hold.yml';
/** What a user runs next: small, seconds. */
const NEXT = 'test/fixtures/small-range.yml';
/** The trial's own engine: a lab of its own name, addresses and pool, beside any lab a person or the suite made. */
const LAB = { PORTLAB_LAB_NAME: 'faults', PORTLAB_LAB_SUBNET: '10.81.0', PORTLAB_LAB_POOL: '10.204.0.0/16' };
const LAB_RUN = `/run/portlab-${LAB.PORTLAB_LAB_NAME}`;
const NODE = `${LAB_RUN}/node-1`;
const DOCKER_HOST = `unix://${NODE}/docker.sock`;
const docker = new Docker({ socketPath: `${NODE}/docker.sock` });
const session = `faults-${process.pid}`;

const lab = (...args: string[]) =>
  execa('bash', [path.join(PROJECT_ROOT, 'scripts', 'lab.sh'), ...args], { env: LAB, stdout: 'ignore', stderr: 'inherit' });

type Row = { trial: string; exit: string; kept: string; left: string; note: string };

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function start(args: string[], resultsDir: string): ResultPromise {
  return execa(process.execPath, [...CLI, ...args], {
    reject: false,
    cwd: PROJECT_ROOT,
    env: { PORTLAB_RESULTS_DIR: resultsDir, PORTLAB_SESSION: session, DOCKER_HOST, INIT_CWD: '' },
  });
}

const labelled = (label: string) => ({ filters: { label: [label] } });

/** The run ids of this benchmark's runs that have containers on the engine. */
async function runIds(): Promise<string[]> {
  const found = await docker.listContainers({ all: true, ...labelled(`${PORTLAB_LABEL.session}=${session}`) });
  return [...new Set(found.map((container) => container.Labels[PORTLAB_LABEL.runId] ?? ''))];
}

/** Waits until `count` containers of the benchmark's runs are running (its clients are filling). */
async function running(count: number): Promise<void> {
  for (let waited = 0; waited < 120_000; waited += 250) {
    const found = await docker.listContainers(labelled(`${PORTLAB_LABEL.session}=${session}`));
    if (found.length >= count) return;
    await sleep(250);
  }
  throw new Error(`the run did not start ${count} containers within 2 minutes`);
}

/** What is left of the runs `ids` on the engine: "N containers, M networks". */
async function leftOf(ids: string[]): Promise<string> {
  let containers = 0;
  let networks = 0;
  for (const id of ids) {
    containers += (await docker.listContainers({ all: true, ...labelled(`${PORTLAB_LABEL.runId}=${id}`) })).length;
    networks += (await docker.listNetworks(labelled(`${PORTLAB_LABEL.runId}=${id}`))).length;
  }
  return `${containers} containers, ${networks} networks`;
}

/** Every run id of the benchmark's session seen on the engine until `cli` ends. */
async function idsWhile(cli: ResultPromise): Promise<string[]> {
  const seen = new Set<string>();
  let over = false;
  void cli.finally(() => (over = true));
  while (!over) {
    for (const id of await runIds()) seen.add(id);
    await sleep(250);
  }
  return [...seen];
}

/** What portlab said last that a person reads: its error line, else its summary's first line. */
function said(ended: { stdout: unknown; stderr: unknown }): string {
  const error = String(ended.stderr)
    .split('\n')
    .filter((line) => line.startsWith('portlab:'))
    .at(-1);
  return (error ?? String(ended.stdout).split('\n')[0] ?? '').slice(0, 160);
}

const resultsIn = async (dir: string) => (await readdir(dir).catch(() => [])).filter((file) => file.endsWith('.json')).length;

/** The next command a user runs, then what is left of the broken runs. */
async function afterNext(ids: string[]): Promise<string> {
  const next = await start([NEXT], await mkdtemp(path.join(os.tmpdir(), 'portlab-faults-')));
  return `${await leftOf(ids)} (next run: exit ${next.exitCode})`;
}

async function killNine(): Promise<Row> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'portlab-faults-'));
  const cli = start([SLOW], dir);
  await running(3);
  const ids = await runIds();
  cli.kill('SIGKILL');
  const ended = await cli;
  return {
    trial: 'kill -9 of portlab mid-fill',
    exit: ended.signal ?? String(ended.exitCode),
    kept: `${await resultsIn(dir)} result`,
    left: await afterNext(ids),
    note: '(killed: it says nothing)',
  };
}

async function ctrlCTwice(): Promise<Row> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'portlab-faults-'));
  const cli = start([SLOW], dir);
  await running(3);
  const ids = await runIds();
  cli.kill('SIGINT');
  await sleep(100);
  cli.kill('SIGINT');
  const ended = await cli;
  return {
    trial: 'Ctrl-C twice',
    exit: String(ended.exitCode),
    kept: `${await resultsIn(dir)} result`,
    left: await afterNext(ids),
    note: said(ended),
  };
}

async function twoAtOnce(): Promise<Row> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'portlab-faults-'));
  const first = start(['test/fixtures/medium-range.yml'], dir);
  const second = start(['test/fixtures/medium-range.yml'], dir);
  await running(6);
  const ids = await runIds();
  const [a, b] = await Promise.all([first, second]);
  return {
    trial: 'two runs of one scenario at once',
    exit: `${a.exitCode}, ${b.exitCode}`,
    kept: `${await resultsIn(dir)} results`,
    left: await afterNext(ids),
    note: `${said(a)}; ${said(b)}`,
  };
}

async function fullResults(): Promise<Row> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'portlab-faults-tmpfs-'));
  // Room for the compose file (a few KB), not for the result and the report.
  await execa('mount', ['-t', 'tmpfs', '-o', 'size=16k', 'portlab-faults', dir]);
  try {
    const cli = start([NEXT], dir);
    const ids = await idsWhile(cli);
    const ended = await cli;
    return {
      trial: 'a results directory that fills up (16 KB tmpfs)',
      exit: String(ended.exitCode),
      kept: `${await resultsIn(dir)} result${said(ended).includes(' instead') ? ' (1 in the temp dir)' : ''}`,
      left: await afterNext(ids),
      note: said(ended),
    };
  } finally {
    await execa('umount', [dir]);
    await rm(dir, { recursive: true, force: true });
  }
}

/** The lab engine's pid, from its own pidfile, if that process is still its dockerd (a pid may be reused). */
async function labEnginePid(): Promise<number | undefined> {
  const pid = Number((await readFile(`${NODE}/docker.pid`, 'utf8').catch(() => '')).trim());
  if (!pid) return undefined;
  const command = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '');
  return command.includes(`${NODE}/docker.pid`) ? pid : undefined;
}

/** Stops the trial's own engine as a service stop would (SIGTERM to its pid), then starts it again. */
async function restartEngine(): Promise<void> {
  const pid = await labEnginePid();
  if (pid === undefined) throw new Error(`the trial's engine (${NODE}/docker.pid) is not running`);
  process.kill(pid, 'SIGTERM');
  for (let waited = 0; waited < 60_000 && (await labEnginePid()) === pid; waited += 250) await sleep(250);
  await lab('start', '1');
}

async function engineRestart(): Promise<Row> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'portlab-faults-'));
  const cli = start([SLOW], dir);
  await running(3);
  const ids = await runIds();
  await restartEngine();
  const ended = await cli;
  return {
    trial: 'the engine restarted mid-run',
    exit: String(ended.exitCode),
    kept: `${await resultsIn(dir)} result`,
    left: await afterNext(ids),
    note: said(ended),
  };
}

export async function faultsBench(): Promise<void> {
  if (process.getuid?.() !== 0) throw new Error('the fault trial starts an engine of its own and mounts a tmpfs: run it as root');
  process.stderr.write(`bench: starting an engine of the trial's own (lab ${LAB.PORTLAB_LAB_NAME}, ${DOCKER_HOST})...\n`);
  // One left by a trial that was killed is the trial's own: taken down first.
  await lab('down');
  const rows: Row[] = [];
  try {
    await lab('up', '2');
    for (const trial of [killNine, ctrlCTwice, twoAtOnce, fullResults, engineRestart]) {
      process.stderr.write(`bench: ${trial.name}...\n`);
      rows.push(await trial());
    }
  } finally {
    await lab('down');
  }
  process.stdout.write(
    `${formatTable(
      ['trial', 'exit', 'result kept', 'left after the next command', 'last line'],
      rows.map((row) => [row.trial, row.exit, row.kept, row.left, row.note]),
    )}\n`,
  );
}
