import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from '../cli/run-cli.ts';
import { containersLabelled, readResults } from './docker-helpers.ts';

/** The shipped scenarios, run as a user runs them, judged by what the kernel really did. */
describe('shipped scenarios on the real engine', () => {
  it('default-range: each client stops at 28,231 (28,232 default ports - the DNS listener) with EADDRNOTAVAIL', async () => {
    const result = await runCli(['default-range']);
    expect(result.exitCode).toBe(0);
    expect(result.stdout).toMatch(/^default-range: PASS/m);
    const [run] = await readResults(result.resultsDir);
    for (const client of run?.clients ?? []) {
      expect(client).toMatchObject({ observed: 28231, predicted: { min: 28231, max: 28231 }, observedError: 'EADDRNOTAVAIL', verdict: 'pass' });
      const environment = run?.environment.containers[client.name];
      expect(environment?.sysctlsApplied['net.ipv4.ip_local_port_range']).toBe('32768 60999');
      // The DNS listener's port was bound before the probe started, inside the default range.
      expect(environment?.boundPorts.filter((port) => port >= 32768 && port <= 60999)).toHaveLength(1);
    }
    expect(run?.server.observed).toBe(56462);
    expect(run?.clients).toHaveLength(2);
    expect(run?.verdict).toBe('pass');
    const compose = await readFile(path.join(result.resultsDir, run?.composeFile ?? ''), 'utf8');
    expect(compose).toContain('io.portlab.scenario: default-range');
    expect(await containersLabelled(`io.portlab.run-id=${run?.run.id}`)).toEqual([]);
  });

  it('wide-range: "1024 65535" gives each client 64,511 connections to one server port', async () => {
    const result = await runCli(['wide-range']);
    expect(result.exitCode).toBe(0);
    const [run] = await readResults(result.resultsDir);
    for (const client of run?.clients ?? []) {
      expect(client).toMatchObject({ observed: 64511, observedError: 'EADDRNOTAVAIL', verdict: 'pass' });
      expect(run?.environment.containers[client.name]?.sysctlsApplied['net.ipv4.ip_local_port_range']).toBe('1024 65535');
    }
    // One listening port holds far more than 65,535 connections: the 4-tuple names a connection.
    expect(run?.server.observed).toBe(129022);
    expect(run?.verdict).toBe('pass');
  });
});
