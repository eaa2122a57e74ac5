import { describe, expect, it } from 'vitest';
import { ASSUMED_ENVIRONMENT, type Environment } from '../../orchestrator/predict/environment.ts';
import { predict } from '../../orchestrator/predict/predict.ts';
import { loadScenario, parseScenario } from '../../orchestrator/scenario/load-scenario.ts';
import { PODMAN_ASSUMED } from '../../orchestrator/engine/podman/podman-backend.ts';
import { softNofileOf } from '../../orchestrator/engine/podman/rootless-helper.ts';

/** Rootless Podman's environment with its helper as preflight reads it (this host's: nofile 20,000; a new helper holds 7). */
const rootless = (nofile: number, descriptorsHeld = 7): Environment => ({
  ...PODMAN_ASSUMED,
  hostPortRange: { low: 32768, high: 60999 },
  networkHelper: { program: 'slirp4netns', nofile, descriptorsHeld, held: 'running' },
});

const summary = (env: Environment, scenario: Awaited<ReturnType<typeof loadScenario>>['scenario']) => {
  const prediction = predict(scenario, env);
  return {
    total: prediction.total,
    limit: prediction.limit,
    clients: prediction.clients.map((client) => [client.name, client.connections, client.limit, client.error.errnos]),
  };
};

describe('a server on the host reached through a network helper', () => {
  it("server-on-host on rootless Podman here: the helper's 20,000 less its 7 bind at 19,993, ENETUNREACH", async () => {
    const { scenario } = await loadScenario('server-on-host');
    expect(summary(rootless(20000), scenario)).toEqual({
      total: { min: 19993, max: 19993 },
      limit: 'network-helper',
      clients: [['client-1', { min: 19993, max: 19993 }, 'network-helper', ['ENETUNREACH']]],
    });
  });

  it("with the nofile Fedora gives a user (524,288) the host's own range binds: 28,232 per server port", async () => {
    const { scenario } = await loadScenario('server-on-host');
    expect(summary(rootless(524288), scenario)).toMatchObject({ total: { min: 28232, max: 28232 }, limit: 'host-port-range' });
    const twoPorts = parseScenario(
      'server: { network: host, ports: [29100, 29101], ulimits: { nofile: 200000 } }\nclients: { ulimits: { nofile: 200000 }, sysctls: { net.ipv4.ip_local_port_range: "1024 65535" } }\n',
      'two.yml',
      'two',
    );
    expect(summary(rootless(524288), twoPorts)).toMatchObject({ total: { min: 56464, max: 56464 }, limit: 'host-port-range' });
  });

  it("the host's files: three a connection through the helper (both ends and its socket), two without", async () => {
    const scenario = parseScenario(
      'server: { network: host, ports: [29100] }\nclients: { sysctls: { net.ipv4.ip_local_port_range: "61000 61999" } }\n',
      'small.yml',
      'small',
    );
    const hostFiles = { allocated: 1000, max: 1_001_000 };
    const filesLine = (env: Environment) =>
      predict(scenario, { ...env, hostFiles }).reasoning.find((line) => line.startsWith('fs.file-max'));
    expect(filesLine(rootless(20000))).toContain('room for 333,316-334,699 connections at three files each');
    expect(filesLine(PODMAN_ASSUMED)).toContain('room for 499,974-502,048 connections at two files each');
  });

  it('descriptors the helper holds for other containers of the user come off its room', async () => {
    const { scenario } = await loadScenario('server-on-host');
    expect(summary(rootless(20000, 5007), scenario).total).toEqual({ min: 14993, max: 14993 });
  });

  it("on Docker, and for a server on the run's own network, no helper stands between: the client's own range binds", async () => {
    const { scenario } = await loadScenario('server-on-host');
    expect(summary(ASSUMED_ENVIRONMENT, scenario)).toMatchObject({ total: { min: 64511, max: 64511 }, limit: 'port-range' });
    const { scenario: beside } = await loadScenario('extra-listen-ports');
    expect(summary(rootless(20000), beside)).toEqual(summary(PODMAN_ASSUMED, beside));
  });

  it("a client's own smaller range still binds first", () => {
    const small = parseScenario(
      'server: { network: host, ports: [29100] }\nclients: { sysctls: { net.ipv4.ip_local_port_range: "61000 61999" } }\n',
      'small.yml',
      'small',
    );
    expect(summary(rootless(20000), small)).toMatchObject({ total: { min: 1000, max: 1000 }, limit: 'port-range' });
  });
});

describe("/proc/PID/limits' soft nofile", () => {
  it('reads the soft column, and says null where there is none', () => {
    const limits =
      'Limit                     Soft Limit           Hard Limit           Units     \nMax open files            1024                 20000                files     \n';
    expect(softNofileOf(limits)).toBe(1024);
    expect(softNofileOf(null)).toBeNull();
    expect(softNofileOf('Max processes 10 10 processes\n')).toBeNull();
  });
});
