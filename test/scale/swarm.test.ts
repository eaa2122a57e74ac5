import { mkdtemp, readFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DockerEngine } from '../../orchestrator/engine/docker/engine.ts';
import { SwarmNotReadyError } from '../../orchestrator/engine/errors.ts';
import { swarmFacts } from '../../orchestrator/engine/swarm/swarm-preflight.ts';
import { PROJECT_ROOT } from '../../orchestrator/common/project-root.ts';
import { CLI_COMMAND, runCli, SWEEP_COMMAND } from '../cli/run-cli.ts';
import { docker, eventually, readResults, reportIn, sleep } from '../docker/docker-helpers.ts';
import { LAB_NAME, LAB_NODES, labDown, labEngine, labNodes, labSocket, labStart, labStop, labUp, type LabEnv } from '../docker/lab.ts';

/**
 * The swarm tests run on the suite's own lab (three engines on this host, `npm run lab -- up 3`), never on the engine
 * the user has: its swarm state (inactive, or a swarm of the user's) is the same after them as before, and the last
 * test checks it.
 */
let lab: LabEnv;
/** The user's engine's swarm, as it was before these tests. */
let userSwarm: unknown;
const swarmStateOf = (info: { Swarm?: { LocalNodeState?: string; NodeID?: string; Cluster?: { ID?: string } } }) => ({
  state: info.Swarm?.LocalNodeState,
  node: info.Swarm?.NodeID,
  cluster: info.Swarm?.Cluster?.ID ?? null,
});

beforeAll(async () => {
  userSwarm = swarmStateOf(await docker.info());
  lab = await labUp();
}, 300_000);
afterAll(async () => {
  await labDown();
}, 300_000);

const nodes = () => Array.from({ length: LAB_NODES }, (_, index) => index + 1);
/** portlab as a user runs it after `eval "$(npm run lab -- up)"`. */
const onLab = (args: string[], env: Record<string, string> = {}) => runCli(args, { env: { ...lab, ...env } });
/** The same, started and left running (to interrupt, kill, or lose a node under). */
const startOnLab = (args: string[], resultsDir: string) =>
  execa(CLI_COMMAND[0], [...CLI_COMMAND[1], ...args], {
    reject: false,
    cwd: PROJECT_ROOT,
    env: { ...lab, PORTLAB_RESULTS_DIR: resultsDir, INIT_CWD: '' },
  });

/**
 * What swarm runs (of one scenario, if named) left on the lab: services (the manager's), and containers and overlay
 * networks on any of its engines.
 */
async function leftovers(scenario?: string) {
  const labels = ['io.portlab.managed=true', ...(scenario ? [`io.portlab.scenario=${scenario}`] : [])];
  const [services, configs, perNode] = await Promise.all([
    labEngine(1).listServices({ filters: { label: labels } }),
    labEngine(1).listConfigs({ filters: { label: labels } }),
    Promise.all(
      nodes().map(async (node) => {
        const engine = labEngine(node);
        const [containers, networks] = await Promise.all([
          engine.listContainers({ all: true, filters: { label: labels } }).catch(() => []),
          engine.listNetworks({ filters: { label: ['io.portlab.managed=true'], driver: ['overlay'] } }).catch(() => []),
        ]);
        return { containers: containers.map((c) => `lab-${node}${c.Names[0]}`), networks: networks.map((n) => `lab-${node}:${n.Name}`) };
      }),
    ),
  ]);
  return {
    services: services.map((service) => service.Spec?.Name),
    configs: configs.map((config) => config.Spec?.Name),
    containers: perNode.flatMap((node) => node.containers),
    networks: perNode.flatMap((node) => node.networks),
  };
}
/**
 * The user's images on the lab's manager engine, as `npm run app-images` makes them there (kept when already built);
 * portlab pushes them to the lab's registry for the other nodes.
 */
const appImagesOnLab = () =>
  execa('bash', [path.join(PROJECT_ROOT, 'scripts', 'build-app-images.sh'), 'nginx', 'wrk', 'haproxy'], {
    env: { ...process.env, ...lab },
    stdio: 'inherit',
  });
const NOTHING = { services: [], configs: [], containers: [], networks: [] };
/** Workers take a removed service's containers down on their own, a moment after the manager: what is left then. */
async function nothingLeft(scenario?: string) {
  const clean = async () => (JSON.stringify(await leftovers(scenario)) === JSON.stringify(NOTHING) ? true : undefined);
  await eventually(clean, 30_000, 'the lab to be clean').catch(() => undefined);
  return leftovers(scenario);
}

describe('on a swarm of three engines (the lab)', () => {
  it("your own images across nodes: nginx and wrk, haproxy's maxconn, each observed on its node, as on the local engine", async () => {
    await appImagesOnLab();
    const byNumber = await labNodes();
    const observed = (run: Awaited<ReturnType<typeof readResults>>[number] | undefined) =>
      [...(run?.clients ?? []), run!.server].map((entry) => [entry.name, entry.observed, entry.bound?.limit ?? entry.limit, entry.verdict]);
    const onEach = async (file: string) => {
      const dry = await onLab([file, '--engine', 'swarm', '--dry-run']);
      expect(dry.exitCode, dry.stderr).toBe(0);
      const swarm = await onLab([file, '--engine', 'swarm']);
      expect(swarm.exitCode, swarm.stderr).toBe(0);
      const local = await runCli([file]);
      expect(local.exitCode, local.stderr).toBe(0);
      const [onSwarm] = await readResults(swarm.resultsDir);
      const [onLocal] = await readResults(local.resultsDir);
      return { onSwarm, onLocal, report: await readFile(await reportIn(swarm.resultsDir), 'utf8') };
    };
    // Each wrk bound by its own node's port range, exactly, on a node of its own; nginx on lab-1 sees both.
    const wrk = await onEach('scenarios/swarm/lab-nginx-wrk.yml');
    expect(observed(wrk.onSwarm).slice(0, 2)).toEqual([
      ['wrk-1', 1000, 'port-range', 'pass'],
      ['wrk-2', 1000, 'port-range', 'pass'],
    ]);
    expect(observed(wrk.onSwarm).slice(0, 2)).toEqual(observed(wrk.onLocal).slice(0, 2));
    expect([wrk.onSwarm?.verdict, wrk.onLocal?.verdict]).toEqual(['pass', 'pass']);
    const containers = wrk.onSwarm?.environment.containers ?? {};
    expect(containers.server?.nodeId).toBe(byNumber.get(1)?.id);
    expect(new Set([containers['wrk-1']?.nodeId, containers['wrk-2']?.nodeId])).toEqual(
      new Set([byNumber.get(2)?.id, byNumber.get(3)?.id]),
    );
    // Each task's kernel view is its node's: wrk's namespace held its 1,000 ports, nginx's listener is its own.
    expect(wrk.onSwarm?.clients.map((client) => client.kernel?.peakInUse)).toEqual([1000, 1000]);
    expect(wrk.onSwarm?.server.kernel?.listeners.map((listener) => listener.port)).toEqual([80]);
    // haproxy's maxconn binds the clients on two nodes together: 100 accepted and 101 queued, as on one engine.
    const haproxy = await onEach('scenarios/swarm/lab-haproxy-maxconn.yml');
    for (const run of [haproxy.onSwarm, haproxy.onLocal]) {
      expect([run?.verdict, run?.server.observed, run?.server.bound?.limit]).toEqual(['pass', 100, 'application']);
      // 100 + 101 queued, and up to one more: the other client's handshake whose final ACK the full queue dropped.
      expect(run?.total.observed).toBeGreaterThanOrEqual(201);
      expect(run?.total.observed).toBeLessThanOrEqual(202);
      expect(run?.clients.map((client) => client.bound?.limit)).toEqual(['application', 'application']);
    }
    // The report gives each container's node beside its verdict and its kernel view.
    const serverNode = `server<br><span class="muted">on ${LAB_NAME}-1</span>`;
    expect(haproxy.report.split(serverNode).length - 1).toBe(2);
    expect(wrk.report).toContain(`wrk-1<br><span class="muted">on ${containers['wrk-1']?.node}</span>`);
    expect(await nothingLeft('lab-nginx-wrk')).toEqual(NOTHING);
    expect(await nothingLeft('lab-haproxy-maxconn')).toEqual(NOTHING);
  });

  it("across nodes: the server on lab-1, a client on each other node, 28,231 each as on one engine; each container's node by id and hostname", async () => {
    const result = await onLab(['scenarios/swarm/lab-across-nodes.yml', '--engine', 'swarm']);
    expect(result.stderr).toContain(`pushing portlab.invalid/probe:`);
    expect(result.exitCode).toBe(0);
    const [run] = await readResults(result.resultsDir);
    expect(run?.verdict).toBe('pass');
    expect(run?.clients.map((client) => [client.name, client.observed, client.observedError])).toEqual([
      ['client-1', 28231, 'EADDRNOTAVAIL'],
      ['client-2', 28231, 'EADDRNOTAVAIL'],
    ]);
    expect(run?.server.observed).toBe(56462);
    const byNumber = await labNodes();
    const containers = run?.environment.containers ?? {};
    expect(containers.server).toMatchObject({ node: `${LAB_NAME}-1`, nodeId: byNumber.get(1)?.id });
    expect(new Set([containers['client-1']?.nodeId, containers['client-2']?.nodeId])).toEqual(
      new Set([byNumber.get(2)?.id, byNumber.get(3)?.id]),
    );
    // Every node, by id, covered by the per-node preflight (its conntrack table read there).
    expect(run?.environment.nodes?.map((node) => node.id).sort()).toEqual([...byNumber.values()].map((node) => node.id).sort());
    expect(run?.environment.nodes?.every((node) => node.conntrack !== null)).toBe(true);
    // The probe image reached the workers through the lab's registry.
    const stackFile = await readFile(path.join(result.resultsDir, run!.composeFile), 'utf8');
    expect(/image: (\S+)/.exec(stackFile)?.[1]).toMatch(
      new RegExp(`^${lab.PORTLAB_REGISTRY.replaceAll('.', '\\.')}/portlab\\.invalid/probe:`),
    );
    const tags = (await (await fetch(`http://${lab.PORTLAB_REGISTRY}/v2/portlab.invalid/probe/tags/list`)).json()) as { tags: string[] };
    expect(tags.tags).toContain(/portlab\.invalid\/probe:(\w+)/.exec(stackFile)?.[1]);
    // The report names each node by hostname and id, with what ran there.
    const html = await readFile(await reportIn(result.resultsDir), 'utf8');
    const nodeList = /<dd id="nodes">(.*?)<\/dd>/s.exec(html)?.[1] ?? '';
    expect(nodeList).toContain(`${LAB_NAME}-1 <span class="muted">(${byNumber.get(1)?.id.slice(0, 12)})</span>: server;`);
    expect(await nothingLeft('lab-across-nodes')).toEqual(NOTHING);
  });

  it('the per-node plan, small: lab-2 bound by its port range, lab-3 by its descriptors, as the plan says', async () => {
    const plan = await onLab(['scenarios/swarm/lab-per-node.yml', '--engine', 'swarm', '--dry-run', '--json']);
    expect(plan.exitCode).toBe(0);
    const [planned] = (JSON.parse(plan.stdout) as { plans: Array<{ nodes: Array<{ role: string; limit: string; connections: unknown }> }> })
      .plans;
    expect(planned?.nodes.map((node) => [node.role, node.limit])).toEqual([
      ['server node', "none (the clients' own limits bind first)"],
      ['client nodes (group ports)', 'port-range'],
      ['client nodes (group descriptors)', 'nofile'],
    ]);
    const result = await onLab(['scenarios/swarm/lab-per-node.yml', '--engine', 'swarm']);
    expect(result.exitCode).toBe(0);
    const [run] = await readResults(result.resultsDir);
    expect(run?.verdict).toBe('pass');
    expect(
      run?.clients.map((client) => [
        client.name,
        run.environment.containers[client.name]?.node,
        client.observed,
        client.limit,
        client.observedError,
      ]),
    ).toEqual([
      ['ports-1', `${LAB_NAME}-2`, 1000, 'port-range', 'EADDRNOTAVAIL'],
      // nofile 600 less the three descriptors a process starts with.
      ['descriptors-1', `${LAB_NAME}-3`, 597, 'nofile', 'EMFILE'],
    ]);
    // The measured prediction per node names the nodes each placement admits, and the limit that binds there.
    expect(run?.prediction.nodes?.map((load) => [load.role, load.placedOn, load.limit, load.connections])).toEqual([
      ['server node', [`${LAB_NAME}-1`], "none (the clients' own limits bind first)", { min: 1597, max: 1597 }],
      ['client nodes (group ports)', [`${LAB_NAME}-2`], 'port-range', { min: 1000, max: 1000 }],
      ['client nodes (group descriptors)', [`${LAB_NAME}-3`], 'nofile', { min: 597, max: 597 }],
    ]);
    const html = await readFile(await reportIn(result.resultsDir), 'utf8');
    expect(html).toContain(`<tr><td>client nodes (group descriptors)</td><td>${LAB_NAME}-3</td>`);
    expect(await nothingLeft('lab-per-node')).toEqual(NOTHING);
  });

  it('time-wait-exhaustion: the TIME_WAIT limit as on the local engine', async () => {
    const result = await onLab(['time-wait-exhaustion', '--engine', 'swarm']);
    expect(result.exitCode).toBe(0);
    const [run] = await readResults(result.resultsDir);
    expect(run?.clients[0]).toMatchObject({ observedError: 'EADDRNOTAVAIL', limit: 'time-wait', verdict: 'pass' });
    // Its ports, plus at most the TIME_WAITs RSTs killed; the TIME_WAITs on the client, one per 4-tuple at most
    // (docs/model.md, "TIME_WAIT").
    expect(run?.clients[0]?.observed).toBeGreaterThanOrEqual(run?.clients[0]?.predicted.min ?? Number.NaN);
    expect(run?.clients[0]?.timeWait).toBeGreaterThan(0);
    expect(run?.clients[0]?.timeWait).toBeLessThanOrEqual(1000);
    expect(await nothingLeft('time-wait-exhaustion')).toEqual(NOTHING);
  });

  it("the compose file a swarm run saved deploys by hand with docker stack deploy, and its probes count what portlab's did", async () => {
    const run = await onLab(['extra-listen-ports', '--engine', 'swarm']);
    expect(run.exitCode).toBe(0);
    const [saved] = await readResults(run.resultsDir);
    const file = path.join(run.resultsDir, saved!.composeFile);
    const namespace = `portlab-by-hand-${process.pid}`;
    const byHand = (args: string[]) => execa('docker', args, { env: { DOCKER_HOST: lab.DOCKER_HOST } });
    const stackServices = async () =>
      (await labEngine(1).listServices({ filters: { label: [`com.docker.stack.namespace=${namespace}`] } })).map(
        (service) => service.Spec?.Name ?? '',
      );
    await byHand(['stack', 'deploy', '-c', file, namespace]);
    try {
      expect((await stackServices()).sort()).toEqual([`${namespace}_one-port`, `${namespace}_server`, `${namespace}_two-ports`]);
      const done = async (service: string) => {
        const { stdout } = await byHand(['service', 'logs', '--raw', `${namespace}_${service}`]);
        return stdout.split('\n').find((line) => line.includes('"event":"done"'));
      };
      const twoPorts = await eventually(() => done('two-ports'), 60_000, 'the two-ports client to finish');
      const onePort = await eventually(() => done('one-port'), 60_000, 'the one-port client to finish');
      expect(JSON.parse(twoPorts)).toMatchObject({ count: 2000, errno: 'EADDRNOTAVAIL' });
      expect(JSON.parse(onePort)).toMatchObject({ count: 1000, errno: 'EADDRNOTAVAIL' });
    } finally {
      await byHand(['stack', 'rm', namespace]);
    }
    await eventually(async () => ((await stackServices()).length === 0 ? true : undefined), 60_000, 'the stack to go');
  });

  it('a sweep on the swarm: every point deployed as a stack, judged, and removed', async () => {
    const resultsDir = await mkdtemp(path.join(os.tmpdir(), 'portlab-results-'));
    const result = await execa(SWEEP_COMMAND[0], [...SWEEP_COMMAND[1], 'listen-ports', '--engine', 'swarm', '--json'], {
      reject: false,
      cwd: PROJECT_ROOT,
      env: { ...lab, PORTLAB_RESULTS_DIR: resultsDir, INIT_CWD: '' },
    });
    expect(result.exitCode).toBe(0);
    const summary = JSON.parse(String(result.stdout)) as { points: Array<{ verdict: string; total: { observed: number } }> };
    expect(summary.points.map((point) => [point.verdict, point.total.observed])).toEqual([
      ['pass', 500],
      ['pass', 1000],
      ['pass', 1500],
      ['pass', 2000],
    ]);
    expect(await nothingLeft()).toEqual(NOTHING);
  });

  it('Ctrl-C during a swarm run: the result is aborted, exit 130, no service, container or network left', async () => {
    const resultsDir = await mkdtemp(path.join(os.tmpdir(), 'portlab-results-'));
    const cli = startOnLab(['test/fixtures/slow-hold.yml', '--engine', 'swarm'], resultsDir);
    await eventually(async () => ((await leftovers('slow-hold')).containers.length === 3 ? true : undefined), 60_000, 'the run to start');
    const [service] = await labEngine(1).listServices({ filters: { label: ['io.portlab.scenario=slow-hold'] } });
    const namespace = service?.Spec?.Labels?.['com.docker.stack.namespace'] ?? '';
    const { stdout } = await execa('docker', ['stack', 'services', namespace, '--format', '{{.Name}} {{.Mode}}'], {
      env: { DOCKER_HOST: lab.DOCKER_HOST },
    });
    expect(stdout.split('\n').sort()).toEqual([`${namespace}_client replicated`, `${namespace}_server replicated`]);
    await sleep(500);
    cli.kill('SIGINT');
    const ended = await cli;
    expect(ended.exitCode).toBe(130);
    const [run] = await readResults(resultsDir);
    expect(run?.verdict).toBe('aborted');
    expect(await nothingLeft('slow-hold')).toEqual(NOTHING);
  });

  it('a crashed run (kill -9) leaves its services; the next --cleanup removes them, their containers and network', async () => {
    const cli = startOnLab(
      ['test/fixtures/slow-hold.yml', '--engine', 'swarm', '--keep'],
      await mkdtemp(path.join(os.tmpdir(), 'portlab-results-')),
    );
    await eventually(async () => ((await leftovers('slow-hold')).containers.length === 3 ? true : undefined), 60_000, 'the run to start');
    cli.kill('SIGKILL');
    await cli;
    // The server and the one client group (two replicas).
    expect((await leftovers('slow-hold')).services).toHaveLength(2);
    const cleanup = await onLab(['--cleanup']);
    expect(cleanup.exitCode).toBe(0);
    expect(cleanup.stdout).toMatch(/^removed [0-9a-f]{6} \(2 services, .*1 network\): their portlab process is gone$/m);
    expect(await nothingLeft('slow-hold')).toEqual(NOTHING);
  });

  it('a node without the probe image: preflight stops with what to do, naming every such node, and leaves nothing', async () => {
    const engine = new DockerEngine(labEngine(1));
    const naming = {
      prefix: `portlab-image-check-${process.pid}`,
      labels: { 'io.portlab.managed': 'true', 'io.portlab.run-id': 'imgchk' },
    };
    const error = await swarmFacts(engine, 'portlab.invalid/probe:nosuchimage0', 0, naming).catch((thrown: unknown) => thrown);
    expect(error).toBeInstanceOf(SwarmNotReadyError);
    const message = (error as Error).message;
    expect(message).toMatch(
      /^the probe image portlab\.invalid\/probe:nosuchimage0 is not on nodes tlab-\d, tlab-\d, tlab-\d: load it there \(`docker save portlab\.invalid\/probe:nosuchimage0 \| ssh <node> docker load`\) or pass --push <registry>/,
    );
    for (const node of nodes()) expect(message).toContain(`${LAB_NAME}-${node}`);
    expect(await labEngine(1).listServices({ filters: { label: ['io.portlab.run-id=imgchk'] } })).toEqual([]);
  });

  for (const [fixture, clientName, what] of [
    ['lab-lost-node', 'client', 'probes'],
    ['lab-lost-node-app', 'wrk', 'your own images (nginx and wrk under their observers)'],
  ] as const) {
    it(`a node lost mid-run (${what}): the run ends naming it, keeps what it measured (error there, nothing passes), leaves nothing elsewhere; --cleanup once it is back`, async () => {
      const resultsDir = await mkdtemp(path.join(os.tmpdir(), 'portlab-results-'));
      if (fixture === 'lab-lost-node-app') await appImagesOnLab();
      const cli = startOnLab([`test/fixtures/${fixture}.yml`, '--engine', 'swarm'], resultsDir);
      // Both clients churning (one on lab-2, one on lab-3), then lab-3's engine and containers killed.
      await eventually(async () => ((await leftovers(fixture)).containers.length === 3 ? true : undefined), 60_000, 'the run to start');
      await sleep(5_000);
      await labStop(3);
      const ended = await cli;
      expect(ended.exitCode).toBe(3);
      const [run] = await readResults(resultsDir);
      const lost = (await labNodes()).get(3)!;
      expect(run?.run.failure).toMatch(
        new RegExp(
          `^container ${clientName}-\\d exited while the run was going on \\(its node ${LAB_NAME}-3 \\(${lost.id.slice(0, 12)}\\) is down`,
        ),
      );
      const onLost = run?.clients.find((client) => run.environment.containers[client.name]?.nodeId === lost.id);
      expect(onLost?.verdict).toBe('error');
      expect(onLost?.observed).toBeGreaterThan(0);
      expect([...(run?.clients ?? []), run?.server].every((container) => container?.verdict !== 'pass')).toBe(true);
      // Nothing of it on the nodes that stayed; lab-3's containers died with it.
      const stayed = async () => {
        const left = await leftovers(fixture);
        return left.services.length === 0 && left.containers.every((name) => name.startsWith('lab-3/')) ? true : undefined;
      };
      expect(await eventually(stayed, 30_000, 'the other nodes to be clean')).toBe(true);
      await labStart(3);
      const cleanup = await onLab(['--cleanup']);
      expect(cleanup.exitCode).toBe(0);
      expect(await nothingLeft(fixture)).toEqual(NOTHING);
    });
  }

  it('an engine that is not part of a swarm: one line saying how to make one, exit 3, nothing created', async () => {
    // The lab is the suite's own: its third node leaves its swarm for this.
    await execa('docker', ['swarm', 'leave', '--force'], { env: { DOCKER_HOST: `unix://${labSocket(3)}` } });
    const result = await onLab(['extra-listen-ports', '--engine', 'swarm'], { DOCKER_HOST: `unix://${labSocket(3)}` });
    expect(result.exitCode).toBe(3);
    expect(
      result.stderr
        .trim()
        .split('\n')
        .filter((line) => line.startsWith('portlab:')),
    ).toEqual([
      `portlab: the Docker engine at unix://${labSocket(3)} is not part of a swarm: \`docker swarm init --advertise-addr <this host's address>\` makes it one (see docs/machines.md)`,
    ]);
    // Refused before anything was pushed for it.
    expect(result.stderr).not.toContain('pushing');
    expect(await readResults(result.resultsDir)).toEqual([]);
  });

  it("the user's own engine: its swarm state is as it was before the swarm tests", async () => {
    expect(swarmStateOf(await docker.info())).toEqual(userSwarm);
  });

  it('npm run lab -- down leaves nothing of the lab: no namespace, link, rule, mount, process or directory; twice is safe', async () => {
    await labDown();
    await labDown();
    const shell = async (command: string) => (await execa('bash', ['-c', command])).stdout;
    expect(await shell(`ip netns list | grep p${LAB_NAME}- || true`)).toBe('');
    expect(await shell(`ip -o link | grep p${LAB_NAME} || true`)).toBe('');
    expect(await shell(`iptables -S | grep portlab-${LAB_NAME} || true`)).toBe('');
    expect(await shell(`grep portlab-${LAB_NAME} /proc/mounts || true`)).toBe('');
    expect(await shell(`pgrep -af "portlab-${LAB_NAME}" | grep -v pgrep || true`)).toBe('');
    expect(await shell(`ls -d /run/portlab-${LAB_NAME} /var/lib/portlab-${LAB_NAME} 2>/dev/null || true`)).toBe('');
  });
});
