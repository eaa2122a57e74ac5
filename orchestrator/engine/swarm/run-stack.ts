import createDebug from 'debug';
import { STACK_NETWORK, type CompiledStack } from '../../compile/compile-stack.ts';
import type { ComposeService } from '../../compile/compose-schema.ts';
import { SERVER_NAME } from '../../scenario/names.ts';
import { TASK_ENDED_STATES, type SwarmTask } from '../docker/services.ts';
import { type DockerEngine } from '../docker/engine.ts';
import { EngineError } from '../errors.ts';
import { runExperiment } from '../run-loop.ts';
import type { ContainerSink, Deployment, NodeName } from '../run-record.ts';
import { STACK_NAMESPACE_LABEL, type StackRunOptions } from './stack-options.ts';
import { stopSettingsOf } from '../compose-base.ts';
import { runLabels } from '../run-owner.ts';
import { retryUntil } from '../poll.ts';
import { lostNodeEnd, NODE_POLL_MS, taskEnd, tasksOnDownNodes } from './lost-nodes.ts';
import { removeStack } from './stack-removal.ts';
import { ApplicationOutput, applicationContainers, configMounts, createStackConfigs, type CreatedConfigs } from './application-tasks.ts';

const debug = createDebug('portlab:swarm');

/** How often the swarm's task states are read while a run goes on (they tell when a task ended, and where it ran). */
const TASK_POLL_MS = 500;
/**
 * The swarm's log API does not end a stream when a task ends, and its last lines can come after the task's state
 * says it ended: a task counts as exited (every line read) this long after its state said so.
 */
const LAST_LINES_MS = 1_000;

/** Runs a compiled stack on a swarm: the server and the client groups as services on an attachable overlay network. */
export function runStack(engine: DockerEngine, stack: CompiledStack, options: StackRunOptions) {
  return runExperiment(new StackDeployment(engine, stack, options), options);
}

type Deployed = { key: string; id: string; name: string };

class StackDeployment implements Deployment {
  readonly containers: { server: string; clients: string[] };
  private readonly labels: Record<string, string>;
  private readonly networkName: string;
  private networkId: string | undefined;
  private readonly services: Deployed[] = [];
  private pending: Promise<unknown> = Promise.resolve();
  private readonly stopFollowing: Array<() => void> = [];
  /** The last task states read, by task id, and which container each task is. */
  private tasks: SwarmTask[] = [];
  private readonly taskContainers = new Map<string, string>();
  private readonly ended = new Set<string>();
  private readonly nodeOf = new Map<string, NodeName>();
  private watching: NodeJS.Timeout | undefined;
  private sink: ContainerSink | undefined;
  /** Lines of tasks not yet seen in a poll, kept in order until their container is known. */
  private readonly early = new Map<string, string[]>();
  private polling: Promise<void> | undefined;
  /** Nodes the manager marked down while the run went on: their tasks will not say they ended. */
  private readonly lostNodes = new Set<string>();
  private nodesReadAt = 0;
  private configs: CreatedConfigs = new Map();
  private readonly output: ApplicationOutput;

  constructor(
    private readonly engine: DockerEngine,
    private readonly stack: CompiledStack,
    private readonly options: StackRunOptions,
  ) {
    const clients = Object.entries(stack.containers).flatMap(([service, names]) => (service === SERVER_NAME ? [] : names));
    this.containers = { server: SERVER_NAME, clients };
    this.labels = {
      [STACK_NAMESPACE_LABEL]: options.namespace,
      ...runLabels({ runId: options.runId, owner: options.owner, afterRun: options.afterRun }),
    };
    this.networkName = `${options.namespace}_${STACK_NETWORK}`;
    this.output = new ApplicationOutput(applicationContainers(stack));
  }

  describe = () => `the swarm managed by ${this.engine.describe()}`;
  ping = () => this.engine.ping();
  nodes = () => Object.fromEntries(this.nodeOf);

  private async deploy(key: string, sink: ContainerSink): Promise<void> {
    this.sink = sink;
    const definition: ComposeService | undefined = this.stack.project.services[key];
    if (!definition?.deploy) throw new EngineError(`the compiled stack has no service ${key}`);
    const name = `${this.options.namespace}_${key}`;
    const labels = { ...definition.labels, ...this.labels };
    const id = await this.engine.services.create(
      {
        name,
        image: definition.image,
        command: definition.command ?? [],
        entrypoint: definition.entrypoint,
        environment: definition.environment,
        configs: configMounts(definition, this.configs),
        labels: { ...definition.deploy.labels, ...labels, 'com.docker.stack.image': definition.image },
        containerLabels: labels,
        network: { id: this.networkId!, alias: key },
        mode: { replicas: definition.deploy.replicas },
        nofile: definition.ulimits?.nofile,
        sysctls: definition.sysctls,
        capAdd: definition.cap_add,
        constraints: definition.deploy.placement?.constraints,
        maxPerNode: definition.deploy.placement?.max_replicas_per_node,
        stop: stopSettingsOf(definition),
      },
      this.options.signal,
    );
    this.services.push({ key, id, name });
    for (const container of this.stack.containers[key] ?? []) sink.created(container);
    this.stopFollowing.push(await this.engine.logs.followService(id, name, (task, line) => this.line(task, line)));
  }

  /** A line of a task: to its container, or kept until a poll tells which container the task is. */
  private line(task: string, line: string): void {
    const container = this.taskContainers.get(task);
    const waiting = this.early.get(task);
    if (container && !waiting) {
      this.forward(container, line);
      return;
    }
    this.early.set(task, [...(waiting ?? []), line]);
    void this.watch();
  }

  /** A line to its container; an application's end (its observer's exit line) is said as the container's end. */
  private forward(container: string, line: string): void {
    const end = this.output.take(container, line);
    this.sink?.line(container, line);
    if (end) this.sink?.exited(container, undefined, end);
  }

  /** Reads the task states (one read at a time): which container each task is, where it runs, which have ended. */
  private watch(): Promise<void> {
    this.polling ??= this.readTasks().finally(() => {
      this.polling = undefined;
    });
    return this.polling;
  }

  private async readTasks(): Promise<void> {
    try {
      this.tasks = await this.engine.services.tasks(this.services.map((service) => service.id));
    } catch (error) {
      debug('reading task states: %s', error);
      return;
    }
    for (const task of this.tasks) {
      const service = this.services.find((candidate) => candidate.id === task.serviceId);
      const names = service ? this.stack.containers[service.key] : undefined;
      const container = names && task.slot !== null ? names[task.slot - 1] : undefined;
      if (!container) continue;
      this.taskContainers.set(task.id, container);
      // Lines that came before the task was known go first, in their order.
      const early = this.early.get(task.id);
      this.early.delete(task.id);
      for (const line of early ?? []) this.forward(container, line);
      if (task.nodeId) this.nodeOf.set(container, { id: task.nodeId, hostname: this.options.hostnames.get(task.nodeId) ?? task.nodeId });
      if (TASK_ENDED_STATES.has(task.state) && !this.ended.has(container)) {
        this.ended.add(container);
        setTimeout(() => this.sink?.exited(container, taskEnd(task)), LAST_LINES_MS);
      }
    }
    await this.readNodes();
  }

  /** A running task on a node the manager marked down has ended with its node: its container is said to have exited. */
  private async readNodes(): Promise<void> {
    if (Date.now() - this.nodesReadAt < NODE_POLL_MS) return;
    this.nodesReadAt = Date.now();
    const nodes = await this.engine.swarm.nodes().catch((error: Error) => debug('reading nodes: %s', error.message));
    for (const { task, node } of tasksOnDownNodes(nodes ?? [], this.tasks)) {
      const container = this.taskContainers.get(task.id);
      if (!container || this.ended.has(container)) continue;
      this.lostNodes.add(node.id);
      this.ended.add(container);
      this.sink?.exited(container, lostNodeEnd(node));
    }
  }

  private startWatching(sink: ContainerSink): void {
    this.sink = sink;
    if (this.watching) return;
    const tick = async () => {
      await this.watch();
      if (!this.sink) return;
      this.watching = setTimeout(tick, TASK_POLL_MS);
    };
    this.watching = setTimeout(tick, 0);
  }

  private stopWatching(): void {
    clearTimeout(this.watching);
    this.watching = undefined;
    this.sink = undefined;
  }

  async startServer(sink: ContainerSink): Promise<void> {
    const creating = (async () => {
      debug('creating network %s', this.networkName);
      this.networkId = await this.engine.networks.create(
        this.networkName,
        { ...this.labels, [STACK_NAMESPACE_LABEL]: this.options.namespace },
        'overlay',
      );
      this.configs = await createStackConfigs(this.engine, this.stack, this.options.namespace, this.labels);
      await this.deploy(SERVER_NAME, sink);
    })();
    this.pending = creating.catch(() => undefined);
    await creating;
    // The task ids must be known before lines can be told apart: the first poll comes at once.
    await this.watch();
    this.startWatching(sink);
  }

  /** A service's tasks cannot be signalled from here (they may run on other nodes): clients are deployed once the server listens. */
  waitsForGo = (): boolean => false;
  /** An application's task: its observer started the user's image's own command (compile-stack's applicationTask). */
  runsApplication = (container: string): boolean => this.output.runsApplication(container);

  /** Services start as soon as they are created: nothing to prepare before the server listens. */
  async prepareClients(): Promise<void> {}

  async startClients(sink: ContainerSink): Promise<void> {
    const keys = Object.keys(this.stack.containers).filter((key) => key !== SERVER_NAME);
    const creating = Promise.all(keys.map((key) => this.deploy(key, sink)));
    this.pending = creating.catch(() => undefined);
    await creating;
    await this.watch();
  }

  /** A swarm's kept run is stopped: its tasks may be on other nodes, which portlab cannot signal but by scaling. */
  readonly staysUp = false;

  detach(): void {
    this.stopWatching();
    for (const stop of this.stopFollowing) stop();
  }

  async signalServer(): Promise<void> {
    const server = this.services.find((service) => service.key === SERVER_NAME);
    if (!server) return;
    const task = this.tasks.find((candidate) => candidate.serviceId === server.id && !TASK_ENDED_STATES.has(candidate.state));
    // On this engine's own node the container is signalled at once; elsewhere the swarm stops the task its way.
    if (task?.containerId && task.nodeId === this.options.localNodeId)
      await this.engine.containers.signal(task.containerId, server.name, 'SIGTERM');
    else await this.engine.services.scale(server.id, server.name, 0);
  }

  /** The stop grace of the service a task belongs to, as its compiled definition states it. */
  private graceOf(task: SwarmTask): number {
    const key = this.services.find((service) => service.id === task.serviceId)?.key;
    const definition = key === undefined ? undefined : this.stack.project.services[key];
    return (definition && stopSettingsOf(definition)?.graceSeconds) ?? 0;
  }

  async stopAll(timeoutMs: number): Promise<void> {
    // Scaled to 0, every task gets its stop signal (SIGTERM) and the grace period; its last lines come through the log
    // API. The swarm reports a task ended seconds after its container has, so on this engine's own node the
    // containers are stopped directly (SIGTERM, then wait for the exit) and only other nodes' tasks are waited for.
    await this.watch();
    const here = this.tasks.filter(
      (task) => task.nodeId === this.options.localNodeId && task.containerId && !TASK_ENDED_STATES.has(task.state),
    );
    const stoppedHere = new Set(here.map((task) => task.id));
    await Promise.all([
      ...this.services.map((service) => this.engine.services.scale(service.id, service.name, 0)),
      ...here.map((task) =>
        this.engine.containers
          .stop(task.containerId!, task.id, this.graceOf(task))
          .catch((error: Error) => debug('stopping %s: %s', task.id, error.message)),
      ),
    ]);
    await retryUntil(
      async () => {
        await this.watch();
        return (
          this.tasks.every((task) => TASK_ENDED_STATES.has(task.state) || stoppedHere.has(task.id) || this.lostNodes.has(task.nodeId)) ||
          undefined
        );
      },
      { timeoutMs, intervalMs: TASK_POLL_MS },
    );
  }

  async settle(): Promise<void> {
    await this.pending;
  }

  async remove(): Promise<void> {
    this.detach();
    await this.watch();
    const networks = this.networkId === undefined ? [] : [{ id: this.networkId, name: this.networkName }];
    await removeStack(this.engine, {
      runId: this.options.runId,
      services: this.services,
      networks,
      lostNodes: this.lostNodes,
      localTasks: this.tasks.filter((task) => task.nodeId === this.options.localNodeId && task.containerId),
    });
  }
}
