import { EngineError } from '../errors.ts';
import type { StopSettings } from './containers.ts';
import { debug, labelFilters, removal, statusOf, type ClientContext, type LabelFilter, type Labelled, type RawTask } from './call.ts';

/** A swarm service as portlab deploys one: a probe, run once, on an overlay network (or the host's, for preflight). */
export type ServiceSpec = {
  name: string;
  image: string;
  command: string[];
  /** Replaces the image's entrypoint (an application's task starts under its observer); absent: the image's own. */
  entrypoint?: string[];
  environment?: string[];
  /** Swarm configs mounted as files into each task (the observer, an application's read-only files). */
  configs?: Array<{ id: string; name: string; target: string; mode: number }>;
  /** On the service (what `docker service ls` and cleanup filter by). */
  labels: Record<string, string>;
  /** On its containers. */
  containerLabels: Record<string, string>;
  /** The overlay network's id, and the name the service has there; or 'host' to run in each node's own namespace. */
  network: { id: string; alias: string } | 'host';
  /**
   * replicas: that many tasks; 'global': one task on every node (preflight). Either way a task runs once. (Not a
   * global job: Docker 20.10 leaves a removed job's containers behind.)
   */
  mode: { replicas: number } | 'global';
  nofile?: { soft: number; hard: number };
  sysctls?: Record<string, string>;
  capAdd?: string[];
  constraints?: string[];
  maxPerNode?: number;
  /** How its tasks are stopped: compose.base.yml's stop_signal and stop_grace_period. */
  stop?: StopSettings;
};

/** The states a swarm task does not leave: it ran and ended, or never will run (the one list of them). */
export const TASK_ENDED_STATES: ReadonlySet<string> = new Set(['complete', 'failed', 'shutdown', 'rejected', 'orphaned', 'remove']);

/** One task of a service, as the swarm reports it. */
export type SwarmTask = {
  id: string;
  serviceId: string;
  /** The replica's number (1, 2, ...); null for a global service's tasks. */
  slot: number | null;
  nodeId: string;
  /** new, pending, assigned, ..., running, complete, failed, shutdown, rejected, orphaned, remove */
  state: string;
  desiredState: string;
  /** What went wrong, when it did (e.g. "No such image: ..."). */
  error: string | null;
  containerId: string | null;
  /** The container's exit code once it has exited. */
  exitCode: number | null;
};

/** Swarm services and their tasks, through a manager. */
export class Services {
  constructor(private readonly context: ClientContext) {}

  async create(spec: ServiceSpec, interrupt?: AbortSignal): Promise<string> {
    return this.context.call(
      `the creation of service ${spec.name}`,
      async (abortSignal) => {
        const service = await this.context.api.createService({ ...serviceSpecBody(spec), abortSignal });
        debug('created service %s (%s)', spec.name, service.id.slice(0, 12));
        return service.id;
      },
      (error) => {
        throw new EngineError(`creating service ${spec.name}`, { cause: error });
      },
      { interrupt },
    );
  }

  /** Sets a replicated service's replicas; 0 stops its tasks the swarm's way (stop signal, then the grace period). */
  async scale(id: string, name: string, replicas: number): Promise<void> {
    return this.context.call(
      `the scaling of service ${name}`,
      async (abortSignal) => {
        const service = this.context.api.getService(id);
        const current = await service.inspect({ abortSignal });
        await service.update({
          ...current.Spec,
          version: current.Version.Index,
          Mode: { Replicated: { Replicas: replicas } },
          abortSignal,
        });
      },
      (error) => {
        if (statusOf(error) === 404) return;
        throw new EngineError(`scaling service ${name}`, { cause: error });
      },
    );
  }

  async remove(id: string, name: string): Promise<void> {
    return removal(this.context, 'service', name, (abortSignal) => this.context.api.getService(id).remove({ abortSignal }));
  }

  async list(labels: LabelFilter): Promise<Labelled[]> {
    return this.context.call(
      'a list of services',
      async (abortSignal) =>
        (await this.context.api.listServices({ filters: { label: labelFilters(labels) }, abortSignal })).map((service) => ({
          id: service.ID,
          name: service.Spec?.Name ?? service.ID,
          labels: service.Spec?.Labels ?? {},
        })),
      (error) => {
        throw new EngineError(`listing services labelled ${labelFilters(labels).join(', ')}`, { cause: error });
      },
    );
  }

  /**
   * The tasks of the services named by id. Every task is listed and the services' picked out: a filter naming a
   * service that was just removed fails, while its tasks are still going down.
   */
  async tasks(services: string[]): Promise<SwarmTask[]> {
    if (services.length === 0) return [];
    const wanted = new Set(services);
    return this.context.call(
      'a list of tasks',
      async (abortSignal) =>
        (await this.context.api.listTasks({ filters: {}, abortSignal })).filter((task) => wanted.has(task.ServiceID)).map(taskOf),
      (error) => {
        throw new EngineError("listing the swarm's tasks", { cause: error });
      },
    );
  }
}

const taskOf = (task: RawTask): SwarmTask => ({
  id: task.ID,
  serviceId: task.ServiceID,
  slot: task.Slot ?? null,
  nodeId: task.NodeID ?? '',
  state: task.Status?.State ?? 'new',
  desiredState: task.DesiredState ?? '',
  error: task.Status?.Err || null,
  containerId: task.Status?.ContainerStatus?.ContainerID || null,
  exitCode: task.Status?.ContainerStatus?.ExitCode ?? null,
});

/** The Engine API's ServiceSpec for a portlab service (Engine API 1.41: sysctls, ulimits and capabilities on services). */
export function serviceSpecBody(spec: ServiceSpec): Record<string, unknown> {
  const placement =
    (spec.constraints?.length ?? 0) > 0 || spec.maxPerNode !== undefined
      ? {
          ...(spec.constraints?.length ? { Constraints: spec.constraints } : {}),
          ...(spec.maxPerNode !== undefined ? { MaxReplicas: spec.maxPerNode } : {}),
        }
      : undefined;
  return {
    Name: spec.name,
    Labels: spec.labels,
    TaskTemplate: {
      ContainerSpec: {
        Image: spec.image,
        ...(spec.entrypoint ? { Command: spec.entrypoint } : {}),
        Args: spec.command,
        ...(spec.environment?.length ? { Env: spec.environment } : {}),
        ...(spec.configs?.length
          ? {
              Configs: spec.configs.map((config) => ({
                ConfigID: config.id,
                ConfigName: config.name,
                File: { Name: config.target, UID: '0', GID: '0', Mode: config.mode },
              })),
            }
          : {}),
        Labels: spec.containerLabels,
        ...(spec.stop ? { StopSignal: spec.stop.signal, StopGracePeriod: spec.stop.graceSeconds * 1_000_000_000 } : {}),
        ...(spec.nofile ? { Ulimits: [{ Name: 'nofile', Soft: spec.nofile.soft, Hard: spec.nofile.hard }] } : {}),
        ...(spec.sysctls && Object.keys(spec.sysctls).length > 0 ? { Sysctls: spec.sysctls } : {}),
        ...(spec.capAdd?.length ? { CapabilityAdd: spec.capAdd.map((cap) => (cap.startsWith('CAP_') ? cap : `CAP_${cap}`)) } : {}),
      },
      // A probe runs once: the swarm never starts a finished or failed task again.
      RestartPolicy: { Condition: 'none', MaxAttempts: 0 },
      ...(placement ? { Placement: placement } : {}),
      Networks: spec.network === 'host' ? [{ Target: 'host' }] : [{ Target: spec.network.id, Aliases: [spec.network.alias] }],
      LogDriver: { Name: 'json-file' },
    },
    Mode: spec.mode === 'global' ? { Global: {} } : { Replicated: { Replicas: spec.mode.replicas } },
    // dnsrr: the service's name resolves to its tasks' own addresses. The default (VIP) sends every connection
    // through IPVS, which masquerades the clients behind one address: never measured through by accident.
    ...(spec.network === 'host' ? {} : { EndpointSpec: { Mode: 'dnsrr' } }),
  };
}
