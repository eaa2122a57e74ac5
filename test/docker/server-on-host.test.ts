import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { runCli } from '../cli/run-cli.ts';
import { containersLabelled, readResults } from './docker-helpers.ts';

/**
 * A server in the host's network namespace (server.network: host), reached from the run's network at the host's
 * address on the bridge (the probe's @gateway): on Docker the client's own sockets make the connections, so its own
 * range binds, as with a server beside it. Small: 1,000 ports.
 */
describe('a server on the host network, on Docker', () => {
  it("the client's own range binds: 1,000 ports, 1,000 connections to the host's address, EADDRNOTAVAIL", async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'portlab-host-server-'));
    const file = path.join(dir, 'host-server-small.yml');
    await writeFile(
      file,
      [
        'server:',
        '  network: host',
        '  ports: [29117]',
        '  ulimits: { nofile: 5000 }',
        'clients:',
        '  ulimits: { nofile: 5000 }',
        '  sysctls:',
        '    net.ipv4.ip_local_port_range: "61000 61999"',
        '',
      ].join('\n'),
    );
    const result = await runCli([file]);
    expect(result.exitCode, `${result.stdout}\n${result.stderr}`).toBe(0);
    const [run] = await readResults(result.resultsDir);
    expect(run?.clients.map((client) => [client.name, client.observed, client.limit, client.observedError, client.verdict])).toEqual([
      ['client-1', 1000, 'port-range', 'EADDRNOTAVAIL', 'pass'],
    ]);
    expect(run?.server).toMatchObject({ observed: 1000, verdict: 'pass' });
    // The saved file puts the server in the host's namespace and sends the client to the gateway.
    const compose = parse(await readFile(path.join(result.resultsDir, run!.composeFile), 'utf8'));
    expect(compose.services.server.network_mode).toBe('host');
    expect(compose.services.server.networks).toBeUndefined();
    expect(compose.services['client-1'].command.slice(0, 3)).toEqual(['client', '--server', '@gateway']);
    expect(await containersLabelled(`io.portlab.run-id=${run?.run.id}`)).toEqual([]);
  });
});
