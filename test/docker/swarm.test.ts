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
import { startMiniRegistry } from './mini-registry.ts';
import { containersLabelled, docker, eventually, readResults, sleep } from './docker-helpers.ts';

/** Every service, container and network of a scenario's runs: what must be gone after each run. */
/**
 * What swarm runs (of one scenario, if named) left on the engine: services, stack containers, overlay networks. The
 * other engine test files run beside this one on the local engine, whose runs have none of these; the swarm tests
 * themselves run one after another.
 */
async function leftovers(scenario?: string) {
  const labels = ['io.portlab.managed=true', ...(scenario ? [`io.portlab.scenario=${scenario}`] : [])];
  // Services exist only on a swarm (listing them elsewhere is an error).
  const swarm = ((await docker.info()) as { Swarm?: { LocalNodeState?: string } }).Swarm?.LocalNodeState === 'active';
  const [services, containers, networks] = await Promise.all([
    swarm ? docker.listServices({ filters: { label: labels } }) : Promise.resolve([]),
    docker.listContainers({ all: true, filters: { label: [...labels, 'com.docker.stack.namespace'] } }),
    docker.listNetworks({ filters: { label: ['io.portlab.managed=true'], driver: ['overlay'] } }),
  ]);
  return {
    services: services.map((service) => service.Spec?.Name),
    containers: containers.map((container) => container.Names[0] ?? container.Id),
    networks: networks.map((network) => network.Name),
  };
}
const NOTHING = { services: [], containers: [], networks: [] };

/** A stack deployed by hand (docker stack deploy): its services, by the namespace label the CLI puts on them. */
const stackServices = async (namespace: string) =>
  (await docker.listServices({ filters: { label: [`com.docker.stack.namespace=${namespace}`] } })).map(
    (service) => service.Spec?.Name ?? '',
  );

describe('on a Docker Swarm', () => {
  /**
   * A single-node swarm on this machine's engine, initialised for these tests and left when they are done (a swarm
   * that was there before is kept as it was).
   */
  let initialisedHere = false;
  beforeAll(async () => {
    const info = (await docker.info()) as { Swarm?: { LocalNodeState?: string } };
    if (info.Swarm?.LocalNodeState !== 'active') {
      await execa('docker', ['swarm', 'init', '--advertise-addr', '127.0.0.1']);
      initialisedHere = true;
    }
  });
  afterAll(async () => {
    if (initialisedHere) await execa('docker', ['swarm', 'leave', '--force']);
  });

  describe('--engine swarm on a single-node swarm', () => {
    it("default-range: 28,231 per client as on the local engine, each container's node recorded, nothing left", async () => {
      const result = await runCli(['default-range', '--engine', 'swarm']);
      expect(result.stderr).toContain('deploying stack portlab-default-range-');
      expect(result.exitCode).toBe(0);
      const [run] = await readResults(result.resultsDir);
      expect(run?.run.engine).toBe('swarm');
      expect(run?.verdict).toBe('pass');
      expect(run?.clients.map((client) => [client.name, client.observed, client.observedError])).toEqual([
        ['client-1', 28231, 'EADDRNOTAVAIL'],
        ['client-2', 28231, 'EADDRNOTAVAIL'],
      ]);
      expect(run?.server.observed).toBe(56462);
      expect(run?.run.cleanupErrors).toEqual([]);
      const hostname = (await docker.info()).Name as string;
      expect(Object.values(run?.environment.containers ?? {}).map((container) => container.node)).toEqual([hostname, hostname, hostname]);
      expect(run?.environment.nodes?.map((node) => node.hostname)).toEqual([hostname]);
      // The services resolve by dnsrr, so each client reached the server's own address, not an IPVS one.
      expect(run?.prediction.measured.reasoning.join(' ')).toContain("free in the server's own namespace");
      expect(await leftovers('default-range')).toEqual(NOTHING);
    });

    it('time-wait-exhaustion: the TIME_WAIT limit as on the local engine', async () => {
      const result = await runCli(['time-wait-exhaustion', '--engine', 'swarm']);
      expect(result.exitCode).toBe(0);
      const [run] = await readResults(result.resultsDir);
      expect(run?.clients[0]).toMatchObject({ observedError: 'EADDRNOTAVAIL', limit: 'time-wait', verdict: 'pass' });
      // Its ports, plus at most the TIME_WAITs RSTs killed; the TIME_WAITs on the client, one per 4-tuple at most
      // (docs/model.md, "TIME_WAIT").
      expect(run?.clients[0]?.observed).toBeGreaterThanOrEqual(run?.clients[0]?.predicted.min ?? Number.NaN);
      expect(run?.clients[0]?.timeWait).toBeGreaterThan(0);
      expect(run?.clients[0]?.timeWait).toBeLessThanOrEqual(1000);
      expect(await leftovers('time-wait-exhaustion')).toEqual(NOTHING);
    });

    it("the compose file a swarm run saved deploys by hand with docker stack deploy, and its probes count what portlab's did", async () => {
      const run = await runCli(['extra-listen-ports', '--engine', 'swarm']);
      expect(run.exitCode).toBe(0);
      // The saved file has what this engine grants (nofile 20,000 here, not the 100,000 asked for), as a run deploys it.
      const [saved] = await readResults(run.resultsDir);
      const file = path.join(run.resultsDir, saved!.composeFile);
      const namespace = `portlab-by-hand-${process.pid}`;
      await execa('docker', ['stack', 'deploy', '-c', file, namespace]);
      try {
        expect((await stackServices(namespace)).sort()).toEqual([`${namespace}_one-port`, `${namespace}_server`, `${namespace}_two-ports`]);
        const done = async (service: string) => {
          const { stdout } = await execa('docker', ['service', 'logs', '--raw', `${namespace}_${service}`]);
          return stdout.split('\n').find((line) => line.includes('"event":"done"'));
        };
        const twoPorts = await eventually(() => done('two-ports'), 60_000, 'the two-ports client to finish');
        const onePort = await eventually(() => done('one-port'), 60_000, 'the one-port client to finish');
        expect(JSON.parse(twoPorts)).toMatchObject({ count: 2000, errno: 'EADDRNOTAVAIL' });
        expect(JSON.parse(onePort)).toMatchObject({ count: 1000, errno: 'EADDRNOTAVAIL' });
      } finally {
        await execa('docker', ['stack', 'rm', namespace]);
      }
      await eventually(
        async () =>
          (await stackServices(namespace)).length === 0 &&
          (await containersLabelled(`com.docker.stack.namespace=${namespace}`)).length === 0
            ? true
            : undefined,
        60_000,
        'the stack to go',
      );
    });

    it('a sweep on the swarm: every point deployed as a stack, judged, and removed', async () => {
      const resultsDir = await mkdtemp(path.join(os.tmpdir(), 'portlab-results-'));
      const result = await execa(SWEEP_COMMAND[0], [...SWEEP_COMMAND[1], 'listen-ports', '--engine', 'swarm', '--json'], {
        reject: false,
        cwd: PROJECT_ROOT,
        env: { PORTLAB_RESULTS_DIR: resultsDir, INIT_CWD: '' },
      });
      expect(result.exitCode).toBe(0);
      const summary = JSON.parse(String(result.stdout)) as { points: Array<{ verdict: string; total: { observed: number } }> };
      expect(summary.points.map((point) => [point.verdict, point.total.observed])).toEqual([
        ['pass', 500],
        ['pass', 1000],
        ['pass', 1500],
        ['pass', 2000],
      ]);
      expect(await leftovers()).toEqual(NOTHING);
    });

    it('Ctrl-C during a swarm run: the result is aborted, exit 130, no service, container or network left', async () => {
      const resultsDir = await mkdtemp(path.join(os.tmpdir(), 'portlab-results-'));
      const cli = execa(CLI_COMMAND[0], [...CLI_COMMAND[1], 'test/fixtures/slow-hold.yml', '--engine', 'swarm'], {
        reject: false,
        cwd: PROJECT_ROOT,
        env: { PORTLAB_RESULTS_DIR: resultsDir, INIT_CWD: '' },
      });
      await eventually(async () => ((await leftovers('slow-hold')).containers.length === 3 ? true : undefined), 60_000, 'the run to start');
      // docker stack recognises the run by its namespace label.
      const [service] = await docker.listServices({ filters: { label: ['io.portlab.scenario=slow-hold'] } });
      const namespace = service?.Spec?.Labels?.['com.docker.stack.namespace'] ?? '';
      const { stdout } = await execa('docker', ['stack', 'services', namespace, '--format', '{{.Name}} {{.Mode}}']);
      expect(stdout.split('\n').sort()).toEqual([`${namespace}_client replicated`, `${namespace}_server replicated`]);
      await sleep(500);
      cli.kill('SIGINT');
      const ended = await cli;
      expect(ended.exitCode).toBe(130);
      const [run] = await readResults(resultsDir);
      expect(run?.verdict).toBe('aborted');
      expect(await leftovers('slow-hold')).toEqual(NOTHING);
    });

    it('a crashed run (kill -9) leaves its services; the next --cleanup removes them, their containers and network', async () => {
      // Kept (--keep), so that the start-up cleanup of a run in another test file cannot take them first: --cleanup
      // removes kept runs whose process is gone too, by the same labels.
      const cli = execa(CLI_COMMAND[0], [...CLI_COMMAND[1], 'test/fixtures/slow-hold.yml', '--engine', 'swarm', '--keep'], {
        reject: false,
        cwd: PROJECT_ROOT,
        env: { PORTLAB_RESULTS_DIR: await mkdtemp(path.join(os.tmpdir(), 'portlab-results-')), INIT_CWD: '' },
      });
      await eventually(async () => ((await leftovers('slow-hold')).containers.length === 3 ? true : undefined), 60_000, 'the run to start');
      cli.kill('SIGKILL');
      await cli;
      // The server and the one client group (two replicas).
      expect((await leftovers('slow-hold')).services).toHaveLength(2);
      const cleanup = await runCli(['--cleanup']);
      expect(cleanup.exitCode).toBe(0);
      expect(cleanup.stdout).toMatch(/^removed [0-9a-f]{6} \(2 services, 3 containers, 1 network\): their portlab process is gone$/m);
      expect(await leftovers('slow-hold')).toEqual(NOTHING);
    });

    it('--push <registry>: the probe image is pushed there and the services run the pushed reference', async () => {
      const registry = await startMiniRegistry();
      try {
        const result = await runCli(['extra-listen-ports', '--engine', 'swarm', '--push', registry.address]);
        expect(result.exitCode).toBe(0);
        const [run] = await readResults(result.resultsDir);
        const stackFile = await readFile(path.join(result.resultsDir, run!.composeFile), 'utf8');
        const image = /image: (\S+)/.exec(stackFile)?.[1] ?? '';
        expect(image.startsWith(`${registry.address}/portlab-probe:`)).toBe(true);
        expect(registry.pushed).toEqual([`portlab-probe:${image.split(':').at(-1)}`]);
        expect(run?.verdict).toBe('pass');
        await docker.getImage(image).remove();
      } finally {
        await registry.close();
      }
    });

    it('a node without the probe image: preflight stops with what to do, naming the node, and leaves nothing', async () => {
      const engine = new DockerEngine();
      const naming = {
        prefix: `portlab-image-check-${process.pid}`,
        labels: { 'io.portlab.managed': 'true', 'io.portlab.run-id': 'imgchk' },
      };
      const error = await swarmFacts(engine, 'portlab-probe:nosuchimage0', 0, naming).catch((thrown: unknown) => thrown);
      expect(error).toBeInstanceOf(SwarmNotReadyError);
      const hostname = (await docker.info()).Name as string;
      expect((error as Error).message).toBe(
        `the probe image portlab-probe:nosuchimage0 is not on node ${hostname}: load it there (\`docker save portlab-probe:nosuchimage0 | ssh <node> docker load\`) or pass --push <registry> to push it where every node can pull it`,
      );
      expect(await docker.listServices({ filters: { label: ['io.portlab.run-id=imgchk'] } })).toEqual([]);
      expect(await containersLabelled('io.portlab.run-id=imgchk')).toEqual([]);
    });
  });

  describe('--engine swarm without a swarm', () => {
    it('one line saying how to make one, exit 3, nothing created', async () => {
      await execa('docker', ['swarm', 'leave', '--force']);
      try {
        const result = await runCli(['extra-listen-ports', '--engine', 'swarm']);
        expect(result.exitCode).toBe(3);
        expect(result.stderr.trim().split('\n')).toEqual([
          'portlab: the Docker engine at /var/run/docker.sock is not part of a swarm: `docker swarm init --advertise-addr <this host\'s address>` makes it one (see the README, "More than one machine")',
        ]);
        expect(await leftovers('extra-listen-ports')).toEqual(NOTHING);
        // The result directory holds the compose file written before anything was asked of the engine, and no result.
        expect(await readResults(result.resultsDir)).toEqual([]);
      } finally {
        // A swarm that was here before these tests is made again (a new one); one they made is gone, as afterAll wants.
        if (initialisedHere) initialisedHere = false;
        else await execa('docker', ['swarm', 'init', '--advertise-addr', '127.0.0.1']);
      }
    });
  });
});
