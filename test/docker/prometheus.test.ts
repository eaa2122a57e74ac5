import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { execa, type ResultPromise } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../../orchestrator/common/project-root.ts';
import { backendFor } from '../../orchestrator/cli/backends.ts';
import { DockerEngine } from '../../orchestrator/engine/docker/engine.ts';
import { PORTLAB_COMMAND, runPortlab } from '../cli/run-cli.ts';
import { eventually, probeDone, runOnNetwork } from './docker-helpers.ts';

/**
 * `portlab inspect --serve` scraped by a real Prometheus: Debian's prometheus package unpacked into portlab's cache
 * (scripts/unpack-debian.sh; nothing installed), started by the test on a loopback port, scraping every second while
 * a client fills its 200 ports (a paced churn, closing first with tcp_tw_reuse 0: 20 new TIME-WAITs a second); then
 * a PromQL query over what it stored agrees with `portlab inspect --json`, and the rules shipped for it pass promtool.
 * Where the package cannot be had (no apt), the tests say so and are skipped; nothing is left running either way.
 */
const tag = randomBytes(3).toString('hex');
const names = { network: `prom-net-${tag}`, server: `prom-server-${tag}`, client: `prom-client-${tag}` };
const RULES = path.join(PROJECT_ROOT, 'docs', 'prometheus');
let bin: string | null = null;
let unavailable = '';
let work = '';
let serve: ResultPromise | null = null;
let prometheus: ResultPromise | null = null;
let prometheusAddress = '';
/** The probe image, built in beforeAll (its tag is the sources' hash). */
let probeImage = '';

/** A loopback port nothing listens on now. */
const freePort = () =>
  new Promise<number>((resolve, reject) => {
    const server = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
    server.on('error', reject);
  });

/** An instant PromQL query's vector: [labels, value] per series. */
async function query(promql: string): Promise<Array<[Record<string, string>, number]>> {
  const response = await fetch(`http://${prometheusAddress}/api/v1/query?query=${encodeURIComponent(promql)}`);
  const body = (await response.json()) as {
    status: string;
    data: { result: Array<{ metric: Record<string, string>; value: [number, string] }> };
  };
  expect(body.status).toBe('success');
  return body.data.result.map((sample) => [sample.metric, Number(sample.value[1])]);
}

/** The one series a query gives. */
async function one(promql: string): Promise<{ labels: Record<string, string>; value: number }> {
  const result = await query(promql);
  expect(result, promql).toHaveLength(1);
  return { labels: result[0]![0], value: result[0]![1] };
}

beforeAll(async () => {
  try {
    const root = (await execa('bash', [path.join(PROJECT_ROOT, 'scripts', 'unpack-debian.sh'), 'prometheus'])).stdout.trim();
    bin = path.join(root, 'usr', 'bin');
  } catch (error) {
    unavailable = `Debian's prometheus package could not be had: ${(error as { stderr?: string }).stderr ?? (error as Error).message}`;
    return;
  }
  work = await mkdtemp(path.join(os.tmpdir(), 'portlab-prometheus-'));
  probeImage = await backendFor('local', new DockerEngine()).buildProbe(new AbortController().signal, () => undefined);
  await execa('docker', ['network', 'create', names.network]);
  await runOnNetwork(names.server, names.network, probeImage, 'server', '--ports', '5000', '--close', 'on-eof', '--fd-budget', '1000');
  const servePort = await freePort();
  serve = execa(PORTLAB_COMMAND[0], [...PORTLAB_COMMAND[1], 'inspect', names.client, '--serve', `127.0.0.1:${servePort}`], {
    reject: false,
    env: { INIT_CWD: '' },
  });
  const config = path.join(work, 'prometheus.yml');
  await writeFile(
    config,
    `global: { scrape_interval: 1s, scrape_timeout: 1s }\nscrape_configs:\n  - job_name: portlab\n    static_configs: [{ targets: ['127.0.0.1:${servePort}'] }]\n`,
  );
  prometheusAddress = `127.0.0.1:${await freePort()}`;
  prometheus = execa(
    path.join(bin, 'prometheus'),
    [`--config.file=${config}`, `--storage.tsdb.path=${path.join(work, 'data')}`, `--web.listen-address=${prometheusAddress}`],
    { reject: false, all: true },
  );
  await eventually(
    async () => ((await fetch(`http://${prometheusAddress}/-/ready`).catch(() => null))?.ok ? true : undefined),
    60_000,
    'Prometheus ready',
  );
}, 10 * 60_000);

afterAll(async () => {
  for (const child of [serve, prometheus]) child?.kill('SIGTERM');
  const ended = await Promise.all([serve, prometheus].map((child) => child?.then((result) => result.exitCode)));
  await execa('docker', ['rm', '-f', names.server, names.client], { reject: false });
  await execa('docker', ['network', 'rm', names.network], { reject: false });
  if (work) await rm(work, { recursive: true, force: true });
  // Both ended on SIGTERM: the exporter as it promises (exit 0), Prometheus by its own shutdown.
  if (serve) expect(ended[0]).toBe(0);
});

describe('portlab inspect --serve, scraped by Prometheus', () => {
  it('while a client fills its ports: Prometheus stores the fill, and its query agrees with portlab inspect --json', async (context) => {
    if (!bin) return context.skip(unavailable);
    await runOnNetwork(
      ...[names.client, names.network, '--sysctl', 'net.ipv4.ip_local_port_range=61000 61199', '--sysctl', 'net.ipv4.tcp_tw_reuse=0'],
      ...[probeImage, 'client', '--server', names.server, '--ports', '5000', '--mode', 'churn', '--close', 'client'],
      ...['--rate', '20', '--duration-ms', '600000', '--fd-budget', '200'],
    );
    const done = JSON.parse(await probeDone(names.client, 'the client filling its 200 ports', 120_000));
    expect(done).toMatchObject({ errno: 'EADDRNOTAVAIL' });
    // Two more scrapes after the fill; the TIME-WAITs hold every port for 60 s from the first one's close.
    await new Promise((resolve) => setTimeout(resolve, 2500));
    const json = JSON.parse((await runPortlab(['inspect', names.client, '--json'])).stdout);
    const destination = json.headroom.destinations.find((entry: { port: number }) => entry.port === 5000);
    const selector = `{job="portlab",port="5000"}`;
    expect(await query(`portlab_destination_ports_available${selector}`)).toEqual([[expect.anything(), destination.portsFree]]);
    expect(await query(`portlab_destination_ports_in_use${selector}`)).toEqual([[expect.anything(), destination.portsUsed]]);
    expect(destination).toMatchObject({ portsUsed: 200, portsFree: 0, left: 0, limit: 'port-range' });
    // It watched the fill itself: scrapes with ports still available, 20 a second fewer.
    expect((await one(`max_over_time(portlab_destination_ports_available${selector}[2m])`)).value).toBeGreaterThan(0);
    expect((await one(`count_over_time(portlab_destination_ports_available${selector}[2m])`)).value).toBeGreaterThanOrEqual(5);
    expect((await one(`portlab_destination_limit_info${selector}`)).labels).toMatchObject({ limit: 'port-range', target: names.client });
  });

  it("the exposition passes promtool's lint, and the shipped alerting rules pass promtool's check and their unit tests", async (context) => {
    if (!bin) return context.skip(unavailable);
    const { labels } = await one('up{job="portlab"}');
    const scraped = await fetch(`http://${labels.instance}/metrics`);
    expect(scraped.status).toBe(200);
    const lint = await execa(path.join(bin, 'promtool'), ['check', 'metrics'], { input: await scraped.text(), reject: false });
    expect([lint.exitCode, lint.stdout, lint.stderr]).toEqual([0, '', '']);
    const check = await execa(path.join(bin, 'promtool'), ['check', 'rules', 'portlab-rules.yml'], { cwd: RULES, reject: false });
    expect(check.exitCode, check.stdout + check.stderr).toBe(0);
    const unit = await execa(path.join(bin, 'promtool'), ['test', 'rules', 'portlab-rules.test.yml'], { cwd: RULES, reject: false });
    expect(unit.exitCode, unit.stdout + unit.stderr).toBe(0);
  });

  it('an address --serve cannot listen on: one line, exit 2, nothing left running', async () => {
    const taken = net.createServer().listen(0, '127.0.0.1');
    await new Promise((resolve) => taken.once('listening', resolve));
    const { port } = taken.address() as net.AddressInfo;
    const result = await runPortlab(['inspect', '--host', '--serve', `127.0.0.1:${port}`]);
    taken.close();
    expect([result.exitCode, result.stderr.trim()]).toEqual([
      2,
      `portlab: --serve cannot listen on 127.0.0.1:${port}: the address is in use`,
    ]);
    const bad = await runPortlab(['inspect', '--host', '--serve', 'localhost']);
    expect(bad.exitCode).toBe(2);
    expect(bad.stderr.split('\n')[0]).toBe(
      'portlab: --serve takes HOST:PORT, [IPV6]:PORT or :PORT (a port from 1 to 65535), found "localhost"',
    );
  });
});
