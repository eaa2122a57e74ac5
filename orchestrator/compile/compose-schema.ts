import { z } from 'zod';

const Labels = z.record(z.string(), z.string());

/** Compose's deploy: section, as `docker stack deploy` reads it (the swarm engine's services). */
export const ComposeDeploy = z.object({
  replicas: z.number().int(),
  /** dnsrr: the service name resolves to the task's own address. The default, VIP, goes through IPVS. */
  endpoint_mode: z.literal('dnsrr'),
  /** A probe runs once: a task that ended is not started again. */
  restart_policy: z.object({ condition: z.literal('none') }),
  placement: z.object({ constraints: z.array(z.string()).optional(), max_replicas_per_node: z.number().int().optional() }).optional(),
  /** Labels on the service itself (the container's are `labels`). */
  labels: Labels.optional(),
});
export type ComposeDeploy = z.infer<typeof ComposeDeploy>;

/** The subset of the Compose Specification portlab writes and the engine reads back. */
export const ComposeService = z.object({
  image: z.string(),
  /** Absent: the image's own command (an application of the user's that sets none). */
  command: z.array(z.string()).optional(),
  /** A swarm's application task: its observer, which starts the image's own entrypoint and command after `--`. */
  entrypoint: z.array(z.string()).optional(),
  /** A swarm's application task: files from the stack's configs (its observer, its read-only files). */
  configs: z.array(z.object({ source: z.string(), target: z.string(), mode: z.number().int() })).optional(),
  environment: z.array(z.string()).optional(),
  /** Read-only files, in compose's short syntax (HOST:CONTAINER:ro). */
  volumes: z.array(z.string()).optional(),
  /** An application of the user's own: "service:<name>", the network and PID namespaces of its observer. */
  network_mode: z.string().optional(),
  pid: z.string().optional(),
  depends_on: z.array(z.string()).optional(),
  ulimits: z.record(z.string(), z.object({ soft: z.number().int(), hard: z.number().int() })).optional(),
  sysctls: z.record(z.string(), z.string()).optional(),
  cap_add: z.array(z.string()).optional(),
  labels: Labels,
  networks: z.array(z.string()).optional(),
  restart: z.string().optional(),
  stop_grace_period: z.string().optional(),
  stop_signal: z.string().optional(),
  logging: z.object({ driver: z.string() }).optional(),
  deploy: ComposeDeploy.optional(),
});
export type ComposeService = z.infer<typeof ComposeService>;

export const ComposeProject = z.object({
  name: z.string(),
  services: z.record(z.string(), ComposeService),
  /** A swarm stack's configs: each a file of this host, handed to the tasks that name it on any node. */
  configs: z.record(z.string(), z.object({ file: z.string() })).optional(),
  networks: z.record(
    z.string(),
    z.object({
      driver: z.string(),
      internal: z.boolean().optional(),
      attachable: z.boolean().optional(),
      labels: Labels.optional(),
      /** A dual-stack network: IPv6 beside IPv4, from the subnet its IPAM config names. */
      enable_ipv6: z.boolean().optional(),
      ipam: z.object({ config: z.array(z.object({ subnet: z.string() })) }).optional(),
    }),
  ),
});
export type ComposeProject = z.infer<typeof ComposeProject>;

/** compose.base.yml: the service template and the networks every project shares. */
export const ComposeBase = z.object({
  'x-portlab-service': ComposeService.omit({ image: true, command: true, labels: true }).partial(),
  networks: ComposeProject.shape.networks,
});
export type ComposeBase = z.infer<typeof ComposeBase>;
