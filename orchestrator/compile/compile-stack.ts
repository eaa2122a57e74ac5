import { Document } from 'yaml';
import { applicationOf, containerNames, SERVER_NAME } from '../scenario/names.ts';
import { engineNotes } from '../predict/predict.ts';
import { compileCompose, type CompileInput } from './compile-compose.ts';
import type { ComposeProject, ComposeService } from './compose-schema.ts';

/** The overlay network every service of a stack joins; attachable, so `docker run --network` can join it too. */
export const STACK_NETWORK = 'portlab';
/** Docker's limit on a service name, which a stack makes `<namespace>_<service>`. */
const SERVICE_NAME_MAX = 63;

/**
 * A compiled stack: the server, and one service per client group whose replicas are the group's containers (all
 * of a group's containers run the same command). `containers` maps each service to its containers' names in the
 * prediction, in task-slot order: the group's container i is the service's task in slot i.
 */
export type CompiledStack = { project: ComposeProject; yaml: string; containers: Record<string, string[]> };

/** Where an application's task finds its observer (a config): the entrypoint that starts the image's own command. */
export const OBSERVER_PATH = '/portlab-observer';
/** The stack's config that holds the observer (scripts/build-probe.sh --musl's static binary). */
export const OBSERVER_CONFIG = 'observer';

/**
 * What a swarm needs to run the user's own images: each image's reference on the nodes (pushed to the registry, or
 * as named) and the command it starts (its entrypoint, then its default command), as the engine read them, and the
 * observer's file on this host.
 */
export type StackApplications = {
  images: Record<string, { reference: string; entrypoint: string[]; cmd: string[] }>;
  observerFile: string;
};

/** Scenario + prediction -> a compose file for `docker stack deploy` (swarm services), as portlab deploys it. */
export function compileStack(input: CompileInput & { applications?: StackApplications }): CompiledStack {
  // The commands, ulimits, sysctls and labels are the local engine's; only how they are deployed differs.
  const local = compileCompose(input).project;
  const { scenario } = input;
  const configs: Record<string, { file: string }> = {};
  const taskOf = (key: string, container: string) =>
    local.services[applicationOf(container)]
      ? applicationTask(key, local.services[container]!, local.services[applicationOf(container)]!, input.applications, configs)
      : local.services[container];
  const services: Record<string, ComposeService> = {
    [SERVER_NAME]: stackService(taskOf(SERVER_NAME, SERVER_NAME)!, 1, scenario.server.placement.constraints, undefined),
  };
  const containers: Record<string, string[]> = { [SERVER_NAME]: [SERVER_NAME] };
  for (const group of scenario.clients) {
    const names = containerNames(group);
    const first = taskOf(group.name, names[0]!);
    if (!first) throw new Error(`no compiled service for client ${names[0]} of group ${group.name}`);
    services[group.name] = stackService(first, group.count, group.placement.constraints, group.placement.perNode);
    containers[group.name] = names;
  }
  const project: ComposeProject = {
    name: input.projectName,
    services,
    ...(Object.keys(configs).length > 0 ? { configs } : {}),
    networks: { [STACK_NETWORK]: { driver: 'overlay', attachable: true, labels: local.networks[STACK_NETWORK]?.labels } },
  };
  return { project, yaml: toStackYaml(project, input), containers };
}

/**
 * An application of the user's own as one swarm task: a service's task is one container, so there is no observer
 * beside it to share namespaces with. Its image runs unchanged with the observer as its entrypoint (a config, mounted
 * read-only), which starts the image's own entrypoint and command (or the scenario's command) as its child in the
 * same namespaces and reports on it as the local observer does. Its read-only files travel as configs too, so every
 * node has them. Adds the configs it uses to `configs`.
 */
function applicationTask(
  key: string,
  observer: ComposeService,
  app: ComposeService,
  applications: StackApplications | undefined,
  configs: Record<string, { file: string }>,
): ComposeService {
  if (!applications) throw new Error(`no observer for ${app.image}: the swarm backend names it before compiling`);
  // Before the engine has been asked (a dry run, a run's first draft): the image as named, and its own command unknown.
  const unknown = `<the entrypoint and command of ${app.image}, read from the engine when the run starts>`;
  const image = applications.images[app.image] ?? { reference: app.image, entrypoint: [unknown], cmd: [] };
  configs[OBSERVER_CONFIG] = { file: applications.observerFile };
  const files = (app.volumes ?? []).map((volume, index) => {
    const [source, target] = volume.split(':');
    const name = `${key}-file-${index + 1}`;
    configs[name] = { file: source! };
    return { source: name, target: target!, mode: 0o444 };
  });
  return {
    ...observer,
    image: image.reference,
    entrypoint: [OBSERVER_PATH],
    command: [...(observer.command ?? []), '--', ...image.entrypoint, ...(app.command ?? image.cmd)],
    ...(app.environment ? { environment: [...app.environment] } : {}),
    ...(app.ulimits ? { ulimits: app.ulimits } : {}),
    configs: [{ source: OBSERVER_CONFIG, target: OBSERVER_PATH, mode: 0o555 }, ...files],
  };
}

function stackService(local: ComposeService, replicas: number, constraints: string[], perNode: number | undefined): ComposeService {
  // A stack ignores restart and depends_on (a client retries its connect until the server's name resolves), and
  // logs go through the swarm's log API from any driver that keeps them; json-file does.
  const { restart: _restart, depends_on: _dependsOn, ...kept } = local;
  const placement =
    constraints.length > 0 || perNode !== undefined
      ? { ...(constraints.length > 0 ? { constraints } : {}), ...(perNode !== undefined ? { max_replicas_per_node: perNode } : {}) }
      : undefined;
  return {
    ...kept,
    networks: [STACK_NETWORK],
    deploy: {
      replicas,
      endpoint_mode: 'dnsrr',
      restart_policy: { condition: 'none' },
      ...(placement ? { placement } : {}),
      labels: { ...local.labels },
    },
  };
}

/**
 * The namespace a run's stack gets: its project name, unless `<project>_<service>` would pass Docker's 63
 * characters for some service; then `portlab-<run id>`.
 */
export function stackNamespace(project: string, runId: string, services: string[]): string {
  const longest = Math.max(...services.map((service) => service.length));
  return project.length + 1 + longest <= SERVICE_NAME_MAX ? project : `portlab-${runId}`;
}

function toStackYaml(project: ComposeProject, input: CompileInput): string {
  const { name, ...file } = project;
  // docker stack deploy reads compose file format 3; max_replicas_per_node needs 3.8.
  const doc = new Document({ version: '3.9', ...file }, { version: '1.1', aliasDuplicateObjects: false });
  const adjusted = engineNotes(input.prediction).map(([container, note]) => `${container}: ${note}`);
  doc.commentBefore = [
    ` portlab scenario "${input.scenario.name}", compiled for a Docker Swarm (portlab --engine swarm deploys the same):`,
    `   npm run build-probe    # builds ${input.image} from images/probe; every node needs it (see docs/machines.md)`,
    `   docker stack deploy -c <this file> ${name}`,
    `   docker stack ps ${name}; docker service logs --raw ${name}_${SERVER_NAME}; docker stack rm ${name}`,
    ...(project.configs
      ? [
          ` your own images run unchanged under portlab's observer (config ${OBSERVER_CONFIG}: scripts/build-probe.sh --musl), which`,
          '   starts their own command (after "--") and reports the kernel\'s view; their read-only files are configs too',
        ]
      : []),
    ...(adjusted.length > 0
      ? [' ulimits are what the engine grants; the scenario asked for more:', ...adjusted.map((line) => `   ${line}`)]
      : []),
  ].join('\n');
  return doc.toString({ lineWidth: 0 });
}
