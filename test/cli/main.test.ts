import { readFile, readdir } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from './run-cli.ts';

/**
 * An engine on another machine: a dry run then predicts from the documented defaults, not from what this host's
 * conntrack table holds at the moment (other tests fill it), so the plan's numbers are the scenario's own.
 */
const ELSEWHERE = { env: { DOCKER_HOST: 'tcp://192.0.2.1:2375' } };

describe('portlab CLI', () => {
  it('--dry-run prints the plan, writes the compose file, exits 0', async () => {
    const result = await runCli(['default-range', '--dry-run'], ELSEWHERE);
    expect(result.exitCode).toBe(0);
    expect(result.stdout).toMatch(/^client-1\s+28,231\s+port-range\s+EADDRNOTAVAIL/m);
    expect(result.stdout).toMatch(/^client-2\s+28,231\s+port-range\s+EADDRNOTAVAIL/m);
    expect(result.stdout).toMatch(/^server\s+56,462\s/m);
    const files = await readdir(result.resultsDir);
    expect(files).toEqual(['default-range-dry-run.compose.yml']);
    expect(result.stdout).toContain(`compose file: ${path.relative(process.cwd(), path.join(result.resultsDir, files[0]!))}`);
    expect(await readFile(path.join(result.resultsDir, files[0]!), 'utf8')).toContain('io.portlab.scenario: default-range');
  });

  it('every scenario named is checked before the first runs: a bad second file is one line, exit 2, and nothing ran', async () => {
    const result = await runCli(['extra-listen-ports', 'test/fixtures/bad/huge-rate.yml']);
    expect(result.exitCode).toBe(2);
    expect(result.stderr.trim().split('\n')).toEqual([
      expect.stringMatching(/^test\/fixtures\/bad\/huge-rate\.yml:\d+:\d+ clients\.rate: /),
    ]);
    expect(result.stdout).toBe('');
    expect(await readdir(result.resultsDir)).toEqual([]);
  });

  it('--dry-run --json prints the plans as JSON only', async () => {
    const result = await runCli(['default-range', 'wide-range', '--dry-run', '--json'], ELSEWHERE);
    expect(result.exitCode).toBe(0);
    const { plans } = JSON.parse(result.stdout);
    expect(plans.map((plan: { scenario: { name: string } }) => plan.scenario.name)).toEqual(['default-range', 'wide-range']);
    expect(plans[1].prediction.clients[0].connections).toEqual({ min: 64511, max: 64511 });
    expect(plans[1].prediction.limit).toBe('port-range');
  });

  it('a dry run with --engine swarm of the million-connection plan names the limit that binds on each node', async () => {
    const result = await runCli(['scenarios/swarm/million-connections.yml', '--dry-run', '--engine', 'swarm']);
    expect(result.exitCode).toBe(0);
    const table = result.stdout.slice(result.stdout.indexOf('per swarm node'));
    expect(table).toMatch(/server node\s+1\s+1\s+262,080-262,144\s+conntrack/);
    expect(table).toMatch(/client nodes \(group client\)\s+16\s+4\s+1,032,176\s+port-range/);
    expect(table).toContain('17 nodes in all');
    expect(result.stdout).toMatch(/stack file \(docker stack deploy -c\): .*million-connections-dry-run\.stack\.compose\.yml/);
    const json = JSON.parse((await runCli(['scenarios/swarm/million-connections.yml', '--dry-run', '--engine', 'swarm', '--json'])).stdout);
    expect(json.plans[0].nodes.map((node: { limit: string }) => node.limit)).toEqual(['conntrack', 'port-range']);
  });

  it('a scenario a swarm cannot run (extra source addresses on an overlay network): one line, exit 2, before anything', async () => {
    const result = await runCli(['source-ips', '--engine', 'swarm', '--dry-run']);
    expect(result.exitCode).toBe(2);
    expect(result.stderr.trim()).toBe(
      "portlab: source-ips: client group two-addresses connects from 2 source addresses, which a swarm's overlay network does not route (it answers only each task's own address); run it on the local engine",
    );
  });

  it("a server on the host's network on a swarm: one line, exit 2, before anything", async () => {
    const result = await runCli(['server-on-host', '--engine', 'swarm', '--dry-run']);
    expect(result.exitCode).toBe(2);
    expect(result.stderr.trim()).toBe(
      "portlab: server-on-host: server.network: host puts the server on one engine's host, which a swarm's services do not choose; run it on the local engine",
    );
  });

  it('a bad scenario file exits 2 with file:line:col messages and no stack trace', async () => {
    const result = await runCli(['test/fixtures/bad-range.yml', '--dry-run']);
    expect(result.exitCode).toBe(2);
    expect(result.stderr.trim()).toBe(
      'test/fixtures/bad-range.yml:6:35 clients.sysctls.net.ipv4.ip_local_port_range: low (70000) must be from 1 to 65535',
    );
    expect(result.stdout).toBe('');
  });

  it('a missing scenario exits 2 and lists the shipped ones', async () => {
    const result = await runCli(['nope', '--dry-run']);
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toMatch(/^scenarios\/nope\.yml no such file; shipped scenarios: .*default-range/);
  });

  it.each([
    [['--dry-run'], /name at least one scenario/],
    [['default-range', '--bogus'], /Unknown option '--bogus'/],
    [['--cleanup', 'abc123', 'def456'], /--cleanup takes one run id, or --all/],
    [['--cleanup', '--all', 'abc123'], /--cleanup takes one run id, or --all/],
    [['--cleanup', 'Run 1'], /--cleanup takes a run id such as 3f9a1c/],
    [['default-range', '--all'], /--all and --yes go with --cleanup/],
    [['default-range', '--engine', 'kubernetes'], /--engine takes local, swarm or podman, found "kubernetes"/],
    [['default-range', '--push', 'registry.example.com:5000'], /--push goes with --engine swarm/],
    [
      ['default-range', '--engine', 'swarm', '--push', 'http://x'],
      /--push takes a registry such as registry.example.com:5000 or host\/path, found "http:\/\/x"/,
    ],
  ])('usage errors exit 2: %j', async (args, message) => {
    const result = await runCli(args);
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toMatch(message);
    expect(result.stderr).toContain('usage: npm run scenario');
  });

  it('a run against an engine that is not there says so in one line and exits 3', async () => {
    const result = await runCli(['default-range'], { env: { DOCKER_HOST: 'unix:///nonexistent/docker.sock' } });
    expect(result.exitCode).toBe(3);
    expect(result.stderr.trim().split('\n')).toHaveLength(1);
    expect(result.stderr).toMatch(
      /^portlab: cannot reach the Docker engine at unix:\/\/\/nonexistent\/docker.sock \(is dockerd running\?\): connect ENOENT/,
    );
  });

  it('--help exits 0 and documents the exit codes', async () => {
    const result = await runCli(['--help']);
    expect(result.exitCode).toBe(0);
    expect(result.stdout).toContain(
      'exit codes: 0 every judged verdict passed (an application without expect: is measured, not judged), 1 a verdict\nfailed or a run was cut short, 2 bad input, 3 engine unavailable or run error, 130 interrupted (Ctrl-C)',
    );
  });
});
