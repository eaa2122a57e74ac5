import { describe, expect, it } from 'vitest';
import { ScenarioError } from '../../orchestrator/scenario/load-scenario.ts';
import { axisPath, crossProduct, parseSweep } from '../../orchestrator/scenario/sweep-file.ts';

const RANGE_WIDTH = `name: range-width
server: { ports: [5000] }
clients: { count: 1, sysctls: { net.ipv4.ip_local_port_range: "61000 61499" } }
sweep:
  clients.sysctls.net.ipv4.ip_local_port_range: ["61000 61499", "61000 61999", "61000 62999", "61000 64999"]
  clients.count: [1, 2]
`;

const GROUPS = `server: { ports: [5000, 5001] }
clients:
  - name: bind-zero
    bind: port-zero
  - name: plain
sweep:
  clients.bind-zero.targets: [[5000], [5000, 5001]]
`;

/** The one line a bad sweep file gives. */
function errorOf(text: string, file = 'sweeps/s.yml'): string {
  try {
    parseSweep(text, file, 's');
  } catch (error) {
    if (error instanceof ScenarioError) return error.message;
    throw error;
  }
  throw new Error('expected a ScenarioError');
}

describe('axis paths', () => {
  it("everything after sysctls. is the sysctl's own name, dots and all", () => {
    expect(axisPath('clients.sysctls.net.ipv4.ip_local_port_range', {})).toEqual(['clients', 'sysctls', 'net.ipv4.ip_local_port_range']);
    expect(axisPath('server.sysctls.net.core.somaxconn', {})).toEqual(['server', 'sysctls', 'net.core.somaxconn']);
    expect(axisPath('clients.ulimits.nofile', {})).toEqual(['clients', 'ulimits', 'nofile']);
  });

  it('a named group of a list of clients is addressed by its name', () => {
    const document = { clients: [{ name: 'bind-zero' }, { name: 'plain' }] };
    expect(axisPath('clients.plain.targets', document)).toEqual(['clients', 1, 'targets']);
    expect(axisPath('clients.plain.sysctls.net.ipv4.tcp_tw_reuse', document)).toEqual(['clients', 1, 'sysctls', 'net.ipv4.tcp_tw_reuse']);
    expect(axisPath('clients.other.targets', document)).toBe(
      'clients is a list of named groups; name one, as clients.<group>.<field> (groups: bind-zero, plain)',
    );
    expect(axisPath('clients.count', document)).toMatch(/^clients is a list of named groups/);
  });

  it('the name cannot be swept, and a path has no empty segment', () => {
    expect(axisPath('name', {})).toMatch(/^name cannot be swept/);
    expect(axisPath('clients..count', {})).toBe('expected a dotted path such as clients.count');
  });
});

describe('crossProduct', () => {
  it('every combination, the first axis varying slowest', () => {
    expect(crossProduct([{ values: ['a', 'b'] }, { values: [1, 2, 3] }])).toEqual([
      [0, 0],
      [0, 1],
      [0, 2],
      [1, 0],
      [1, 1],
      [1, 2],
    ]);
    expect(crossProduct([{ values: [1] }])).toEqual([[0]]);
  });
});

describe('parseSweep', () => {
  it('builds every point as a complete scenario, named after the sweep, with its axis values', () => {
    const sweep = parseSweep(RANGE_WIDTH, 'sweeps/range-width.yml', 'range-width');
    expect(sweep.name).toBe('range-width');
    expect(sweep.axes.map((axis) => axis.key)).toEqual(['clients.sysctls.net.ipv4.ip_local_port_range', 'clients.count']);
    expect(sweep.points).toHaveLength(8);
    const fourth = sweep.points[3]!;
    expect(fourth.index).toBe(4);
    expect(fourth.values).toEqual({ 'clients.sysctls.net.ipv4.ip_local_port_range': '61000 61999', 'clients.count': 2 });
    expect(fourth.scenario.name).toBe('range-width-4');
    expect(fourth.scenario.clients[0]).toMatchObject({ count: 2, sysctls: { 'net.ipv4.ip_local_port_range': '61000 61999' } });
    expect(fourth.scenario.description).toBe('(clients.sysctls.net.ipv4.ip_local_port_range = 61000 61999; clients.count = 2)');
  });

  it("an axis of several fields sets each to its one value: an application's setting and the expectation that follows it", () => {
    const text = `server:
  image: portlab.invalid/haproxy:2.6
  ports: [8080]
  environment: { BACKLOG: 100 }
sweep:
  server.environment.MAXCONN, server.expect.holds: [100, 200]
`;
    const sweep = parseSweep(text, 'sweeps/h.yml', 'h');
    expect(sweep.axes).toEqual([
      {
        key: 'server.environment.MAXCONN, server.expect.holds',
        paths: [
          ['server', 'environment', 'MAXCONN'],
          ['server', 'expect', 'holds'],
        ],
        values: [100, 200],
      },
    ]);
    expect(sweep.points.map((point) => [point.scenario.server.environment, point.scenario.server.expect])).toEqual([
      [['BACKLOG=100', 'MAXCONN=100'], { holds: 100 }],
      [['BACKLOG=100', 'MAXCONN=200'], { holds: 200 }],
    ]);
    // Each field is checked: a value one of them cannot take is that axis's problem, named with the field.
    expect(errorOf(text.replace('[100, 200]', '[100, -1]'))).toMatch(
      /^sweeps\/s\.yml:6:\d+ sweep\.server\.environment\.MAXCONN, server\.expect\.holds\[1\]: value -1 makes point 2 invalid: server\.expect\.holds: expected a whole number of connections/,
    );
    expect(errorOf(text.replace('server.expect.holds', 'server.expect.hold'))).toBe(
      'sweeps/s.yml:2:3 server.expect.holds: point 1 (server.environment.MAXCONN, server.expect.hold = 100): expected a whole number of connections, or { atLeast, atMost } (either or both, whole numbers), found nothing',
    );
  });

  it("sets a named group's field and leaves the other group alone", () => {
    const sweep = parseSweep(GROUPS, 'sweeps/g.yml', 'g');
    expect(sweep.points.map((point) => point.scenario.clients.map((group) => group.targets))).toEqual([
      [[5000], undefined],
      [[5000, 5001], undefined],
    ]);
  });

  it('an axis that names no group: one line with the file, the axis and its position', () => {
    expect(errorOf(GROUPS.replace('clients.bind-zero.targets', 'clients.bind-one.targets'))).toBe(
      'sweeps/s.yml:7:3 sweep.clients.bind-one.targets: clients is a list of named groups; name one, as clients.<group>.<field> (groups: bind-zero, plain)',
    );
  });

  it('a value that makes a point invalid: the file, the axis, the value and why', () => {
    const text = RANGE_WIDTH.replace('"61000 64999"]', '"61000 70000"]');
    expect(errorOf(text)).toBe(
      'sweeps/s.yml:5:95 sweep.clients.sysctls.net.ipv4.ip_local_port_range[3]: value 61000 70000 makes point 7 invalid: clients.sysctls.net.ipv4.ip_local_port_range: high (70000) must be from 1 to 65535',
    );
    expect(errorOf(RANGE_WIDTH.replace('clients.count: [1, 2]', 'clients.count: [1, 0]'))).toMatch(
      /^sweeps\/s\.yml:6:22 sweep\.clients\.count\[1\]: value 0 makes point 2 invalid: clients\.count: expected a positive whole number/,
    );
  });

  it("an unknown field on an axis is that axis's problem", () => {
    expect(errorOf(RANGE_WIDTH.replace('clients.count:', 'clients.cuont:'))).toMatch(
      /^sweeps\/s\.yml:6:\d+ sweep\.clients\.cuont\[0\]: value 1 makes point 1 invalid: clients\.cuont: unknown key "cuont"; expected one of: /,
    );
  });

  it('a rule across fields broken at one point names the point and its values', () => {
    const text = `server: { ports: [5000] }
clients: { targets: [5000] }
sweep:
  server.ports: [[5000], [5001]]
`;
    expect(errorOf(text)).toBe(
      'sweeps/s.yml:2:22 clients.targets[0]: point 2 (server.ports = 5001): port 5000 is not one of server.ports (5001)',
    );
  });

  it('no sweep map, an empty axis, too many points: one line each', () => {
    expect(errorOf('clients: { count: 1 }\n')).toBe(
      'sweeps/s.yml:1:1 expected a sweep: map of axes, each a dotted path into the scenario and a list of values',
    );
    expect(errorOf('sweep:\n  clients.count: []\n')).toBe(
      'sweeps/s.yml:2:18 sweep.clients.count: expected a list of values, found an empty list',
    );
    expect(errorOf('sweep:\n  clients.count: 3\n')).toBe('sweeps/s.yml:2:18 sweep.clients.count: expected a list of values, found 3');
    const many = `sweep:\n  clients.count: [${Array.from({ length: 11 }, (_, i) => i + 1).join(', ')}]\n  server.backlog: [${Array.from({ length: 10 }, (_, i) => i + 1).join(', ')}]\n`;
    expect(errorOf(many)).toBe('sweeps/s.yml:1:1 sweep: 110 points; a sweep has at most 100 (each is a real run)');
  });
});
