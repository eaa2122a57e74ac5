import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { compileCompose, ulaSubnet } from '../../orchestrator/compile/compile-compose.ts';
import { loadComposeBase } from '../../orchestrator/engine/compose-base.ts';
import { ASSUMED_ENVIRONMENT } from '../../orchestrator/predict/environment.ts';
import { predict } from '../../orchestrator/predict/predict.ts';
import { parseScenario, ScenarioError } from '../../orchestrator/scenario/load-scenario.ts';

const scenario = (yaml: string) => parseScenario(yaml, 'test.yml', 'test');
const problems = (yaml: string) => {
  try {
    scenario(yaml);
    return [];
  } catch (error) {
    return (error as ScenarioError).problems.map((problem) => `${problem.path}: ${problem.message}`);
  }
};
const RANGE = 'sysctls: { net.ipv4.ip_local_port_range: "61000 61999" }';

describe('IPv6 and dual stack: a scenario names the family each client group connects over', () => {
  it('an IPv6 family needs the scenario ipv6: true, and the IPv4-only settings are refused with it, one line each', () => {
    expect(problems('clients: { family: dual }\n')).toEqual([
      'clients.family: family dual needs ipv6: true on the scenario (a dual-stack network)',
    ]);
    expect(problems('ipv6: true\nclients: { family: dual, sourceAddresses: 2 }\n')).toEqual([
      'clients.sourceAddresses: several source addresses take one family (ipv4 or ipv6), not dual',
    ]);
    expect(problems('ipv6: true\nclients: { family: ipv6, sourceAddresses: 2 }\n')).toEqual([]);
    expect(problems('ipv6: true\nclients: { family: ipv6, bind: port-zero }\n')).toEqual([
      'clients.bind: bind before connect is IPv4 only for now: use family: ipv4',
    ]);
    expect(problems('ipv6: true\nclients: { family: ipv4, sourceAddresses: 2 }\n')).toEqual([]);
    expect(problems('ipv6: true\nclients: { family: ipv5 }\n')).toEqual([
      'clients.family: expected "ipv4", "ipv6" or "dual", found "ipv5"',
    ]);
    expect(problems('ipv6: yes\n')).toEqual(['ipv6: expected true or false, found "yes"']);
  });

  it("the server's IPv4 and IPv6 addresses are two destinations: dual doubles the port range, each family alone gets it once", () => {
    const prediction = predict(
      scenario(
        `ipv6: true\nclients:\n  - { name: four, ${RANGE} }\n  - { name: six, family: ipv6, ${RANGE} }\n  - { name: both, family: dual, ${RANGE} }\n`,
      ),
      ASSUMED_ENVIRONMENT,
    );
    expect(prediction.clients.map((client) => [client.name, client.connections.max, client.limit])).toEqual([
      ['four-1', 1000, 'port-range'],
      ['six-1', 1000, 'port-range'],
      ['both-1', 2000, 'port-range'],
    ]);
    expect(prediction.clients[2]!.reasoning.join('\n')).toContain("at both of the server's addresses, IPv4 and IPv6");
    expect(prediction.clients[1]!.reasoning.join('\n')).toContain("at the server's IPv6 address");
  });

  it('compiles a dual-stack network with a unique-local /64 of the run, the server listening on both families', async () => {
    const parsed = scenario(`ipv6: true\nclients: { family: dual, ${RANGE} }\n`);
    const prediction = predict(parsed, ASSUMED_ENVIRONMENT);
    const { yaml } = compileCompose({
      scenario: parsed,
      prediction,
      base: await loadComposeBase(),
      image: 'portlab.invalid/probe:x',
      projectName: 'portlab-test-ab12cd',
    });
    const project = parse(yaml);
    expect(project.networks.portlab).toMatchObject({ enable_ipv6: true, ipam: { config: [{ subnet: ulaSubnet('portlab-test-ab12cd') }] } });
    expect(ulaSubnet('portlab-test-ab12cd')).toMatch(/^fd[0-9a-f]{0,2}:[0-9a-f]{1,4}:[0-9a-f]{1,4}:[0-9a-f]{1,4}::\/64$/);
    expect(ulaSubnet('portlab-test-ab12cd')).not.toBe(ulaSubnet('portlab-test-ef34gh'));
    expect(project.services.server.command.join(' ')).toContain('--family dual');
    expect(project.services['client-1'].command.join(' ')).toContain('--family dual');
    // An IPv4 scenario is compiled as before: no IPv6 anywhere.
    const plain = scenario(`clients: { ${RANGE} }\n`);
    const before = compileCompose({
      scenario: plain,
      prediction: predict(plain, ASSUMED_ENVIRONMENT),
      base: await loadComposeBase(),
      image: 'portlab.invalid/probe:x',
      projectName: 'p',
    });
    expect(before.yaml).not.toMatch(/ipv6|--family/);
  });
});

describe('IPv6 where portlab does not make the network', () => {
  it('a swarm refuses an ipv6 scenario in one line before anything exists', async () => {
    const { runCli } = await import('../cli/run-cli.ts');
    const result = await runCli(['dual-stack', '--engine', 'swarm', '--dry-run']);
    expect(result.exitCode).toBe(2);
    expect(result.stderr.trim().split('\n')).toEqual([
      expect.stringMatching(/^portlab: dual-stack: ipv6 needs a dual-stack network, .*run it on the local engine$/),
    ]);
  });
});
