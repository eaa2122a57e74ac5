import { createHash } from 'node:crypto';
import { Document } from 'yaml';
import { clientSteps, serverClosesFirst } from '../scenario/scenario-steps.ts';
import { type Bind, type ClientGroup, type Phase, type Scenario } from '../scenario/scenario-schema.ts';
import { applicationOf, SERVER_NAME } from '../scenario/names.ts';
import { durationMs } from '../scenario/duration.ts';
import { SCENARIO_DEFAULTS } from '../scenario/scenario-defaults.ts';
import { totalBudget, workersTakeTurns } from '../predict/plan-workers.ts';
import { engineNotes } from '../predict/predict.ts';
import type { ClientPrediction, Prediction, WorkerPlan } from '../predict/prediction-schema.ts';
import type { ComposeBase, ComposeProject, ComposeService } from './compose-schema.ts';

export const PORTLAB_LABEL = {
  scenario: 'io.portlab.scenario',
  role: 'io.portlab.role',
  runId: 'io.portlab.run-id',
  managed: 'io.portlab.managed',
  /** host/pid/start of the orchestrator process that created it (engine/run-owner.ts). */
  owner: 'io.portlab.owner',
  /** Left in place on purpose (--keep): not removed by the cleanup every run starts with. */
  kept: 'io.portlab.kept',
  /** On an application of the user's own: the service (its observer) whose namespaces it runs in. */
  applicationOf: 'io.portlab.application-of',
  /**
   * The session a run belongs to (PORTLAB_SESSION, as the test suite sets it): a command started in a session lists,
   * cleans up and removes only that session's runs, never a person's own.
   */
  session: 'io.portlab.session',
  /** On an image of third-party software the shipped scenarios run (scripts/build-app-images.sh): its name. */
  app: 'io.portlab.app',
  /** ... and the Debian package and version it was unpacked from. */
  appPackage: 'io.portlab.app.package',
} as const;

/** A run's compose project (or a dry run's, without a run id): portlab-<scenario>[-<run id>]. */
export const runProjectName = (scenarioName: string, runId?: string): string =>
  runId === undefined ? `portlab-${scenarioName}` : `portlab-${scenarioName}-${runId}`;

export type CompileInput = {
  scenario: Scenario;
  prediction: Prediction;
  base: ComposeBase;
  /** The probe image reference, e.g. portlab.invalid/probe:3f2a9c1d0b7e. */
  image: string;
  /** Compose project name, e.g. portlab-default-range-1a2b3c. */
  projectName: string;
  /** How the file is rerun by hand on the engine it was compiled for (its endpoint's command); Compose's on Docker unless said. */
  rerunWith?: (project: string, file: string) => string;
  /** The nproc each service naming its nofile names too, where the engine needs it (Podman without CAP_SYS_RESOURCE). */
  nproc?: { soft: number; hard: number };
  /**
   * How a client names the engine's host, where a server on the host's network listens: the probe's @gateway (its
   * network's gateway, the host's address on the bridge: Docker's, rootful Podman's) unless the engine says otherwise.
   */
  hostName?: string;
};

export type CompiledProject = { project: ComposeProject; yaml: string };

/** What runs an application of the user's own: the scenario's server, or a client group. */
type Application = { image?: string; command?: string[]; environment?: string[]; volumes?: string[] };

/** A service's ulimits: the nofile its workers were planned with, and nproc beside it where the engine needs it. */
const ulimits = (workers: WorkerPlan, nproc: CompileInput['nproc']) => ({
  nofile: { ...workers.appliedNofile },
  ...(nproc ? { nproc: { ...nproc } } : {}),
});

/** Scenario + the predictor's worker plans -> a compose project whose services are exactly what portlab runs. */
export function compileCompose(input: CompileInput): CompiledProject {
  const { scenario, prediction, base, image } = input;
  const ulimitsOf = (workers: WorkerPlan) => ulimits(workers, input.nproc);
  const template = base['x-portlab-service'];
  const service = (role: 'server' | 'client', command: string[], workers: WorkerPlan, sysctls: Record<string, string>): ComposeService =>
    withoutUndefined({
      image,
      command,
      ...structuredClone(template),
      ulimits: ulimitsOf(workers),
      ...(Object.keys(sysctls).length > 0 ? { sysctls: { ...sysctls } } : {}),
      labels: { [PORTLAB_LABEL.managed]: 'true', [PORTLAB_LABEL.scenario]: scenario.name, [PORTLAB_LABEL.role]: role },
      ...networksOf(role, scenario, base),
    });

  /**
   * portlab's probe observing an application, under the container's name: it owns the network namespace (its
   * alias, the scenario's sysctls) and the PID namespace, so it is there before the application starts and sees it
   * to its end, however quickly that comes. The kernel's view of what the application does is its output.
   */
  const observer = (name: string, role: 'server' | 'client', ports: number[], workers: WorkerPlan, observed: Observed) => ({
    ...service(role, observeCommand(role, ports, observed.observeEvery), workers, observed.sysctls),
    // Reading another user's /proc/PID/fd (nginx's workers, say) is a ptrace-mode check.
    cap_add: ['SYS_PTRACE'],
    ulimits: undefined,
  });
  /** The user's own image, in its observer's network and PID namespaces: their command, environment and files. */
  const application = (observed: string, role: 'server' | 'client', app: Application, workers: WorkerPlan): ComposeService => {
    const { networks: _networks, ...rest } = structuredClone(template);
    return {
      ...rest,
      image: app.image!,
      ...(app.command ? { command: [...app.command] } : {}),
      ...(app.environment ? { environment: [...app.environment] } : {}),
      ...(app.volumes ? { volumes: [...app.volumes] } : {}),
      ulimits: ulimitsOf(workers),
      network_mode: `service:${observed}`,
      pid: `service:${observed}`,
      labels: {
        [PORTLAB_LABEL.managed]: 'true',
        [PORTLAB_LABEL.scenario]: scenario.name,
        [PORTLAB_LABEL.role]: role,
        [PORTLAB_LABEL.applicationOf]: observed,
      },
      depends_on: [observed],
    };
  };
  const server = prediction.server;
  const services: Record<string, ComposeService> = scenario.server.image
    ? {
        [SERVER_NAME]: withoutUndefined(observer(SERVER_NAME, 'server', scenario.server.ports, server.workers, scenario.server)),
        [applicationOf(SERVER_NAME)]: application(SERVER_NAME, 'server', scenario.server, server.workers),
      }
    : { [SERVER_NAME]: service('server', serverCommand(scenario, server.workers), server.workers, scenario.server.sysctls) };
  // One service per client container; a phased client has one prediction per phase but one container.
  const containers = new Map(prediction.clients.map((client) => [client.name, client]));
  for (const client of containers.values()) {
    const group = scenario.clients.find((candidate) => candidate.name === client.group);
    if (!group) throw new Error(`no client group ${client.group} in scenario ${scenario.name}`);
    if (group.image) {
      services[client.name] = withoutUndefined({
        ...observer(client.name, 'client', client.targets, client.workers, group),
        depends_on: [SERVER_NAME],
      });
      services[applicationOf(client.name)] = application(client.name, 'client', group, client.workers);
      continue;
    }
    services[client.name] = {
      ...service('client', clientCommand(scenario, group, client, input.hostName ?? '@gateway'), client.workers, group.sysctls),
      // Adding source addresses to the container's interface needs NET_ADMIN inside its own namespace.
      ...(group.sourceAddresses > 1 ? { cap_add: ['NET_ADMIN'] } : {}),
      depends_on: [SERVER_NAME],
    };
  }
  const project: ComposeProject = { name: input.projectName, services, networks: projectNetworks(base, scenario, input.projectName) };
  return { project, yaml: toYaml(project, input) };
}

/** A service's networks: the template's (every one of the base's); a server on the host's network is in the host's namespace, on none. */
function networksOf(role: 'server' | 'client', scenario: Scenario, base: ComposeBase): Pick<ComposeService, 'networks' | 'network_mode'> {
  if (role === 'server' && scenario.server.network === 'host') return { network_mode: 'host', networks: undefined };
  return { networks: [...(base['x-portlab-service'].networks ?? Object.keys(base.networks))] };
}

const withoutUndefined = (definition: ComposeService & { ulimits?: unknown }) =>
  Object.fromEntries(Object.entries(definition).filter(([, value]) => value !== undefined)) as ComposeService;

/** The networks of compose.base.yml; with `ipv6`, its one network dual stack, IPv6 from the run's own /64. */
function projectNetworks(base: ComposeBase, scenario: Scenario, projectName: string): ComposeProject['networks'] {
  const networks = structuredClone(base.networks);
  if (!scenario.ipv6 || !networks.portlab) return networks;
  return { ...networks, portlab: { ...networks.portlab, enable_ipv6: true, ipam: { config: [{ subnet: ulaSubnet(projectName) }] } } };
}

/**
 * A unique-local IPv6 /64 for a run's network (RFC 4193: fd00::/8 and a 40-bit global ID, here with the subnet ID
 * from the project name's hash), so that two runs' networks do not overlap.
 */
export function ulaSubnet(projectName: string): string {
  const digest = createHash('sha256').update(projectName).digest('hex');
  const groups = [`fd${digest.slice(0, 2)}`, digest.slice(2, 6), digest.slice(6, 10), digest.slice(10, 14)];
  return `${groups.map((group) => group.replace(/^0+(?=.)/, '')).join(':')}::/64`;
}

/** What an observer needs of the group or server it observes. */
type Observed = { sysctls: Record<string, string>; observeEvery?: string | undefined };

/** An observer's arguments: whom it observes (a server on its ports, a client to them) and how often it looks. */
function observeCommand(role: 'server' | 'client', ports: number[], observeEvery: string = SCENARIO_DEFAULTS.observeEvery): string[] {
  return ['observe', '--role', role, '--ports', ports.join(','), '--interval-ms', String(durationMs(observeEvery))];
}

/** The probe server's arguments: its ports and backlog, its workers and their descriptors, how it closes. */
function serverCommand(scenario: Scenario, workers: WorkerPlan): string[] {
  return [
    'server',
    '--ports',
    scenario.server.ports.join(','),
    '--backlog',
    String(scenario.server.backlog),
    '--processes',
    String(workers.processes),
    '--fd-budget',
    String(totalBudget(workers)),
    ...serverCloseArgs(scenario),
    // ipv6: one listening socket per port for both families.
    ...(scenario.ipv6 ? ['--family', 'dual'] : []),
  ];
}

/** The probe's spelling of a client group's family. */
const PROBE_FAMILY = { ipv4: '4', ipv6: '6', dual: 'dual' } as const;

/** A probe client's arguments: where it connects, how (hold, churn, phases, bind, sources), its workers. */
function clientCommand(scenario: Scenario, group: ClientGroup, client: ClientPrediction, hostName: string): string[] {
  const churnArgs =
    group.mode === 'churn' && group.duration && !group.phases
      ? ['--duration-ms', String(durationMs(group.duration)), '--close', group.close, ...(group.rate ? ['--rate', String(group.rate)] : [])]
      : [];
  const phaseArgs = (group.phases ?? []).flatMap((phase) => ['--phase', probePhaseArgument(phase, scenario.server.ports)]);
  const ports = group.phases ? [...new Set(group.phases.flatMap((phase) => phase.targets ?? scenario.server.ports))] : client.targets;
  return [
    'client',
    '--server',
    scenario.server.network === 'host' ? hostName : SERVER_NAME,
    '--ports',
    ports.join(','),
    '--mode',
    group.phases ? 'hold' : group.mode,
    '--processes',
    String(client.workers.processes),
    '--fd-budget',
    String(totalBudget(client.workers)),
    '--connect-timeout-ms',
    String(durationMs(group.connectTimeout)),
    ...(group.bind === 'none' ? [] : ['--bind', probeBindArgument(group.bind)]),
    ...(group.sourceAddresses > 1 ? ['--sources', String(group.sourceAddresses)] : []),
    ...(group.socketPortRange === undefined ? [] : ['--socket-port-range', group.socketPortRange.trim().split(/\s+/).join(':')]),
    ...(group.family === 'ipv4' ? [] : ['--family', PROBE_FAMILY[group.family]]),
    ...churnArgs,
    ...phaseArgs,
    // auto: the workers take turns, so the container behaves as the one process the scenario describes.
    ...(workersTakeTurns(group) ? ['--handoff'] : []),
  ];
}

/**
 * How the server treats accepted connections: hold them (no churning client), close each once its client has
 * closed (on-eof), or close each at once, sending the first FIN (first).
 */
function serverCloseArgs(scenario: Scenario): string[] {
  if (clientSteps(scenario).every((step) => step.mode === 'hold')) return [];
  return ['--close', serverClosesFirst(scenario) ? 'first' : 'on-eof'];
}

/** The probe's spelling of a phase: MODE:PORT[+PORT]:DURATION_MS:RATE:CLOSE. */
export function probePhaseArgument(phase: Phase, serverPorts: number[]): string {
  const ports = (phase.targets ?? serverPorts).join('+');
  return [phase.mode, ports, phase.duration ? durationMs(phase.duration) : 0, phase.rate ?? 0, phase.close].join(':');
}

/** The probe's spelling of a bind mode: zero, zero-noport, port:3000 or port:3000:reuseaddr. */
export function probeBindArgument(bind: Exclude<Bind, 'none'>): string {
  if (bind === 'port-zero') return 'zero';
  if (bind === 'port-zero-no-reserve') return 'zero-noport';
  return `port:${bind.port}${bind.reuseAddr ? ':reuseaddr' : ''}`;
}

/** How a compose file is rerun by hand on Docker: Compose v2, or v1's docker-compose. */
export const composeRerun = (project: string, file: string): string =>
  `docker compose -p ${project} -f ${file} up    (or docker-compose, v1)`;

function toYaml(project: ComposeProject, input: CompileInput): string {
  // YAML 1.1 output quotes words such as `no` that older compose parsers would read as booleans.
  // The project name goes on the command line (-p), not in a top-level `name:`, which Compose v1 rejects.
  const { name: _name, ...file } = project;
  const doc = new Document(file, { version: '1.1', aliasDuplicateObjects: false });
  const adjusted = engineNotes(input.prediction).map(([name, note]) => `${name}: ${note}`);
  doc.commentBefore = [
    ` portlab scenario "${input.scenario.name}", compiled for rerunning by hand:`,
    `   npm run build-probe    # builds ${input.image} from images/probe`,
    `   ${(input.rerunWith ?? composeRerun)(project.name, '<this file>')}`,
    ...(adjusted.length > 0
      ? [' ulimits are what the engine grants; the scenario asked for more:', ...adjusted.map((line) => `   ${line}`)]
      : []),
  ].join('\n');
  return doc.toString({ lineWidth: 0 });
}
