import { describe, expect, it } from 'vitest';
import { ASSUMED_ENVIRONMENT, type ContainerFacts, type Environment } from '../../orchestrator/predict/environment.ts';
import { expandPortList, predict } from '../../orchestrator/predict/predict.ts';
import { planWorkers, splitBudget } from '../../orchestrator/predict/plan-workers.ts';
import { parseScenario } from '../../orchestrator/scenario/load-scenario.ts';
import { NO_STOP, stopsWith, type PredictedStop } from '../../orchestrator/predict/prediction-schema.ts';
import { kernelBefore, KernelTooOldError } from '../../orchestrator/predict/kernel-facts.ts';

const scenario = (yaml: string) => parseScenario(yaml, 'test.yml', 'test');

/** The engine on these machines: dockerd's hard nofile is 20000 and it cannot raise it. */
/** An engine where an earlier unpaced churn reached 14,000 connections a second (this machine's figure). */
const MEASURED_SPEED: Environment = { ...ASSUMED_ENVIRONMENT, churnRate: 14_000 };
const ENGINE_20000: Environment = { ...ASSUMED_ENVIRONMENT, engineNofileCeiling: 20000, engineDefaultNofile: { soft: 20000, hard: 20000 } };

const facts = (overrides: Partial<ContainerFacts>): ContainerFacts => ({
  nofile: { soft: 20000, hard: 20000 },
  fdsOpen: 3,
  portRange: { low: 32768, high: 60999 },
  boundPorts: [],
  reservedPorts: '',
  somaxconn: 4096,
  ...overrides,
});

const TWO_CLIENTS = `
server: { ports: [5000], ulimits: { nofile: 1000000 } }
clients:
  count: 2
  ulimits: { nofile: { soft: 100000, hard: 100000 } }
`;

describe('predict: per-client capacity', () => {
  const cases: Array<{
    reasoning: string;
    yaml: string;
    env?: Environment;
    connections: { min: number; max: number | null };
    limit: string;
    error: PredictedStop;
  }> = [
    {
      reasoning: 'default range: 32768-60999 is 28,232 ports, minus the DNS listener that always sits in it = 28,231',
      yaml: TWO_CLIENTS,
      connections: { min: 28231, max: 28231 },
      limit: 'port-range',
      error: stopsWith('EADDRNOTAVAIL'),
    },
    {
      reasoning: 'wide range: 1024-65535 is 64,512 ports and contains the DNS listener = 64,511',
      yaml: `${TWO_CLIENTS}  sysctls: { net.ipv4.ip_local_port_range: "1024 65535" }\n`,
      connections: { min: 64511, max: 64511 },
      limit: 'port-range',
      error: stopsWith('EADDRNOTAVAIL'),
    },
    {
      reasoning: 'a range disjoint from the default cannot hold the DNS listener: all 1,000 ports are usable',
      yaml: `clients: { sysctls: { net.ipv4.ip_local_port_range: "10000 10999" } }`,
      connections: { min: 1000, max: 1000 },
      limit: 'port-range',
      error: stopsWith('EADDRNOTAVAIL'),
    },
    {
      reasoning: 'a range partly overlapping the default may or may not hold the DNS listener: 999-1,000 until measured',
      yaml: `clients: { sysctls: { net.ipv4.ip_local_port_range: "40000 40999" } }`,
      connections: { min: 999, max: 1000 },
      limit: 'port-range',
      error: stopsWith('EADDRNOTAVAIL'),
    },
    {
      reasoning: 'measured: the DNS listener port (45123) is outside the range, so nothing is subtracted',
      yaml: `clients: { sysctls: { net.ipv4.ip_local_port_range: "40000 40999" } }`,
      env: {
        ...ASSUMED_ENVIRONMENT,
        containers: {
          'client-1': facts({ portRange: { low: 40000, high: 40999 }, boundPorts: [45123] }),
          server: facts({ fdsOpen: 4 }),
        },
      },
      connections: { min: 1000, max: 1000 },
      limit: 'port-range',
      error: stopsWith('EADDRNOTAVAIL'),
    },
    {
      reasoning: 'measured: the DNS listener port (40500) is inside the range and is skipped for every destination',
      yaml: `clients: { sysctls: { net.ipv4.ip_local_port_range: "40000 40999" } }`,
      env: {
        ...ASSUMED_ENVIRONMENT,
        containers: {
          'client-1': facts({ portRange: { low: 40000, high: 40999 }, boundPorts: [40500] }),
          server: facts({ fdsOpen: 4 }),
        },
      },
      connections: { min: 999, max: 999 },
      limit: 'port-range',
      error: stopsWith('EADDRNOTAVAIL'),
    },
    {
      reasoning: 'two listen ports: the same local port serves both destinations (4-tuple), so 2 x 28,231',
      yaml: `server: { ports: [5000, 5001] }\nclients: { ulimits: { nofile: 100000 } }`,
      connections: { min: 56462, max: 56462 },
      limit: 'port-range',
      error: stopsWith('EADDRNOTAVAIL'),
    },
    {
      reasoning: 'targets restrict the destinations: two listen ports but one target gives 28,231',
      yaml: `server: { ports: [5000, 5001] }\nclients: { targets: [5001], ulimits: { nofile: 100000 } }`,
      connections: { min: 28231, max: 28231 },
      limit: 'port-range',
      error: stopsWith('EADDRNOTAVAIL'),
    },
    {
      reasoning: 'ip_local_reserved_ports inside the range are skipped too: 28,232 - 1 (DNS) - 11 reserved',
      yaml: `clients: { sysctls: { net.ipv4.ip_local_reserved_ports: "40000-40009,50000,20000" } }`,
      connections: { min: 28220, max: 28220 },
      limit: 'port-range',
      error: stopsWith('EADDRNOTAVAIL'),
    },
    {
      reasoning: 'nofile binds: ulimit -n 10240 leaves 10,237 descriptors after stdio, below 28,231 ports',
      yaml: `clients: { ulimits: { nofile: 10240 } }`,
      connections: { min: 10237, max: 10237 },
      limit: 'nofile',
      error: stopsWith('EMFILE'),
    },
    {
      reasoning: 'nofile ties the port range: socket() needs its fd before connect() picks a port, so EMFILE wins',
      yaml: `clients: { ulimits: { nofile: 1003 }, sysctls: { net.ipv4.ip_local_port_range: "10000 10999" } }`,
      connections: { min: 1000, max: 1000 },
      limit: 'nofile',
      error: stopsWith('EMFILE'),
    },
  ];

  it.each(cases)('$reasoning', ({ yaml, env, connections, limit, error }) => {
    const prediction = predict(scenario(yaml), env ?? ASSUMED_ENVIRONMENT);
    expect(prediction.clients[0]?.connections).toEqual(connections);
    expect(prediction.clients[0]?.limit).toBe(limit);
    expect(prediction.clients[0]?.error).toEqual(error);
  });

  it('explains its arithmetic in words a person can follow', () => {
    const [client] = predict(scenario(TWO_CLIENTS), ASSUMED_ENVIRONMENT).clients;
    expect(client?.reasoning).toEqual([
      "ip_local_port_range 32768-60999 = 28,232 ports (a new network namespace's default)",
      "- 1 held by Docker's embedded DNS listener (127.0.0.11, bound in 32768-60999 before the scenario's sysctls apply)",
      '= 28,231 local ports per destination, x 1 target port (5000): the 4-tuple, not the local port, names a connection = 28,231',
      'descriptors: 1 worker x up to 99,997 (nofile 100,000 - 3 open) = budget 99,997',
      'the port range binds: connect() fails with EADDRNOTAVAIL after 28,231',
    ]);
  });

  it('says the prediction rests on assumptions until the probes report', () => {
    const prediction = predict(scenario(TWO_CLIENTS), ASSUMED_ENVIRONMENT);
    expect(prediction.basis).toBe('assumed');
    expect(prediction.reasoning[0]).toMatch(/^Environment not yet measured/);
  });
});

describe('predict: what the client does before connect()', () => {
  const TWO_PORTS = 'server: { ports: [5000, 5001], ulimits: { nofile: 100000 } }\n';
  const RANGE = 'ulimits: { nofile: 100000 }, sysctls: { net.ipv4.ip_local_port_range: "61000 61999" }';
  const cases = [
    {
      reasoning:
        'bind(0) takes each port exclusively for every destination: two server ports still give 1,000, then bind() fails with EADDRINUSE',
      bind: 'port-zero',
      connections: 1000,
      limit: 'port-range',
      error: stopsWith('EADDRINUSE'),
    },
    {
      reasoning: 'bind(0) with IP_BIND_ADDRESS_NO_PORT leaves the port to connect(): 2 x 1,000',
      bind: 'port-zero-no-reserve',
      connections: 2000,
      limit: 'port-range',
      error: stopsWith('EADDRNOTAVAIL'),
    },
    {
      reasoning: 'a fixed port with SO_REUSEADDR: one connection per destination, the third connect() repeats a 4-tuple (EADDRNOTAVAIL)',
      bind: '{ port: 3000, reuseAddr: true }',
      connections: 2,
      limit: 'bound-port',
      error: stopsWith('EADDRNOTAVAIL'),
    },
    {
      reasoning: 'a fixed port without SO_REUSEADDR: the second bind() fails with EADDRINUSE after 1',
      bind: '{ port: 3000 }',
      connections: 1,
      limit: 'bound-port',
      error: stopsWith('EADDRINUSE'),
    },
  ];
  it.each(cases)('$reasoning', ({ bind, connections, limit, error }) => {
    const [client] = predict(scenario(`${TWO_PORTS}clients: { bind: ${bind}, ${RANGE} }`), ASSUMED_ENVIRONMENT).clients;
    expect(client).toMatchObject({ connections: { min: connections, max: connections }, limit, error });
  });

  it('two source addresses: each brings its own local ports to the same destination, 2 x 1,000', () => {
    const [client] = predict(scenario(`clients: { sourceAddresses: 2, ${RANGE} }`), ASSUMED_ENVIRONMENT).clients;
    expect(client).toMatchObject({ connections: { min: 2000, max: 2000 }, limit: 'port-range', error: stopsWith('EADDRNOTAVAIL') });
    expect(client?.reasoning.some((line) => line.includes('x 2 source addresses'))).toBe(true);
  });

  it('each client group is predicted on its own terms, and named after its group', () => {
    const prediction = predict(
      scenario(`${TWO_PORTS}clients:\n  - { name: zero, bind: port-zero, ${RANGE} }\n  - { name: plain, count: 2, ${RANGE} }\n`),
      ASSUMED_ENVIRONMENT,
    );
    expect(prediction.clients.map((client) => [client.name, client.group, client.connections.max])).toEqual([
      ['zero-1', 'zero', 1000],
      ['plain-1', 'plain', 2000],
      ['plain-2', 'plain', 2000],
    ]);
    expect(prediction.server.accepted).toEqual({ min: 5000, max: 5000 });
  });
});

describe('predict: limits all clients share', () => {
  it('server nofile: 1000 leaves 996 to accept (stdio + one listener), 4,097 queue, the client stalls at 5,093 with ETIMEDOUT', () => {
    const prediction = predict(
      scenario(`server: { ulimits: { nofile: 1000 } }\nclients: { ulimits: { nofile: 100000 } }`),
      ASSUMED_ENVIRONMENT,
    );
    expect(prediction.server.accepted).toEqual({ min: 996, max: 996 });
    expect(prediction.server.acceptQueue).toBe(4097);
    expect(prediction.total).toEqual({ min: 5093, max: 5093 });
    expect(prediction.limit).toBe('server-nofile');
    expect(prediction.clients[0]).toMatchObject({
      connections: { min: 5093, max: 5093 },
      limit: 'server-nofile',
      error: stopsWith('ETIMEDOUT'),
    });
  });

  it('server backlog: a smaller backlog shrinks the queue, min(backlog, somaxconn) + 1 = 129', () => {
    const prediction = predict(
      scenario(`server: { ulimits: { nofile: 1000 }, backlog: 128 }\nclients: { ulimits: { nofile: 100000 } }`),
      ASSUMED_ENVIRONMENT,
    );
    expect(prediction.total).toEqual({ min: 996 + 129, max: 996 + 129 });
  });

  it('server backlog: somaxconn caps the backlog per namespace, min(4096, 512) + 1 = 513', () => {
    const prediction = predict(
      scenario(`server: { ulimits: { nofile: 1000 }, sysctls: { net.core.somaxconn: 512 } }\nclients: { ulimits: { nofile: 100000 } }`),
      ASSUMED_ENVIRONMENT,
    );
    expect(prediction.total).toEqual({ min: 996 + 513, max: 996 + 513 });
  });

  it('server nofile with two clients: accepted + queued, and one more handshake the full queue may drop; each share depends on timing', () => {
    const prediction = predict(
      scenario(`server: { ulimits: { nofile: 1000 } }\nclients: { count: 2, ulimits: { nofile: 100000 } }`),
      ASSUMED_ENVIRONMENT,
    );
    // Two clients connect at once (each one worker at a time): when the queue fills, the other's handshake may be
    // complete on its side and dropped at the server's side (its final ACK found the queue full).
    expect(prediction.total).toEqual({ min: 5093, max: 5094 });
    expect(prediction.reasoning.join('\n')).toContain(
      'up to 1 of those may be handshakes the server never queued: 2 workers connect at once',
    );
    expect(prediction.clients[0]?.connections).toEqual({ min: 0, max: 5094 });
  });

  it("server nofile with an application client beside a probe: the application's connects in flight count up to its own ceiling", () => {
    const prediction = predict(
      scenario(
        `server: { ulimits: { nofile: 1000 } }\nclients:\n  - { name: probe, ulimits: { nofile: 100000 } }\n  - { name: wrk, image: "portlab.invalid/wrk:4.1", command: [-c, "300", "http://server:5000/"], sysctls: { net.ipv4.ip_local_port_range: "61000 61299" } }`,
      ),
      ASSUMED_ENVIRONMENT,
    );
    // wrk -c 300 may have all 300 of its 300 ports' connects in flight when the queue fills: 1 (the probe) + 300 - 1
    // handshakes past it, not the probe's one alone.
    expect(prediction.total).toEqual({ min: 5093, max: 5093 + 300 });
    expect(prediction.reasoning.join('\n')).toContain(
      "up to 300 of those may be handshakes the server never queued: 301 connects may be in flight at once (an application client's up to its own ceiling: its concurrency is its own)",
    );
  });

  it('conntrack: three wide-range clients (193,533) overflow a 150,000-entry table', () => {
    const prediction = predict(
      scenario(
        `server: { ulimits: { nofile: 1000000 } }\nclients: { count: 3, ulimits: { nofile: 100000 }, sysctls: { net.ipv4.ip_local_port_range: "1024 65535" } }`,
      ),
      { ...ASSUMED_ENVIRONMENT, conntrackMax: 150000, conntrackInUse: 1000 },
    );
    expect(prediction.limit).toBe('conntrack');
    expect(prediction.total).toEqual({ min: 148997, max: 149000 });
    expect(prediction.clients[0]?.error).toEqual(stopsWith('ETIMEDOUT'));
  });

  it('no shared limit: three wide-range clients fit 262,144 conntrack entries, one server port holds 193,533 > 65,535', () => {
    const prediction = predict(
      scenario(
        `server: { ulimits: { nofile: 1000000 } }\nclients: { count: 3, ulimits: { nofile: 100000 }, sysctls: { net.ipv4.ip_local_port_range: "1024 65535" } }`,
      ),
      ASSUMED_ENVIRONMENT,
    );
    expect(prediction.limit).toBe('port-range');
    expect(prediction.server.accepted).toEqual({ min: 193533, max: 193533 });
  });
});

describe('predict: churn and TIME_WAIT', () => {
  const SMALL = 'net.ipv4.ip_local_port_range: "61000 61999"';
  const cases: Array<{
    reasoning: string;
    clients: string;
    connections: { min: number; max: number | null };
    limit: string;
    error: PredictedStop;
  }> = [
    {
      reasoning:
        'tw_reuse 0, client closes first, full speed: EADDRNOTAVAIL after at least the range (1,000, plus the TIME_WAITs RSTs kill, known once measured)',
      clients: `{ mode: churn, duration: 10s, sysctls: { ${SMALL}, net.ipv4.tcp_tw_reuse: 0 } }`,
      connections: { min: 1000, max: null },
      limit: 'time-wait',
      error: stopsWith('EADDRNOTAVAIL'),
    },
    {
      reasoning: 'tw_reuse 2 (the default) is loopback only, so containers run out just the same: 28,231 on the default range',
      clients: '{ mode: churn, duration: 30s }',
      connections: { min: 28231, max: null },
      limit: 'time-wait',
      error: stopsWith('EADDRNOTAVAIL'),
    },
    {
      reasoning: 'tcp_fin_timeout 10 does not shorten TIME_WAIT (60 s): the same failure as without it',
      clients: `{ mode: churn, duration: 10s, sysctls: { ${SMALL}, net.ipv4.tcp_tw_reuse: 0, net.ipv4.tcp_fin_timeout: 10 } }`,
      connections: { min: 1000, max: null },
      limit: 'time-wait',
      error: stopsWith('EADDRNOTAVAIL'),
    },
    {
      reasoning: 'tw_reuse 0 at 500/s: 1,000 ports fill with TIME_WAIT in 2 s, the same failure',
      clients: `{ mode: churn, duration: 10s, rate: 500, sysctls: { ${SMALL}, net.ipv4.tcp_tw_reuse: 0 } }`,
      connections: { min: 1000, max: null },
      limit: 'time-wait',
      error: stopsWith('EADDRNOTAVAIL'),
    },
    {
      reasoning: 'tw_reuse 0 at 10/s for 10 s: only 100 ports ever sit in TIME_WAIT, no failure, about 100',
      clients: `{ mode: churn, duration: 10s, rate: 10, sysctls: { ${SMALL}, net.ipv4.tcp_tw_reuse: 0 } }`,
      connections: { min: 100, max: 100 },
      limit: 'none',
      error: NO_STOP,
    },
    {
      reasoning: 'tw_reuse 1 at 500/s: ports come back after 1 s, faster than 1,000 are used, no failure, about 5,000',
      clients: `{ mode: churn, duration: 10s, rate: 500, sysctls: { ${SMALL}, net.ipv4.tcp_tw_reuse: 1 } }`,
      connections: { min: 5000, max: 5000 },
      limit: 'none',
      error: NO_STOP,
    },
    {
      reasoning: 'tw_reuse 1 at full speed on 1,000 ports: used up within 1 s, before any TIME_WAIT is reusable, so it still runs out',
      clients: `{ mode: churn, duration: 10s, sysctls: { ${SMALL}, net.ipv4.tcp_tw_reuse: 1 } }`,
      connections: { min: 1000, max: null },
      limit: 'time-wait',
      error: stopsWith('EADDRNOTAVAIL'),
    },
    {
      reasoning: 'tw_reuse 1 at full speed on the default range: 28,231 ports last longer than 1 s, no failure, more than the range',
      clients: '{ mode: churn, duration: 30s, sysctls: { net.ipv4.tcp_tw_reuse: 1 } }',
      connections: { min: 28232, max: null },
      limit: 'none',
      error: NO_STOP,
    },
    {
      reasoning: 'tw_reuse 1 without TCP timestamps: no reuse, the same failure as 0',
      clients: `{ mode: churn, duration: 10s, sysctls: { ${SMALL}, net.ipv4.tcp_tw_reuse: 1, net.ipv4.tcp_timestamps: 0 } }`,
      connections: { min: 1000, max: null },
      limit: 'time-wait',
      error: stopsWith('EADDRNOTAVAIL'),
    },
    {
      reasoning: 'the server closes first: TIME_WAIT sits on the server, the client never runs out, about 500/s x 10 s',
      clients: `{ mode: churn, duration: 10s, rate: 500, close: server, sysctls: { ${SMALL}, net.ipv4.tcp_tw_reuse: 0 } }`,
      connections: { min: 5000, max: 5000 },
      limit: 'none',
      error: NO_STOP,
    },
  ];
  it.each(cases)('$reasoning', ({ clients, connections, limit, error }) => {
    const [client] = predict(scenario(`clients: ${clients}`), MEASURED_SPEED).clients;
    expect(client).toMatchObject({ connections, limit, error });
  });

  it('once measured, the tcp_tw_reuse read back in the container decides', () => {
    const yaml = `clients: { mode: churn, duration: 10s, rate: 500, sysctls: { ${SMALL} } }`;
    const env = {
      ...ASSUMED_ENVIRONMENT,
      containers: {
        'client-1': facts({
          portRange: { low: 61000, high: 61999 },
          sysctls: { 'net.ipv4.tcp_tw_reuse': '1', 'net.ipv4.tcp_timestamps': '1' },
        }),
        server: facts({ fdsOpen: 4 }),
      },
    };
    expect(predict(scenario(yaml), ASSUMED_ENVIRONMENT).clients[0]?.limit).toBe('time-wait');
    expect(predict(scenario(yaml), env).clients[0]?.limit).toBe('none');
  });

  describe('tcp_tw_reuse=1: how old a TIME_WAIT must be, as the kernel the probe ran on has it', () => {
    /** A client of 1,000 ports measured churning at `speed`/s unpaced, with these sysctls read back. */
    const measured = (speed: number, sysctls: Record<string, string>): Environment => ({
      ...ASSUMED_ENVIRONMENT,
      churnSpeeds: { 'client-1': speed },
      containers: {
        'client-1': facts({ portRange: { low: 61000, high: 61999 }, sysctls: { 'net.ipv4.tcp_timestamps': '1', ...sysctls } }),
        server: facts({ fdsOpen: 4 }),
      },
    });
    const yaml = `clients: { mode: churn, duration: 10s, sysctls: { ${SMALL}, net.ipv4.tcp_tw_reuse: 1 } }`;
    const client = (env: Environment) => predict(scenario(yaml), env).clients[0]!;

    it('with tcp_tw_reuse_delay (6.14+): at 2,000/s the 1,000 ports last 0.5 s, less than its 1,000 ms, so it runs out', () => {
      const withDelay = client(measured(2000, { 'net.ipv4.tcp_tw_reuse': '1', 'net.ipv4.tcp_tw_reuse_delay': '1000' }));
      expect(withDelay).toMatchObject({ connections: { min: 1000, max: null }, limit: 'time-wait', error: stopsWith('EADDRNOTAVAIL') });
    });

    it('a shorter tcp_tw_reuse_delay (250 ms) lets 2,000/s cycle the same ports: no failure', () => {
      const short = client(measured(2000, { 'net.ipv4.tcp_tw_reuse': '1', 'net.ipv4.tcp_tw_reuse_delay': '250' }));
      expect(short).toMatchObject({ limit: 'none', error: NO_STOP });
    });

    it('a kernel without it (before 6.14): the ports of one second come back together at the next, so 2,000/s over 1,000 ports runs out for certain', () => {
      const older = client(measured(2000, { 'net.ipv4.tcp_tw_reuse': '1' }));
      expect(older).toMatchObject({ connections: { min: 1000, max: null }, limit: 'time-wait', error: stopsWith('EADDRNOTAVAIL') });
      expect(older.reasoning.at(-1)).toContain('next whole second after its last timestamp');
      expect(older.reasoning.at(-1)).toContain('before Linux 6.14');
      // With the TIME_WAITs RSTs killed counted (none here): at most the first, partial second's ports more.
      const counted = predict(scenario(yaml), {
        ...measured(2000, { 'net.ipv4.tcp_tw_reuse': '1' }),
        timeWaits: { 'client-1': { entered: 1500, atEnd: 1500 } },
      }).clients[0]!;
      expect(counted.connections).toEqual({ min: 1000, max: 1999 });
    });

    it('such a kernel, a churn shorter than 2U/speed (1 s at 1,500/s over 1,000 ports: 1.33 s): it may run out or not', () => {
      const short = predict(scenario(yaml.replace('duration: 10s', 'duration: 1s')), measured(1500, { 'net.ipv4.tcp_tw_reuse': '1' }))
        .clients[0]!;
      expect(short).toMatchObject({ limit: 'time-wait', error: { errnos: ['EADDRNOTAVAIL'], orNone: true } });
    });

    it("given only the engine's kernel, 6.1 (before any probe reported): the whole-second rule; 6.18: its 1 s delay", () => {
      const onKernel = (kernel: string) => predict(scenario(yaml), { ...ASSUMED_ENVIRONMENT, kernel, churnRate: 2000 }).clients[0]!;
      expect(onKernel('6.1.0-28-amd64')).toMatchObject({ limit: 'time-wait', error: stopsWith('EADDRNOTAVAIL') });
      expect(onKernel('6.1.0-28-amd64').reasoning.at(-1)).toContain('before Linux 6.14');
      expect(onKernel('6.18.0')).toMatchObject({ limit: 'time-wait', error: stopsWith('EADDRNOTAVAIL') });
    });

    it('slower than the longest wait, such a kernel never runs out: 500/s over 1,000 ports', () => {
      const slow = client(measured(500, { 'net.ipv4.tcp_tw_reuse': '1' }));
      expect(slow).toMatchObject({ limit: 'none', error: NO_STOP });
    });
  });

  it('the server accepts what the clients churn, and is not limited by its descriptors', () => {
    const prediction = predict(
      scenario(`server: { ulimits: { nofile: 100 } }\nclients: { mode: churn, duration: 10s, rate: 500, close: server }`),
      ASSUMED_ENVIRONMENT,
    );
    expect(prediction.server.accepted).toEqual({ min: 5000, max: 5000 });
    expect(prediction.limit).toBe('none');
    expect(prediction.reasoning).toContain(
      'the server closes first, so the TIME_WAIT entries are its own (one per 4-tuple); it holds no connection open, so its descriptors do not bind',
    );
  });
});

describe('processes: auto when the engine grants less nofile than asked', () => {
  it('wide range on an engine capped at 20000: 4 clients workers share a budget above 64,511, so the port range still binds', () => {
    const prediction = predict(scenario(`${TWO_CLIENTS}  sysctls: { net.ipv4.ip_local_port_range: "1024 65535" }\n`), ENGINE_20000);
    const [client] = prediction.clients;
    expect(client?.workers).toMatchObject({
      processes: 4,
      appliedNofile: { soft: 20000, hard: 20000 },
      workerBudgets: [19997, 19997, 19997, 19997],
    });
    expect(client?.workers.note).toBe(
      "the engine grants nofile 20000, not the 100000 asked for, so 4 worker processes in one network namespace share 79988 descriptors: enough for the scenario's other limits to bind first",
    );
    expect(client).toMatchObject({ connections: { min: 64511, max: 64511 }, limit: 'port-range' });
    expect(prediction.server.workers.processes).toBe(8);
  });

  it('a nofile the engine can grant needs one process', () => {
    const [client] = predict(scenario(`clients: { ulimits: { nofile: 10240 } }`), ENGINE_20000).clients;
    expect(client?.workers).toMatchObject({ processes: 1, workerBudgets: [10237], note: null });
  });

  it('a nofile limit above the grant still binds where the scenario meant it: 30000 split as 19997 + 10000', () => {
    const [client] = predict(
      scenario(
        `server: { ulimits: { nofile: 1000000 } }\nclients: { ulimits: { nofile: 30000 }, sysctls: { net.ipv4.ip_local_port_range: "1024 65535" } }`,
      ),
      ENGINE_20000,
    ).clients;
    expect(client?.workers.workerBudgets).toEqual([19997, 10000]);
    expect(client).toMatchObject({ connections: { min: 29997, max: 29997 }, limit: 'nofile', error: stopsWith('EMFILE') });
  });

  it('explicit processes give every worker its full grant', () => {
    const plan = planWorkers({
      requested: { soft: 100000, hard: 100000 },
      processes: 3,
      fdsOpen: 3,
      demand: 10,
      grantedNofile: undefined,
      env: ENGINE_20000,
    });
    expect(plan.workerBudgets).toEqual([19997, 19997, 19997]);
  });

  it('the budget split gives each worker what is left, in order', () => {
    expect(splitBudget(50000, 19997, 3)).toEqual([19997, 19997, 10006]);
    expect(splitBudget(10, 19997, 2)).toEqual([10, 0]);
  });
});

describe('expandPortList', () => {
  it('reads the kernel list format', () => {
    expect(expandPortList('1,2-4, 10')).toEqual([1, 2, 3, 4, 10]);
    expect(expandPortList('')).toEqual([]);
  });
});

describe("what the engine's kernel lacks", () => {
  const yaml = 'clients: { sysctls: { net.ipv4.ip_local_port_range: "61000 61999" }, socketPortRange: "61100 61300" }';

  it('a socket port range is refused only where the probe found the kernel refusing IP_LOCAL_PORT_RANGE, never by release', () => {
    const refusing = { ...ASSUMED_ENVIRONMENT, kernel: '5.15.0-91-generic', ipLocalPortRange: false };
    expect(() => predict(scenario(yaml), refusing)).toThrow(KernelTooOldError);
    expect(() => predict(scenario(yaml), refusing)).toThrow(
      "test: client group client sets socketPortRange, and the engine's kernel (Linux 5.15.0-91-generic) refused IP_LOCAL_PORT_RANGE when the probe tried it (ENOPROTOOPT; Linux 6.3 has it, and 6.1.32 and later 6.1 kernels)",
    );
    // Debian 12's 6.1 kernels have the option (a stable backport): not refused by their release number.
    const debian12 = predict(scenario(yaml), { ...ASSUMED_ENVIRONMENT, kernel: '6.1.0-57-cloud-amd64' });
    expect(debian12.clients[0]?.reasoning.join('\n')).toContain('is known once a run');
  });

  it('a socket port range of odd size: whole from Linux 6.8, before it the parity scan (N - 1 or N; 3 ports give 2)', () => {
    const on = (kernel: string | undefined) => ({ ...ASSUMED_ENVIRONMENT, ...(kernel ? { kernel } : {}), ipLocalPortRange: true });
    expect(predict(scenario(yaml), on('6.12.118+deb12-cloud-amd64')).clients[0]?.connections).toEqual({ min: 201, max: 201 });
    expect(predict(scenario(yaml), on('6.8.0')).clients[0]?.connections).toEqual({ min: 201, max: 201 });
    expect(predict(scenario(yaml), on(undefined)).clients[0]?.connections).toEqual({ min: 201, max: 201 });
    expect(predict(scenario(yaml), on('6.7.12')).clients[0]?.connections).toEqual({ min: 200, max: 201 });
    expect(predict(scenario(yaml), on('6.1.0-57-cloud-amd64')).clients[0]?.connections).toEqual({ min: 200, max: 201 });
    const three = 'clients: { sysctls: { net.ipv4.ip_local_port_range: "61000 61999" }, socketPortRange: "61000 61002" }';
    expect(predict(scenario(three), on('6.1.0-57-cloud-amd64')).clients[0]?.connections).toEqual({ min: 2, max: 2 });
    expect(predict(scenario(three), on('6.12.118+deb12-cloud-amd64')).clients[0]?.connections).toEqual({ min: 3, max: 3 });
  });

  it('reads a release as Linux writes it', () => {
    expect(kernelBefore('6.1.0-28-amd64', [6, 3])).toBe(true);
    expect(kernelBefore('6.18.0', [6, 14])).toBe(false);
    expect(kernelBefore('5.15.0', [6, 3])).toBe(true);
    expect(kernelBefore('7.0.1', [6, 14])).toBe(false);
    expect(kernelBefore(undefined, [6, 3])).toBe(false);
  });
});

describe('tcp_tw_reuse_delay (Linux 6.14+)', () => {
  const churn = (extra: string) =>
    scenario(
      `clients:\n  mode: churn\n  duration: 10s\n  rate: 500\n  sysctls:\n    net.ipv4.ip_local_port_range: "61000 61999"\n    net.ipv4.tcp_tw_reuse: 1\n${extra}`,
    );

  it('with the default 1 s, 1,000 ports reused after a second outpace 500/s: no failure', () => {
    const [client] = predict(churn(''), ASSUMED_ENVIRONMENT).clients;
    expect(client).toMatchObject({ limit: 'none', error: NO_STOP });
  });

  it('with a 60 s delay the same churn runs out of ports: TIME_WAIT binds', () => {
    const [client] = predict(churn('    net.ipv4.tcp_tw_reuse_delay: 60000\n'), ASSUMED_ENVIRONMENT).clients;
    expect(client).toMatchObject({ limit: 'time-wait', error: stopsWith('EADDRNOTAVAIL') });
    expect(client?.reasoning.at(-1)).toContain('used up within 60 s (net.ipv4.tcp_tw_reuse_delay)');
  });

  it('is bounded as the kernel bounds it: 1 to 60000 ms', () => {
    expect(() => churn('    net.ipv4.tcp_tw_reuse_delay: 60001\n')).toThrow(/expected a whole number from 1 to 60000, found "60001"/);
  });
});

describe("an unpaced churn is judged on its own speed in this run, never on earlier runs'", () => {
  const unpaced = scenario(
    'clients:\n  mode: churn\n  duration: 10s\n  sysctls:\n    net.ipv4.ip_local_port_range: "61000 61999"\n    net.ipv4.tcp_tw_reuse: 0\n',
  );
  const slowHistory: Environment = { ...ASSUMED_ENVIRONMENT, churnRate: 5 };

  it('with no speed known (a dry run on a new engine): either way, and the run measures it', () => {
    expect(predict(unpaced, ASSUMED_ENVIRONMENT).clients[0]).toMatchObject({
      connections: { min: 1, max: null },
      error: { errnos: ['EADDRNOTAVAIL'], orNone: true },
    });
  });

  it('its own speed decides over any history: 1,000 ports in 0.2 s runs out, whatever earlier runs reached', () => {
    const own = { 'client-1': 5_000 };
    const withoutHistory = predict(unpaced, { ...ASSUMED_ENVIRONMENT, churnSpeeds: own }).clients[0];
    const withHistory = predict(unpaced, { ...slowHistory, churnSpeeds: own }).clients[0];
    expect(withHistory).toEqual(withoutHistory);
    expect(withoutHistory).toMatchObject({ limit: 'time-wait', error: stopsWith('EADDRNOTAVAIL') });
    expect(withoutHistory?.reasoning.at(-1)).toContain('5,000/s (its own speed in this run, as its probe reported it)');
  });

  it('slower than the ports can fill in its duration (50/s x 10 s = 500 < 1,000): no stop', () => {
    const [client] = predict(unpaced, { ...ASSUMED_ENVIRONMENT, churnRate: 14_000, churnSpeeds: { 'client-1': 50 } }).clients;
    expect(client).toMatchObject({ limit: 'none', error: NO_STOP });
  });

  it('history alone serves the estimate before the run', () => {
    expect(predict(unpaced, slowHistory).clients[0]?.reasoning.at(-1)).toContain('the speed unpaced churns reached on this engine before');
  });
});

describe('TIME_WAITs killed by RSTs (RFC 1337): the count past the usable ports, explained', () => {
  const churn = (extra = '') =>
    scenario(
      `clients:\n  mode: churn\n  duration: 10s\n  sysctls:\n    net.ipv4.ip_local_port_range: "61000 61999"\n    net.ipv4.tcp_tw_reuse: 0\n${extra}`,
    );

  it('before the run: at least the usable ports, one more for each TIME_WAIT an RST will kill', () => {
    const [client] = predict(churn(), MEASURED_SPEED).clients;
    expect(client?.connections).toEqual({ min: 1000, max: null });
    expect(client?.reasoning.at(-1)).toContain('+ one for each TIME_WAIT an RST kills before it expires');
  });

  it('once the probe says how many entered TIME_WAIT and how many are left: up to usable + killed (a kill after the failure freed an unused port)', () => {
    const env = { ...MEASURED_SPEED, timeWaits: { 'client-1': { entered: 1043, atEnd: 1000 } } };
    const [client] = predict(churn(), env).clients;
    expect(client?.connections).toEqual({ min: 1000, max: 1043 });
    expect(client?.reasoning.at(-1)).toContain(
      '+ 0 to 43 (the namespace entered TIME_WAIT 1,043 times and 1,000 were left when the probe looked',
    );
  });

  it('none killed: exactly the usable ports', () => {
    const env = { ...MEASURED_SPEED, timeWaits: { 'client-1': { entered: 1000, atEnd: 1000 } } };
    expect(predict(churn(), env).clients[0]?.connections).toEqual({ min: 1000, max: 1000 });
  });

  it('with net.ipv4.tcp_rfc1337=1 a TIME_WAIT ignores RSTs: exactly the usable ports', () => {
    const [client] = predict(churn('    net.ipv4.tcp_rfc1337: 1\n'), MEASURED_SPEED).clients;
    expect(client?.connections).toEqual({ min: 1000, max: 1000 });
  });

  it('a churn of 60 s or more: TIME_WAITs may have expired, so what is left does not tell how many were killed', () => {
    const long = scenario('clients:\n  mode: churn\n  duration: 90s\n  sysctls:\n    net.ipv4.ip_local_port_range: "61000 61999"\n');
    const env = { ...MEASURED_SPEED, timeWaits: { 'client-1': { entered: 1043, atEnd: 1000 } } };
    expect(predict(long, env).clients[0]?.connections).toEqual({ min: 1000, max: null });
  });
});

describe("paced churn: the probe's schedule, and how far it fell behind", () => {
  const paced = scenario('clients:\n  mode: churn\n  duration: 10s\n  rate: 500\n  close: server\n');

  it('before the run: every connect due before the end, 500/s x 10 s = 5,000', () => {
    const [client] = predict(paced, ASSUMED_ENVIRONMENT).clients;
    expect(client?.connections).toEqual({ min: 5000, max: 5000 });
    expect(client?.reasoning.at(-1)).toContain('= 5,000 if the probe keeps its pace');
  });

  it('a probe that fell 37 connections behind its schedule (the CPU) made 4,963, and the reasoning says why', () => {
    const [client] = predict(paced, { ...ASSUMED_ENVIRONMENT, paceBehind: { 'client-1': 37 } }).clients;
    expect(client?.connections).toEqual({ min: 4963, max: 4963 });
    expect(client?.reasoning.at(-1)).toContain('- 37 it fell behind its schedule (the CPU) = 4,963');
  });
});

describe('conntrack entries in use: the ones that will expire are not capacity lost', () => {
  const two = scenario('clients:\n  count: 2\n');
  const busy = { ...ASSUMED_ENVIRONMENT, conntrackMax: 262_144, conntrackInUse: 250_000 };

  it('every entry in use an established connection: 12,144 free, conntrack binds for certain', () => {
    const prediction = predict(two, { ...busy, conntrackEstablished: 250_000 });
    expect(prediction.limit).toBe('conntrack');
    expect(prediction.total).toEqual({ min: 12_142, max: 12_144 });
    expect(prediction.clients[0]?.error).toEqual(stopsWith('ETIMEDOUT'));
  });

  it('most of them closing: room for 12,144 now and 252,144 once they expire, so either limit may bind first', () => {
    const prediction = predict(two, { ...busy, conntrackEstablished: 10_000 });
    expect(prediction.limit).toBe('conntrack');
    expect(prediction.total).toEqual({ min: 12_142, max: 56_462 });
    expect(prediction.clients[0]?.error).toEqual(stopsWith('ETIMEDOUT', 'EADDRNOTAVAIL'));
    expect(prediction.reasoning.join(' ')).toContain('240,000 of the 250,000 entries in use are not established connections');
  });
});

describe('an unpaced churn on an engine that has not churned before', () => {
  it('its speed is not known: either it runs out (faster than the range over the window) or it churns its whole duration', () => {
    const unpaced = scenario('clients:\n  mode: churn\n  duration: 10s\n  sysctls:\n    net.ipv4.ip_local_port_range: "61000 61999"\n');
    const [client] = predict(unpaced, ASSUMED_ENVIRONMENT).clients;
    expect(client).toMatchObject({
      limit: 'time-wait',
      error: { errnos: ['EADDRNOTAVAIL'], orNone: true },
      connections: { min: 1, max: null },
    });
    expect(client?.reasoning.at(-1)).toContain('faster than 100/s it runs out of ports');
  });

  it('once an engine has churned unpaced, its measured speed decides: 14,000/s fills 1,000 ports within 10 s', () => {
    const unpaced = scenario('clients:\n  mode: churn\n  duration: 10s\n  sysctls:\n    net.ipv4.ip_local_port_range: "61000 61999"\n');
    const [client] = predict(unpaced, MEASURED_SPEED).clients;
    expect(client).toMatchObject({ limit: 'time-wait', error: stopsWith('EADDRNOTAVAIL') });
    expect(client?.reasoning.at(-1)).toContain('14,000/s (the speed unpaced churns reached on this engine before)');
  });
});

describe('tcp_max_tw_buckets', () => {
  it('fewer TIME_WAIT buckets than ports: past them a closed connection keeps no TIME_WAIT, so the client never runs out', () => {
    const few = scenario(
      'clients:\n  mode: churn\n  duration: 10s\n  rate: 500\n  sysctls:\n    net.ipv4.ip_local_port_range: "61000 61999"\n    net.ipv4.tcp_tw_reuse: 0\n    net.ipv4.tcp_max_tw_buckets: 500\n',
    );
    const [client] = predict(few, ASSUMED_ENVIRONMENT).clients;
    expect(client).toMatchObject({ limit: 'none', error: NO_STOP, connections: { min: 5000, max: 5000 } });
    expect(client?.reasoning.at(-1)).toContain('net.ipv4.tcp_max_tw_buckets=500, fewer than the 1,000 ports');
  });
});
