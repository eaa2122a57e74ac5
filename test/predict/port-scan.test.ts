import { describe, expect, it } from 'vitest';
import { ASSUMED_ENVIRONMENT, type ContainerFacts, type Environment } from '../../orchestrator/predict/environment.ts';
import { predict } from '../../orchestrator/predict/predict.ts';
import { scanLoss } from '../../orchestrator/predict/port-scan.ts';
import { socketPortRange } from '../../orchestrator/predict/ports.ts';
import { parseScenario } from '../../orchestrator/scenario/load-scenario.ts';

const scenario = (yaml: string) => parseScenario(yaml, 'test.yml', 'test');
const range = (low: number, high: number) => ({ low, high });

// Each expectation is what a client filling one destination in a bare network namespace got, 40 runs per row
// (docs/model.md, "Odd-sized ranges"): the interval must hold every count seen, and be exact where every run was.
describe('scanLoss: what the kernel port search leaves unused', () => {
  const cases: Array<{ reasoning: string; range: { low: number; high: number }; skipped?: number[]; loss: [number, number] }> = [
    {
      reasoning: 'an even range: every port is reachable (1,000 and 778 ports: exact in every run)',
      range: range(61000, 61999),
      loss: [0, 0],
    },
    { reasoning: 'one port: the scan is that port (1 every run)', range: range(61000, 61000), loss: [0, 0] },
    {
      reasoning: '3 ports: the offset is always 0, the high port is never tried (2 every run, 61002 unused)',
      range: range(61000, 61002),
      loss: [1, 1],
    },
    {
      reasoning: '3 ports whose high port is reserved: nothing more is lost (2 every run)',
      range: range(61000, 61002),
      skipped: [61002],
      loss: [0, 0],
    },
    {
      reasoning: '3 ports, the low one reserved: only the middle one is reachable (1 every run)',
      range: range(61000, 61002),
      skipped: [61000],
      loss: [1, 1],
    },
    { reasoning: '777 ports: 776 or 777 (6 of 40 runs left 61000 unused)', range: range(61000, 61776), loss: [0, 1] },
    {
      reasoning: '5 ports: either end may be the one left (4 with 61000 unused, 4 with 61004 unused, 5)',
      range: range(61000, 61004),
      loss: [0, 1],
    },
    { reasoning: '777 ports, an inner port reserved: 775 or 776', range: range(61000, 61776), skipped: [61001], loss: [0, 1] },
    {
      reasoning: '777 ports, one end reserved: the other end can still be missed (775 or 776)',
      range: range(61000, 61776),
      skipped: [61776],
      loss: [0, 1],
    },
    {
      reasoning: '777 ports, both ends reserved: only an end can be out of a scan, so exact (775 every run)',
      range: range(61000, 61776),
      skipped: [61000, 61776],
      loss: [0, 0],
    },
  ];
  for (const { reasoning, range: r, skipped = [], loss } of cases) {
    it(reasoning, () => {
      const result = scanLoss(r, new Set(skipped));
      expect([result.min, result.max]).toEqual(loss);
      // An odd range always says what its scan does, even when nothing is lost.
      expect(result.why === null).toBe((r.high - r.low + 1) % 2 === 0 || r.high === r.low);
    });
  }
});

const facts = (portRange: { low: number; high: number }, overrides: Partial<ContainerFacts> = {}): ContainerFacts => ({
  nofile: { soft: 20000, hard: 20000 },
  fdsOpen: 3,
  portRange,
  boundPorts: [],
  reservedPorts: '',
  somaxconn: 4096,
  ...overrides,
});

describe('predict: odd ranges', () => {
  it('gives each client of an odd range an interval, and the server and the total follow (the hidden sweep: 776 on 777 ports)', () => {
    const prediction = predict(
      scenario('clients: { count: 2, sysctls: { net.ipv4.ip_local_port_range: "61000 61776" } }'),
      ASSUMED_ENVIRONMENT,
    );
    for (const client of prediction.clients) expect(client.connections).toEqual({ min: 776, max: 777 });
    expect(prediction.total).toEqual({ min: 1552, max: 1554 });
    expect(prediction.server.accepted).toEqual({ min: 1552, max: 1554 });
    expect(prediction.clients[0]!.reasoning.join('\n')).toMatch(/each connect\(\) \(or bind\(0\)\) scans 776 of them/);
  });

  it('multiplies the interval by destinations and source addresses: each pair is its own scan', () => {
    const prediction = predict(
      scenario(
        'server: { ports: [5000, 5001] }\nclients: { sourceAddresses: 2, sysctls: { net.ipv4.ip_local_port_range: "61000 62500" } }',
      ),
      ASSUMED_ENVIRONMENT,
    );
    expect(prediction.clients[0]!.connections).toEqual({ min: 1500 * 4, max: 1501 * 4 });
  });

  it('predicts 3 ports as the kernel scans them: 2, the high port never used', () => {
    const prediction = predict(scenario('clients: { sysctls: { net.ipv4.ip_local_port_range: "61000 61002" } }'), ASSUMED_ENVIRONMENT);
    expect(prediction.clients[0]!.connections).toEqual({ min: 2, max: 2 });
    expect(prediction.clients[0]!.reasoning.join('\n')).toMatch(/port 61002 is never tried/);
  });

  it('counts the DNS listener inside the same scan once it is measured: at an end, the other end can still be missed', () => {
    const env: Environment = {
      ...ASSUMED_ENVIRONMENT,
      containers: { server: facts(range(32768, 60999)), 'client-1': facts(range(40000, 40998), { boundPorts: [40000] }) },
    };
    const prediction = predict(scenario('clients: { sysctls: { net.ipv4.ip_local_port_range: "40000 40998" } }'), env);
    expect(prediction.clients[0]!.connections).toEqual({ min: 997, max: 998 });
  });

  it('is exact when both ends are taken (reserved and the DNS listener)', () => {
    const env: Environment = {
      ...ASSUMED_ENVIRONMENT,
      containers: {
        server: facts(range(32768, 60999)),
        'client-1': facts(range(40000, 40998), { boundPorts: [40998], reservedPorts: '40000' }),
      },
    };
    const prediction = predict(
      scenario('clients: { sysctls: { net.ipv4.ip_local_port_range: "40000 40998", net.ipv4.ip_local_reserved_ports: "40000" } }'),
      env,
    );
    expect(prediction.clients[0]!.connections).toEqual({ min: 997, max: 997 });
  });

  it("before measuring, an odd range inside the DNS listener's range loses up to one port to each", () => {
    const prediction = predict(scenario('clients: { sysctls: { net.ipv4.ip_local_port_range: "40000 40998" } }'), ASSUMED_ENVIRONMENT);
    expect(prediction.clients[0]!.connections).toEqual({ min: 997, max: 999 });
  });
});

// IP_LOCAL_PORT_RANGE (Linux 6.3+): what a bare namespace gave (40000-40999, one client filling one destination): a
// socket range of 40100-40300 held 201, one of 30000-40199 held 200; an odd namespace range of 201 ports, 201.
describe('predict: a socket port range (IP_LOCAL_PORT_RANGE)', () => {
  const client = (sysctlRange: string, socketRange: string, env: Environment = ASSUMED_ENVIRONMENT) =>
    predict(scenario(`clients: { socketPortRange: "${socketRange}", sysctls: { net.ipv4.ip_local_port_range: "${sysctlRange}" } }`), env)
      .clients[0]!;

  it("searches the socket's range whole, odd or not: no parity scan leaves an end out", () => {
    expect(client('61000 61999', '61100 61300').connections).toEqual({ min: 201, max: 201 });
    // The namespace's odd range alone gives an interval; named on each socket, it is used whole.
    expect(
      predict(scenario('clients: { sysctls: { net.ipv4.ip_local_port_range: "61000 61200" } }'), ASSUMED_ENVIRONMENT).clients[0]!
        .connections,
    ).toEqual({ min: 200, max: 201 });
    expect(client('61000 61200', '61000 61200').connections).toEqual({ min: 201, max: 201 });
    expect(client('61000 61999', '61100 61300').portRange).toEqual(range(61100, 61300));
  });

  it("ignores a bound that lies outside the namespace's range, each bound on its own (inet_sk_get_local_port_range)", () => {
    expect(socketPortRange(range(61000, 61999), range(50000, 61199))).toEqual(range(61000, 61199));
    expect(socketPortRange(range(61000, 61999), range(61900, 65000))).toEqual(range(61900, 61999));
    expect(socketPortRange(range(61000, 61999), range(1, 65535))).toEqual(range(61000, 61999));
    const low = client('61000 61999', '50000 61199');
    expect(low.connections).toEqual({ min: 200, max: 200 });
    expect(low.reasoning.join('\n')).toMatch(/its low 50000: outside the namespace's range, so the namespace's bound stands/);
  });

  it("skips Docker's DNS listener and reserved ports inside the socket's range, as inside the namespace's", () => {
    const env: Environment = {
      ...ASSUMED_ENVIRONMENT,
      containers: {
        server: facts(range(32768, 60999)),
        'client-1': facts(range(40000, 40999), { boundPorts: [40150], reservedPorts: '40101' }),
      },
    };
    expect(client('40000 40999', '40100 40300', env).connections).toEqual({ min: 199, max: 199 });
  });
});
