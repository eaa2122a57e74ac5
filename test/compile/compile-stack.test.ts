import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { compileStack, stackNamespace } from '../../orchestrator/compile/compile-stack.ts';
import { loadComposeBase } from '../../orchestrator/engine/compose-base.ts';
import { serviceSpecBody } from '../../orchestrator/engine/docker/services.ts';
import { taskLine } from '../../orchestrator/engine/docker/logs.ts';
import { ASSUMED_SWARM_ENVIRONMENT, type Environment } from '../../orchestrator/predict/environment.ts';
import { nodePlan } from '../../orchestrator/predict/node-plan.ts';
import { predict } from '../../orchestrator/predict/predict.ts';
import { loadScenario, parseScenario } from '../../orchestrator/scenario/load-scenario.ts';
import { stopsWith } from '../../orchestrator/predict/prediction-schema.ts';

const IMAGE = 'portlab.invalid/probe:0123456789ab';

async function compileShipped(name: string, env: Environment = ASSUMED_SWARM_ENVIRONMENT) {
  const { scenario } = await loadScenario(name);
  return compileStack({
    scenario,
    prediction: predict(scenario, env),
    base: await loadComposeBase(),
    image: IMAGE,
    projectName: `portlab-${scenario.name}`,
  });
}

describe("compileStack (the swarm engine's compose file)", () => {
  it('default-range compiles to the golden stack file', async () => {
    await expect((await compileShipped('default-range')).yaml).toMatchFileSnapshot('./golden/default-range.stack.yml');
  });

  it('a client group is one service whose replicas are its containers, all on the overlay network, the server in dnsrr mode', async () => {
    const { project, containers } = await compileShipped('default-range');
    expect(Object.keys(project.services)).toEqual(['server', 'client']);
    expect(containers).toEqual({ server: ['server'], client: ['client-1', 'client-2'] });
    expect(project.services.client?.deploy).toMatchObject({ replicas: 2, endpoint_mode: 'dnsrr', restart_policy: { condition: 'none' } });
    expect(project.services.server?.deploy).toMatchObject({ replicas: 1, endpoint_mode: 'dnsrr' });
    expect(project.networks).toEqual({ portlab: { driver: 'overlay', attachable: true, labels: { 'io.portlab.managed': 'true' } } });
    // What docker stack deploy would only warn about is left out.
    expect(project.services.client).not.toHaveProperty('restart');
    expect(project.services.client).not.toHaveProperty('depends_on');
    expect(project.services.client?.command?.slice(0, 3)).toEqual(['client', '--server', 'server']);
  });

  it('placement: constraints and perNode become deploy.placement (max_replicas_per_node), and the file says version 3.9', async () => {
    const { yaml } = await compileShipped('scenarios/swarm/million-connections.yml');
    const file = parse(yaml) as { version: string; services: Record<string, { deploy: { placement?: unknown; replicas: number } }> };
    expect(file.version).toBe('3.9');
    expect(file.services.client?.deploy).toMatchObject({
      replicas: 64,
      placement: { constraints: ['node.labels.portlab == client'], max_replicas_per_node: 4 },
    });
    expect(file.services.server?.deploy.placement).toEqual({ constraints: ['node.labels.portlab == server'] });
  });

  it('a stack keeps its project name unless <namespace>_<service> would pass 63 characters', () => {
    expect(stackNamespace('portlab-default-range-abc123', 'abc123', ['server', 'client'])).toBe('portlab-default-range-abc123');
    const long = `portlab-${'a'.repeat(48)}-abc123`;
    expect(stackNamespace(long, 'abc123', ['server', 'client'])).toBe('portlab-abc123');
  });
});

describe('service specs (Engine API 1.41)', () => {
  const spec = serviceSpecBody({
    name: 'ns_client',
    image: IMAGE,
    command: ['client', '--server', 'server'],
    labels: { 'com.docker.stack.namespace': 'ns' },
    containerLabels: { 'io.portlab.run-id': 'abc123' },
    network: { id: 'net1', alias: 'client' },
    mode: { replicas: 2 },
    nofile: { soft: 20000, hard: 20000 },
    sysctls: { 'net.ipv4.ip_local_port_range': '1024 65535' },
    capAdd: ['NET_ADMIN'],
    constraints: ['node.role == worker'],
    maxPerNode: 1,
  });

  it('carries sysctls, ulimits and capabilities on the container spec, runs each task once, and resolves by dnsrr', () => {
    expect(spec).toMatchObject({
      Name: 'ns_client',
      Mode: { Replicated: { Replicas: 2 } },
      EndpointSpec: { Mode: 'dnsrr' },
      TaskTemplate: {
        ContainerSpec: {
          Image: IMAGE,
          Args: ['client', '--server', 'server'],
          Labels: { 'io.portlab.run-id': 'abc123' },
          Ulimits: [{ Name: 'nofile', Soft: 20000, Hard: 20000 }],
          Sysctls: { 'net.ipv4.ip_local_port_range': '1024 65535' },
          CapabilityAdd: ['CAP_NET_ADMIN'],
        },
        RestartPolicy: { Condition: 'none' },
        Placement: { Constraints: ['node.role == worker'], MaxReplicas: 1 },
        Networks: [{ Target: 'net1', Aliases: ['client'] }],
      },
    });
  });

  it('preflight runs on every node in its own network namespace, with no endpoint', () => {
    const preflight = serviceSpecBody({
      name: 'p',
      image: IMAGE,
      command: ['limits'],
      labels: {},
      containerLabels: {},
      network: 'host',
      mode: 'global',
    });
    expect(preflight).toMatchObject({ Mode: { Global: {} }, TaskTemplate: { Networks: [{ Target: 'host' }] } });
    expect(preflight).not.toHaveProperty('EndpointSpec');
  });

  it('a service log line with details names its task', () => {
    const line = 'com.docker.swarm.node.id=n1,com.docker.swarm.service.id=s1,com.docker.swarm.task.id=t9x {"event":"ready"}';
    expect(taskLine(line)).toEqual({ task: 't9x', text: '{"event":"ready"}' });
    expect(taskLine('{"event":"ready"}')).toBeNull();
  });
});

describe('the model on an overlay network', () => {
  it("the million-connection plan: conntrack binds on the server node, each client node is bound by its containers' port ranges", async () => {
    const { scenario } = await loadScenario('scenarios/swarm/million-connections.yml');
    const prediction = predict(scenario, ASSUMED_SWARM_ENVIRONMENT);
    expect(prediction.limit).toBe('conntrack');
    expect(prediction.total).toEqual({ min: 262_144 - 64, max: 262_144 });
    const [server, clients] = nodePlan(scenario, prediction, ASSUMED_SWARM_ENVIRONMENT);
    expect(server).toMatchObject({ role: 'server node', nodes: 1, limit: 'conntrack' });
    expect(server?.lines[0]).toContain('of the 16,514,816 the clients could open on their own');
    expect(clients).toMatchObject({
      nodes: 16,
      containersPerNode: 4,
      connections: { min: 1_032_176, max: 1_032_176 },
      limit: 'port-range',
    });
  });

  it("with a larger conntrack table on the server node, the server's descriptors bind there instead", async () => {
    const { scenario } = await loadScenario('scenarios/swarm/million-connections.yml');
    const env = { ...ASSUMED_SWARM_ENVIRONMENT, conntrackMax: 20_000_000 };
    const prediction = predict(scenario, env);
    expect(prediction.limit).toBe('server-nofile');
    expect(nodePlan(scenario, prediction, env)[0]?.limit).toBe('server-nofile');
  });

  it("the hosts' tables are not counted: conntrack entries in use on the host leave the server's namespace free", () => {
    const small = parseScenario('clients:\n  count: 2\n', 't.yml', 't');
    const busyHost = { conntrackMax: 60_000, conntrackInUse: 50_000 };
    expect(predict(small, { ...ASSUMED_SWARM_ENVIRONMENT, ...busyHost }).limit).toBe('port-range');
    expect(predict(small, { ...ASSUMED_SWARM_ENVIRONMENT, network: 'bridge', ...busyHost }).limit).toBe('conntrack');
  });

  it('a client whose own namespace cannot track all its connections is bound by conntrack, with one entry for its DNS lookup', () => {
    const wide = parseScenario(
      'server: { ports: [5000, 5001] }\nclients:\n  sysctls: { net.ipv4.ip_local_port_range: "1024 65535" }\n',
      't.yml',
      't',
    );
    const env = { ...ASSUMED_SWARM_ENVIRONMENT, conntrackMax: 100_000 };
    const [client] = predict(wide, env).clients;
    expect(client).toMatchObject({ limit: 'conntrack', error: stopsWith('ETIMEDOUT'), connections: { min: 99_999, max: 100_000 } });
  });

  it("an application of the user's own is one task: its image unchanged, the observer (a config) starting its own command", async () => {
    const { scenario } = await loadScenario('scenarios/swarm/lab-nginx-wrk.yml');
    const input = {
      scenario,
      prediction: predict(scenario, ASSUMED_SWARM_ENVIRONMENT),
      base: await loadComposeBase(),
      image: IMAGE,
      projectName: 'p',
    };
    const images = {
      'portlab.invalid/nginx:1.22': {
        reference: 'registry.example:5000/portlab.invalid/nginx:1.22',
        entrypoint: ['/usr/sbin/nginx', '-g', 'daemon off;'],
        cmd: [],
      },
      'portlab.invalid/wrk:4.1': {
        reference: 'registry.example:5000/portlab.invalid/wrk:4.1',
        entrypoint: ['/usr/bin/wrk'],
        cmd: ['--help'],
      },
    };
    const { project, containers } = compileStack({ ...input, applications: { images, observerFile: '/cache/observer-x' } });
    expect(containers).toEqual({ server: ['server'], wrk: ['wrk-1', 'wrk-2'] });
    expect(project.services.server).toMatchObject({
      image: 'registry.example:5000/portlab.invalid/nginx:1.22',
      entrypoint: ['/portlab-observer'],
      command: ['observe', '--role', 'server', '--ports', '80', '--interval-ms', '250', '--', '/usr/sbin/nginx', '-g', 'daemon off;'],
      cap_add: ['SYS_PTRACE'],
      configs: [
        { source: 'observer', target: '/portlab-observer', mode: 0o555 },
        { source: 'server-file-1', target: '/etc/nginx/nginx.conf', mode: 0o444 },
      ],
    });
    // The scenario's command replaces the image's default command, after its entrypoint (as compose has it).
    expect(project.services.wrk?.command?.slice(-5)).toEqual(['/usr/bin/wrk', '-t1', '-c2000', '-d3s', 'http://server/']);
    expect(project.services.wrk?.sysctls).toEqual({ 'net.ipv4.ip_local_port_range': '10000 10999' });
    expect(project.configs).toEqual({
      observer: { file: '/cache/observer-x' },
      'server-file-1': { file: expect.stringMatching(/scenarios\/files\/nginx-4096\.conf$/) },
    });
    // Its environment goes with it, as compose's list and as the Engine API's Env.
    const withEnv = parseScenario(
      'name: env\nserver:\n  image: my/api:1\n  ports: [8080]\n  environment: { MODE: fast }\nclients: { count: 1 }\n',
      'env.yml',
      'env',
    );
    const envStack = compileStack({
      ...input,
      scenario: withEnv,
      prediction: predict(withEnv, ASSUMED_SWARM_ENVIRONMENT),
      applications: { images: { 'my/api:1': { reference: 'my/api:1', entrypoint: ['/api'], cmd: [] } }, observerFile: '/o' },
    });
    expect(envStack.project.services.server).toMatchObject({ environment: ['MODE=fast'], command: expect.arrayContaining(['--', '/api']) });
    // Before the engine is asked (a dry run), the command it will start is named, not guessed.
    const draft = compileStack({ ...input, applications: { images: {}, observerFile: '/cache/observer-x' } });
    expect(draft.project.services.server?.command?.at(-1)).toBe(
      '<the entrypoint and command of portlab.invalid/nginx:1.22, read from the engine when the run starts>',
    );
    // As the Engine API takes it: the observer as the entrypoint, the configs as files.
    const body = serviceSpecBody({
      name: 'p_server',
      image: 'i',
      command: ['observe'],
      entrypoint: ['/portlab-observer'],
      configs: [{ id: 'c1', name: 'p_observer', target: '/portlab-observer', mode: 0o555 }],
      environment: ['MODE=fast'],
      labels: {},
      containerLabels: {},
      network: { id: 'n', alias: 'server' },
      mode: { replicas: 1 },
    }) as { TaskTemplate: { ContainerSpec: Record<string, unknown> } };
    expect(body.TaskTemplate.ContainerSpec).toMatchObject({
      Command: ['/portlab-observer'],
      Args: ['observe'],
      Env: ['MODE=fast'],
      Configs: [{ ConfigID: 'c1', ConfigName: 'p_observer', File: { Name: '/portlab-observer', UID: '0', GID: '0', Mode: 0o555 } }],
    });
  });
});
