import { createHash } from 'node:crypto';
import createDebug from 'debug';
import type { ComposeProject, ComposeService } from '../../compile/compose-schema.ts';
import { applicationOf, SERVER_NAME } from '../../scenario/names.ts';
import { type DockerEngine } from '../docker/engine.ts';
import { EngineError } from '../errors.ts';
import { LastLines } from '../../observe/application-end.ts';
import { runExperiment, within } from '../run-loop.ts';
import type { ContainerSink, Deployment, RunOptions } from '../run-record.ts';
import { stopSettingsOf } from '../compose-base.ts';
import { runLabels } from '../run-owner.ts';
import { removeAll } from './remove-all.ts';
import { PORTLAB_LABEL } from '../../compile/compile-compose.ts';

const debug = createDebug('portlab:engine');

/** Labels `docker compose -p <project> ps|logs|down` recognises, plus portlab's own for cleanup. */
export function composeLabels(
  project: ComposeProject,
  service: string,
  definition: ComposeService,
  run: Record<string, string>,
): Record<string, string> {
  return {
    ...definition.labels,
    'com.docker.compose.project': project.name,
    'com.docker.compose.service': service,
    'com.docker.compose.container-number': '1',
    'com.docker.compose.oneoff': 'False',
    'com.docker.compose.config-hash': createHash('sha256').update(JSON.stringify(definition)).digest('hex'),
    ...run,
  };
}

/** Runs a compiled compose project on the local engine: its services as containers on a bridge network. */
export function runProject(engine: DockerEngine, project: ComposeProject, options: RunOptions) {
  return runExperiment(new ContainerDeployment(engine, project, options), options);
}

type Created = { id: string; name: string; service: string; graceSeconds: number };

/** Set on client containers portlab starts before the server listens: the probe waits for SIGUSR2 (its go). */
const GO_VARIABLE = 'PORTLAB_WAIT_FOR_GO';

/** A compose project as containers on one engine: the server and one container per client service. */
class ContainerDeployment implements Deployment {
  readonly containers: { server: string; clients: string[] };
  private readonly created: Created[] = [];
  /** Per container id: resolves once its log stream has ended (the container exited and every line was read). */
  private readonly following = new Map<string, Promise<void>>();
  /** Aborted when a kept run lets its containers go on without it. */
  private readonly detached = new AbortController();
  private readonly labels: Record<string, string>;
  private readonly networkName: string;
  private networkId: string | undefined;
  /** Containers still being created or started: whatever happens, cleanup waits for them, or one could be left behind. */
  private pendingCreates: Promise<unknown> = Promise.resolve();
  private clientsCreated: Promise<Created[]> = Promise.resolve([]);
  /** The network exists: containers can be created on it. */
  private network: Promise<void> | undefined;

  constructor(
    private readonly engine: DockerEngine,
    private readonly project: ComposeProject,
    private readonly options: RunOptions,
  ) {
    // An application of the user's own is `<name>-app` beside its observer `<name>`: the container is `<name>`.
    const application = (service: string) => project.services[service]?.labels[PORTLAB_LABEL.applicationOf] !== undefined;
    this.containers = {
      server: SERVER_NAME,
      clients: Object.keys(project.services).filter((service) => service !== SERVER_NAME && !application(service)),
    };
    this.labels = runLabels({ runId: options.runId, owner: options.owner, afterRun: options.afterRun });
    this.networkName = `${project.name}_portlab`;
  }

  describe = () => this.engine.describe();
  ping = () => this.engine.ping();
  nodes = () => ({});

  private ensureNetwork(): Promise<void> {
    this.network ??= this.engine.networks
      .create(
        this.networkName,
        { 'com.docker.compose.project': this.project.name, 'com.docker.compose.network': 'portlab', ...this.labels },
        'bridge',
        this.project.networks.portlab?.internal ?? false,
        this.project.networks.portlab?.ipam?.config[0]?.subnet,
      )
      .then((id) => {
        this.networkId = id;
      });
    return this.network;
  }

  private async create(service: string, sink: ContainerSink, env: string[] = []): Promise<Created> {
    const definition = this.project.services[service];
    if (!definition) throw new EngineError(`the compose project has no service ${service}`);
    await this.ensureNetwork();
    const name = `${this.project.name}-${service}-1`;
    // An application runs in the network and PID namespaces of its observer, started before it (service:<name>);
    // a server on the host's network (network_mode: host) in the host's.
    const onHost = definition.network_mode === 'host';
    const shared = onHost ? undefined : definition.network_mode?.replace(/^service:/, '');
    const sharedId = shared === undefined ? undefined : this.created.find((entry) => entry.service === shared)?.id;
    if (shared !== undefined && sharedId === undefined) throw new EngineError(`${service} runs beside ${shared}, which is not running`);
    const environment = [...(definition.environment ?? []), ...env];
    const id = await this.engine.containers.create({
      name,
      image: definition.image,
      command: definition.command,
      labels: composeLabels(this.project, service, definition, this.labels),
      network: this.networkName,
      alias: service,
      nofile: definition.ulimits?.nofile,
      nproc: definition.ulimits?.nproc,
      sysctls: definition.sysctls,
      capAdd: definition.cap_add,
      stop: stopSettingsOf(definition),
      env: environment.length > 0 ? environment : undefined,
      ...(sharedId ? { networkMode: `container:${sharedId}` as const, pidMode: `container:${sharedId}` as const } : {}),
      ...(onHost ? { networkMode: 'host' as const } : {}),
      ...(definition.volumes ? { binds: definition.volumes } : {}),
    });
    const entry = { id, name, service, graceSeconds: stopSettingsOf(definition)?.graceSeconds ?? 0 };
    this.created.push(entry);
    if (!shared) sink.created(service);
    return entry;
  }

  /** The application of the user's own that a service observes, if it observes one. */
  private applicationOf(service: string): string | undefined {
    const application = applicationOf(service);
    return this.project.services[application]?.labels[PORTLAB_LABEL.applicationOf] === service ? application : undefined;
  }

  /**
   * A service, and the application it observes if it is an observer: the observer first (its namespaces are the
   * application's), then the application. The container's lines are the observer's and the application's; its end
   * is the application's.
   */
  private async startWithApplication(service: string, sink: ContainerSink): Promise<void> {
    const application = this.applicationOf(service);
    await this.begin(await this.create(service, sink), sink, { endsContainer: application === undefined });
    if (application) await this.begin(await this.create(application, sink), sink, { linesOf: service, endsContainer: true });
  }

  /**
   * Starts a container and follows its lines, as those of `linesOf` (itself unless it is an application); when it
   * ends, the container it stands for has ended, unless it is an observer whose application decides that.
   */
  private async begin(
    { id, name, service }: Created,
    sink: ContainerSink,
    { linesOf = service, endsContainer = true }: { linesOf?: string; endsContainer?: boolean } = {},
  ): Promise<void> {
    await this.engine.containers.start(id, name, this.options.signal);
    // An application's lines are its container's (stderr too, as lines that are not the probe's); its last ones and
    // its exit code say how it ended.
    const last = linesOf !== service ? new LastLines() : undefined;
    const line = (text: string) => {
      last?.add(text);
      sink.line(linesOf, text);
    };
    this.following.set(
      id,
      this.engine.logs
        .followContainer(id, name, line, (text) => (last ? line(text) : debug('%s stderr: %s', service, text)), this.detached.signal)
        .catch((error) => debug('log stream of %s: %s', name, error))
        .then(async () => {
          if (this.detached.signal.aborted) return debug('left %s running (a kept run)', name);
          if (!endsContainer) return debug('observer %s ended', name);
          if (!last) return sink.exited(linesOf);
          const exitCode = await this.engine.containers.wait(id, name).catch(() => null);
          sink.exited(linesOf, undefined, { image: this.project.services[service]!.image, exitCode, lastLines: last.get() });
        }),
    );
  }

  /** Probe clients wait for their go; an application starts once it is started (after the server listens). */
  waitsForGo = (client: string): boolean => this.applicationOf(client) === undefined;
  runsApplication = (container: string): boolean => this.applicationOf(container) !== undefined;

  async prepareClients(sink: ContainerSink): Promise<void> {
    // Probe client containers are created and started while the server starts; each probe waits for its go signal.
    // The variable is set here only: the saved compose file's clients start at once, as they always did.
    const probes = this.containers.clients.filter((service) => this.waitsForGo(service));
    this.clientsCreated = Promise.all(probes.map((service) => this.create(service, sink, [`${GO_VARIABLE}=1`])));
    const started = this.clientsCreated.then((created) => Promise.all(created.map((entry) => this.begin(entry, sink))));
    // Cleanup waits for the starts too: removing a container while the engine starts it can fail.
    this.pendingCreates = started.catch(() => undefined);
    await started;
  }

  async startServer(sink: ContainerSink): Promise<void> {
    await this.startWithApplication(SERVER_NAME, sink);
  }

  async startClients(sink: ContainerSink): Promise<void> {
    const applications = this.containers.clients.filter((service) => !this.waitsForGo(service));
    const starting = Promise.all(applications.map((service) => this.startWithApplication(service, sink)));
    this.pendingCreates = Promise.all([this.pendingCreates, starting.catch(() => undefined)]);
    await Promise.all([
      ...(await this.clientsCreated).map((entry) => this.engine.containers.signal(entry.id, entry.name, 'SIGUSR2')),
      starting,
    ]);
  }

  /** The probe server prints its final counts on SIGTERM (SIGUSR2: and goes on holding); an observer its last view. */
  async signalServer(keep = false): Promise<void> {
    const server = this.created.find((entry) => entry.service === SERVER_NAME);
    if (server) await this.engine.containers.signal(server.id, server.name, keep ? 'SIGUSR2' : 'SIGTERM');
  }

  readonly staysUp = true;

  /** A kept run's containers go on running: their output is no longer read, and their ends are not the run's. */
  detach(): void {
    this.detached.abort();
  }

  async stopAll(timeoutMs: number): Promise<void> {
    await Promise.all(this.created.map((container) => this.engine.containers.stop(container.id, container.name, container.graceSeconds)));
    debug('stopped %s', this.created.map((container) => container.name).join(', '));
    // A log stream ends once its container has exited; by then every `done` line has been read.
    await within(Promise.all(this.created.map((container) => this.following.get(container.id))), timeoutMs);
  }

  async settle(): Promise<void> {
    await this.pendingCreates;
    await this.network?.catch(() => undefined);
  }

  async remove(): Promise<void> {
    const networks = this.networkId === undefined ? [] : [{ id: this.networkId, name: this.networkName }];
    await removeAll(this.engine, this.created, networks);
  }
}
