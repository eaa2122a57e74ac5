import { mkdtemp, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  formatProblem,
  loadScenario,
  parseScenario,
  ScenarioError,
  type ScenarioProblem,
} from '../../orchestrator/scenario/load-scenario.ts';
import { parseDuration } from '../../orchestrator/scenario/duration.ts';

/** The problems a scenario text produces, or a failure if it parses. */
function problemsOf(text: string): ScenarioProblem[] {
  try {
    parseScenario(text, 'scenarios/t.yml', 't');
  } catch (error) {
    if (error instanceof ScenarioError) return error.problems;
    throw error;
  }
  throw new Error('expected the scenario to be rejected');
}

const onlyProblem = (text: string) => {
  const problems = problemsOf(text);
  expect(problems).toHaveLength(1);
  return problems[0]!;
};

describe('scenario defaults', () => {
  it("fills every default of the README's reference and names the scenario after its file", () => {
    const scenario = parseScenario('{}', 'scenarios/empty.yml', 'empty');
    expect(scenario).toEqual({
      name: 'empty',
      description: '',
      ipv6: false,
      server: {
        ports: [5000],
        ulimits: {},
        backlog: 4096,
        sysctls: {},
        processes: 'auto',
        placement: { constraints: [] },
        network: 'run',
      },
      clients: [
        {
          name: 'client',
          count: 1,
          ulimits: {},
          sysctls: {},
          mode: 'hold',
          connectTimeout: '5s',
          processes: 'auto',
          bind: 'none',
          sourceAddresses: 1,
          family: 'ipv4',
          close: 'client',
          placement: { constraints: [] },
        },
      ],
      expect: { tolerance: 0 },
    });
  });

  it('accepts both compose ulimit forms and normalises them to { soft, hard }', () => {
    const scenario = parseScenario(
      'server: { ulimits: { nofile: 1000 } }\nclients: { ulimits: { nofile: { soft: 10, hard: 20 } } }',
      'f.yml',
      'f',
    );
    expect(scenario.server.ulimits.nofile).toEqual({ soft: 1000, hard: 1000 });
    expect(scenario.clients[0]?.ulimits.nofile).toEqual({ soft: 10, hard: 20 });
  });

  it('accepts both compose sysctl forms and keeps the kernel text', () => {
    const map = parseScenario(
      'clients: { sysctls: { net.ipv4.tcp_tw_reuse: 1, net.ipv4.ip_local_port_range: "1024 65535" } }',
      'f.yml',
      'f',
    );
    const list = parseScenario(
      'clients: { sysctls: ["net.ipv4.tcp_tw_reuse=1", "net.ipv4.ip_local_port_range=1024 65535"] }',
      'f.yml',
      'f',
    );
    expect(map.clients[0]?.sysctls).toEqual({ 'net.ipv4.tcp_tw_reuse': '1', 'net.ipv4.ip_local_port_range': '1024 65535' });
    expect(list.clients[0]?.sysctls).toEqual(map.clients[0]?.sysctls);
  });

  it("fills each phase with the group's settings where it sets none", () => {
    const scenario = parseScenario(
      'server: { ports: [5000, 5001] }\nclients:\n  duration: 5s\n  rate: 100\n  phases:\n    - { mode: churn, targets: [5000] }\n    - { mode: hold, targets: [5001], close: server }\n',
      'f.yml',
      'f',
    );
    expect(scenario.clients[0]?.phases).toEqual([
      { mode: 'churn', targets: [5000], duration: '5s', rate: 100, close: 'client' },
      { mode: 'hold', targets: [5001], duration: '5s', rate: 100, close: 'server' },
    ]);
  });

  it('accepts a list of named client groups, each with its own settings', () => {
    const scenario = parseScenario(
      'clients:\n  - { name: bind-zero, bind: port-zero }\n  - { name: fixed, count: 2, bind: { port: 3000, reuseAddr: true } }\n',
      'f.yml',
      'f',
    );
    expect(scenario.clients.map((group) => [group.name, group.count, group.bind])).toEqual([
      ['bind-zero', 1, 'port-zero'],
      ['fixed', 2, { port: 3000, reuseAddr: true }],
    ]);
  });
});

describe('validation rules: each names file, line, column, path, expectation and what was found', () => {
  const cases: Array<{ rule: string; text: string; expected: Omit<ScenarioProblem, 'file'> }> = [
    {
      rule: 'unknown keys are errors and list what is allowed',
      text: 'server:\n  ports: [5000]\n  colour: red\n',
      expected: {
        line: 3,
        column: 3,
        path: 'server.colour',
        message:
          'unknown key "colour"; expected one of: ports, ulimits, backlog, sysctls, processes, placement, network, image, command, environment, volumes, observeEvery, expect',
      },
    },
    {
      rule: 'unknown top-level keys too',
      text: 'clients: {}\nexpects: {}\n',
      expected: {
        line: 2,
        column: 1,
        path: 'expects',
        message: 'unknown key "expects"; expected one of: name, description, ipv6, server, clients, expect',
      },
    },
    {
      rule: 'a count must be a positive whole number',
      text: 'clients:\n  count: two\n',
      expected: { line: 2, column: 10, path: 'clients.count', message: 'expected a positive whole number, found "two"' },
    },
    {
      rule: 'zero clients is not an experiment',
      text: 'clients:\n  count: 0\n',
      expected: { line: 2, column: 10, path: 'clients.count', message: 'expected a positive whole number, found 0' },
    },
    {
      rule: 'ports are 1..65535',
      text: 'server:\n  ports: [5000, 70000]\n',
      expected: { line: 2, column: 17, path: 'server.ports[1]', message: 'expected a port from 1 to 65535, found 70000' },
    },
    {
      rule: 'listen ports are unique',
      text: 'server:\n  ports: [5000, 5001, 5000]\n',
      expected: { line: 2, column: 23, path: 'server.ports[2]', message: 'port 5000 is listed twice; listen ports must be unique' },
    },
    {
      rule: 'client targets must be server ports',
      text: 'server:\n  ports: [5000]\nclients:\n  targets: [5001]\n',
      expected: { line: 4, column: 13, path: 'clients.targets[0]', message: 'port 5001 is not one of server.ports (5000)' },
    },
    {
      rule: 'nofile takes a number or { soft, hard }',
      text: 'clients:\n  ulimits:\n    nofile: lots\n',
      expected: { line: 3, column: 13, path: 'clients.ulimits.nofile', message: 'expected a whole number or { soft, hard }, found "lots"' },
    },
    {
      rule: 'soft nofile cannot exceed hard',
      text: 'clients:\n  ulimits:\n    nofile: { soft: 200, hard: 100 }\n',
      expected: { line: 3, column: 13, path: 'clients.ulimits.nofile', message: 'soft (200) must be <= hard (100)' },
    },
    {
      rule: 'only nofile is modelled among ulimits',
      text: 'clients:\n  ulimits:\n    nproc: 10\n',
      expected: { line: 3, column: 5, path: 'clients.ulimits.nproc', message: 'unknown key "nproc"; expected one of: nofile' },
    },
    {
      rule: 'port range low <= high',
      text: 'clients:\n  sysctls:\n    net.ipv4.ip_local_port_range: "60000 1024"\n',
      expected: {
        line: 3,
        column: 35,
        path: 'clients.sysctls.net.ipv4.ip_local_port_range',
        message: 'low (60000) must be <= high (1024)',
      },
    },
    {
      rule: 'port range within the kernel maximum',
      text: 'clients:\n  sysctls:\n    net.ipv4.ip_local_port_range: "1024 70000"\n',
      expected: {
        line: 3,
        column: 35,
        path: 'clients.sysctls.net.ipv4.ip_local_port_range',
        message: 'high (70000) must be from 1 to 65535',
      },
    },
    {
      rule: 'port range 0 is refused by the kernel',
      text: 'clients:\n  sysctls: ["net.ipv4.ip_local_port_range=0 100"]\n',
      expected: { line: 2, column: 12, path: 'clients.sysctls.net.ipv4.ip_local_port_range', message: 'low (0) must be from 1 to 65535' },
    },
    {
      rule: 'port range needs two numbers',
      text: 'clients:\n  sysctls:\n    net.ipv4.ip_local_port_range: "1024-65535"\n',
      expected: {
        line: 3,
        column: 35,
        path: 'clients.sysctls.net.ipv4.ip_local_port_range',
        message: 'expected two port numbers such as "1024 65535", found "1024-65535"',
      },
    },
    {
      rule: 'fs.* is not namespaced',
      text: 'clients:\n  sysctls:\n    fs.file-max: 100\n',
      expected: {
        line: 3,
        column: 18,
        path: 'clients.sysctls.fs.file-max',
        message:
          'not namespaced: Docker cannot set it per container (only per-network-namespace net.* sysctls, such as net.ipv4.ip_local_port_range; set fs.file-max on the host)',
      },
    },
    {
      rule: 'kernel.* is not namespaced',
      text: 'server:\n  sysctls:\n    kernel.pid_max: 100\n',
      expected: {
        line: 3,
        column: 21,
        path: 'server.sysctls.kernel.pid_max',
        message:
          'not namespaced: Docker cannot set it per container (only per-network-namespace net.* sysctls, such as net.ipv4.ip_local_port_range; set kernel.pid_max on the host)',
      },
    },
    {
      rule: 'the conntrack table size is global',
      text: 'server:\n  sysctls:\n    net.netfilter.nf_conntrack_max: 10\n',
      expected: {
        line: 3,
        column: 37,
        path: 'server.sysctls.net.netfilter.nf_conntrack_max',
        message: 'not namespaced: the conntrack table size is global; Docker cannot set it per container (set it on the host)',
      },
    },
    {
      rule: 'tcp_tw_reuse is 0, 1 or 2',
      text: 'clients:\n  sysctls:\n    net.ipv4.tcp_tw_reuse: 3\n',
      expected: {
        line: 3,
        column: 28,
        path: 'clients.sysctls.net.ipv4.tcp_tw_reuse',
        message: 'expected a whole number from 0 to 2, found "3"',
      },
    },
    {
      rule: 'durations parse',
      text: 'clients:\n  duration: 30 seconds\n',
      expected: {
        line: 2,
        column: 13,
        path: 'clients.duration',
        message: 'expected a duration such as "30s", "2m" or "1m30s", found "30 seconds"',
      },
    },
    {
      rule: 'churn needs a duration',
      text: 'clients:\n  mode: churn\n',
      expected: { line: 2, column: 3, path: 'clients.duration', message: 'churn mode needs a duration (how long to churn), such as "30s"' },
    },
    {
      rule: 'mode is hold or churn',
      text: 'clients:\n  mode: burst\n',
      expected: { line: 2, column: 9, path: 'clients.mode', message: 'expected "hold" or "churn", found "burst"' },
    },
    {
      rule: 'processes is auto or a number',
      text: 'server:\n  processes: many\n',
      expected: { line: 2, column: 14, path: 'server.processes', message: 'expected "auto" or a whole number from 1 to 256, found "many"' },
    },
    {
      rule: 'tolerance is a count or a percentage',
      text: 'expect:\n  tolerance: lots\n',
      expected: {
        line: 2,
        column: 14,
        path: 'expect.tolerance',
        message: 'expected a whole number of connections (>= 0) or a percentage such as "0.5%", found "lots"',
      },
    },
    {
      rule: 'names are lower-case, digits and dashes',
      text: 'name: Wide Range\n',
      expected: {
        line: 1,
        column: 7,
        path: 'name',
        message: 'expected a name of lower-case letters, digits and dashes, at most 48 characters, found "Wide Range"',
      },
    },
    {
      rule: 'groups in a list need names',
      text: 'clients:\n  - count: 2\n',
      expected: { line: 2, column: 5, path: 'clients[0]', message: 'each group in a list of clients needs a name' },
    },
    {
      rule: 'group names are unique',
      text: 'clients:\n  - name: a\n  - name: a\n',
      expected: { line: 3, column: 11, path: 'clients[1].name', message: 'client group "a" is named twice; names must be unique' },
    },
    {
      rule: 'a group cannot be called server',
      text: 'clients:\n  - name: server\n',
      expected: {
        line: 2,
        column: 11,
        path: 'clients[0].name',
        message: 'expected a name of lower-case letters, digits and dashes, at most 32 characters (not "server"), found "server"',
      },
    },
    {
      rule: 'rules apply per group, with the group in the path',
      text: 'clients:\n  - name: a\n  - name: b\n    mode: churn\n',
      expected: {
        line: 3,
        column: 5,
        path: 'clients[1].duration',
        message: 'churn mode needs a duration (how long to churn), such as "30s"',
      },
    },
    {
      rule: 'bind takes a known mode',
      text: 'clients:\n  bind: always\n',
      expected: {
        line: 2,
        column: 9,
        path: 'clients.bind',
        message: 'expected none, port-zero, port-zero-no-reserve, or { port, reuseAddr }, found "always"',
      },
    },
    {
      rule: 'a fixed bind port is a port',
      text: 'clients:\n  bind: { port: 0 }\n',
      expected: { line: 2, column: 17, path: 'clients.bind.port', message: 'expected a port from 1 to 65535, found 0' },
    },
    {
      rule: 'several source addresses need bind: none',
      text: 'clients:\n  sourceAddresses: 2\n  bind: port-zero\n',
      expected: {
        line: 2,
        column: 20,
        path: 'clients.sourceAddresses',
        message: 'several source addresses need bind: none (the client binds each address itself, leaving the port to connect())',
      },
    },
    {
      rule: 'source addresses are 1 to 8',
      text: 'clients:\n  sourceAddresses: 9\n',
      expected: { line: 2, column: 20, path: 'clients.sourceAddresses', message: 'expected a whole number from 1 to 8, found 9' },
    },
    {
      rule: 'rate applies to churn only',
      text: 'clients:\n  rate: 100\n',
      expected: { line: 2, column: 9, path: 'clients.rate', message: 'rate applies to churn mode only (this group holds its connections)' },
    },
    {
      rule: 'close is client or server',
      text: 'clients:\n  mode: churn\n  duration: 5s\n  close: both\n',
      expected: { line: 4, column: 10, path: 'clients.close', message: 'expected "client" or "server", found "both"' },
    },
    {
      rule: 'a server that closes first closes every connection, so every group must churn with close: server',
      text: 'clients:\n  - { name: a, mode: churn, duration: 5s, close: server }\n  - { name: b }\n',
      expected: {
        line: 3,
        column: 5,
        path: 'clients[1]',
        message: 'close: server makes the server close every connection first, so every client group must churn with close: server',
      },
    },
    {
      rule: 'a churn phase needs a duration',
      text: 'clients:\n  phases:\n    - mode: churn\n',
      expected: {
        line: 3,
        column: 7,
        path: 'clients.phases[0].duration',
        message: "a churn phase needs a duration (its own or the group's)",
      },
    },
    {
      rule: 'phase targets are server ports',
      text: 'clients:\n  phases:\n    - { mode: hold, targets: [6000] }\n',
      expected: { line: 3, column: 31, path: 'clients.phases[0].targets[0]', message: 'port 6000 is not one of server.ports (5000)' },
    },
    {
      rule: 'phases run in one process',
      text: 'clients:\n  processes: 2\n  phases:\n    - { mode: hold }\n',
      expected: { line: 4, column: 5, path: 'clients.phases', message: 'phases run in one process with bind: none and one source address' },
    },
    {
      rule: 'a section must be a map',
      text: 'server: 5000\n',
      expected: {
        line: 1,
        column: 9,
        path: 'server',
        message:
          'expected a map with keys such as ports, ulimits, backlog, sysctls, processes, placement, network, image, command, environment, volumes, observeEvery, expect, found 5000',
      },
    },
  ];

  it.each(cases)('$rule', ({ text, expected }) => {
    expect(onlyProblem(text)).toEqual({ file: 'scenarios/t.yml', ...expected });
  });

  it('reports every problem of a file at once', () => {
    const problems = problemsOf('server:\n  ports: [0]\n  colour: red\nclients:\n  count: -1\n');
    expect(problems.map((problem) => problem.path)).toEqual(['server.ports[0]', 'server.colour', 'clients.count']);
  });

  it('reports YAML syntax errors with their position', () => {
    expect(onlyProblem('server:\n  ports: [5000\n')).toMatchObject({ file: 'scenarios/t.yml', line: 3, path: '' });
    expect(onlyProblem('server: {}\nserver: {}\n').message).toMatch(/^not valid YAML: Map keys must be unique/);
  });

  it('formats a problem as file:line:column path: message', () => {
    expect(
      formatProblem({
        file: 'scenarios/w.yml',
        line: 7,
        column: 5,
        path: 'clients.count',
        message: 'expected a positive whole number, found 0',
      }),
    ).toBe('scenarios/w.yml:7:5 clients.count: expected a positive whole number, found 0');
    expect(formatProblem({ file: 'scenarios/w.yml', path: '', message: 'no such file' })).toBe('scenarios/w.yml no such file');
  });
});

describe('loading files', () => {
  it('resolves a bare name to scenarios/<name>.yml', async () => {
    const { scenario } = await loadScenario('default-range');
    expect(scenario.name).toBe('default-range');
    expect(scenario.clients[0]?.count).toBe(2);
  });

  it('uses a path as given, relative to the caller', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'portlab-'));
    await writeFile(path.join(dir, 'mine.yml'), 'clients: { count: 3 }\n');
    const { scenario } = await loadScenario('./mine.yml', dir);
    expect(scenario).toMatchObject({ name: 'mine', clients: [{ name: 'client', count: 3 }] });
  });

  it('names a missing file and lists the shipped scenarios', async () => {
    const error = await loadScenario('no-such-scenario').catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(ScenarioError);
    expect((error as ScenarioError).problems[0]?.message).toMatch(/^no such file; shipped scenarios: .*default-range.*wide-range/);
  });
});

describe('durations', () => {
  it.each([
    ['30s', 30_000],
    ['2m', 120_000],
    ['1m30s', 90_000],
    ['500ms', 500],
    ['1h', 3_600_000],
  ])('%s is %d ms', (text, ms) => expect(parseDuration(text)).toBe(ms));

  it.each(['', '30', 's', '1.5s', '-1s', '2 m'])('%j is not a duration', (text) => expect(parseDuration(text)).toBeUndefined());
});
