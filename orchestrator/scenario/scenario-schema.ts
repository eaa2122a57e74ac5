import { z } from 'zod';
import { BOUNDS } from './bounds.ts';
import { parseDuration } from './duration.ts';
import { parsePortRange } from './port-range.ts';
import { sysctlProblem } from './namespaced-sysctls.ts';

export const SCENARIO_NAME_PATTERN = /^[a-z0-9-]+$/;

/** Defaults applied to every scenario file; the README's scenario file reference documents the same values. */
export const SCENARIO_DEFAULTS = {
  server: { ports: [5000], backlog: 4096, processes: 'auto' },
  clients: {
    name: 'client',
    close: 'client',
    count: 1,
    mode: 'hold',
    holdDuration: '10m',
    processes: 'auto',
    connectTimeout: '5s',
    bind: 'none',
  },
  expect: { tolerance: 0 },
} as const satisfies {
  server: { ports: readonly number[]; backlog: number; processes: 'auto' | number };
  clients: {
    name: string;
    close: 'client';
    count: number;
    mode: 'hold' | 'churn';
    holdDuration: string;
    processes: 'auto' | number;
    connectTimeout: string;
    bind: 'none';
  };
  expect: { tolerance: number | string };
};

/** A strict object whose unknown-key error lists what is allowed there. */
function strictObject<Shape extends z.ZodRawShape>(shape: Shape) {
  const known = Object.keys(shape).join(', ');
  return z.strictObject(shape, {
    error: (issue) => {
      if (issue.code === 'unrecognized_keys') return `unknown key; expected one of: ${known}`;
      if (issue.code === 'invalid_type') return `expected a map with keys such as ${known}`;
      return undefined;
    },
  });
}

const port = z
  .number({ error: 'expected a port number' })
  .int({ error: 'expected a whole port number' })
  .min(1, { error: 'expected a port from 1 to 65535' })
  .max(65535, { error: 'expected a port from 1 to 65535' });

const positiveInt = (what: string) =>
  z
    .number({ error: `expected ${what}` })
    .int({ error: `expected ${what}` })
    .min(1, { error: `expected ${what}` });

const NOFILE_EXPECTED = `expected a whole number from 1 to ${BOUNDS.nofile.toLocaleString('en-US')} (fs.nr_open's default, the most the kernel grants)`;
const nofileCount = z
  .number({ error: NOFILE_EXPECTED })
  .int({ error: NOFILE_EXPECTED })
  .min(1, { error: NOFILE_EXPECTED })
  .max(BOUNDS.nofile, { error: NOFILE_EXPECTED });

/** Compose ulimit syntax: a single number (soft = hard) or { soft, hard }. */
const ulimitValue = z
  .union([nofileCount, strictObject({ soft: nofileCount, hard: nofileCount })], { error: 'expected a whole number or { soft, hard }' })
  .transform((value) => (typeof value === 'number' ? { soft: value, hard: value } : value))
  .superRefine((limit, ctx) => {
    if (limit.soft > limit.hard) {
      ctx.addIssue({ code: 'custom', message: `soft (${limit.soft}) must be <= hard (${limit.hard})` });
    }
  });

const ulimits = strictObject({ nofile: ulimitValue.optional() });

/** Compose sysctl syntax: a map, or a list of "key=value" strings. Values are kept as the kernel text. */
const sysctls = z
  .union(
    [
      z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])),
      z.array(z.string().regex(/^[^=\s]+=.*$/, { error: 'expected "key=value"' })),
    ],
    { error: 'expected a map of sysctl: value, or a list of "sysctl=value"' },
  )
  .transform((value): Record<string, string> => {
    const entries = Array.isArray(value)
      ? value.map((item) => {
          const at = item.indexOf('=');
          return [item.slice(0, at), item.slice(at + 1)] as const;
        })
      : Object.entries(value).map(([key, v]) => [key, typeof v === 'boolean' ? (v ? '1' : '0') : String(v)] as const);
    return Object.fromEntries(entries);
  })
  .superRefine((map, ctx) => {
    for (const [key, value] of Object.entries(map)) {
      const problem = sysctlProblem(key, value);
      if (problem) ctx.addIssue({ code: 'custom', message: problem, path: [key] });
    }
  });

const DURATION_EXPECTED = 'expected a duration such as "30s", "2m" or "1m30s"';
/** A duration from 1 ms up to `maxMs`, said in the message when it is out of bounds. */
const durationUpTo = (maxMs: number, maxText: string) =>
  z.string({ error: DURATION_EXPECTED }).superRefine((text, ctx) => {
    const ms = parseDuration(text);
    if (ms === undefined) ctx.addIssue({ code: 'custom', message: `${DURATION_EXPECTED}, found ${JSON.stringify(text)}` });
    else if (ms === 0) ctx.addIssue({ code: 'custom', message: `expected a duration longer than 0, found ${JSON.stringify(text)}` });
    else if (ms > maxMs)
      ctx.addIssue({ code: 'custom', message: `expected a duration of at most ${maxText}, found ${JSON.stringify(text)}` });
  });
const duration = durationUpTo(BOUNDS.durationMs, '24h');
const connectTimeout = durationUpTo(BOUNDS.connectTimeoutMs, '10m');

const PROCESSES_EXPECTED = `expected "auto" or a whole number from 1 to ${BOUNDS.processes}`;
const processes = z.union(
  [z.literal('auto'), positiveInt(`a whole number from 1 to ${BOUNDS.processes}`).max(BOUNDS.processes, { error: PROCESSES_EXPECTED })],
  {
    error: PROCESSES_EXPECTED,
  },
);

const TOLERANCE_EXPECTED = 'expected a whole number of connections (>= 0) or a percentage such as "0.5%"';
const tolerance = z.union(
  [
    z
      .number()
      .int({ error: TOLERANCE_EXPECTED })
      .min(0, { error: TOLERANCE_EXPECTED })
      .max(BOUNDS.tolerance, { error: TOLERANCE_EXPECTED }),
    z.string().superRefine((text, ctx) => {
      if (!/^\d+(\.\d+)?%$/.test(text)) ctx.addIssue({ code: 'custom', message: TOLERANCE_EXPECTED });
      else if (Number(text.slice(0, -1)) > 100) ctx.addIssue({ code: 'custom', message: 'expected a percentage of at most 100%' });
    }),
  ],
  { error: TOLERANCE_EXPECTED },
);

/**
 * Where a swarm puts a service's tasks (--engine swarm; the local engine runs everything on its one host):
 * Docker's placement constraints, such as "node.labels.role == client", and for a client group at most `perNode`
 * of its containers on one node (compose's deploy.placement.max_replicas_per_node).
 */
const CONSTRAINT_EXPECTED =
  'expected a constraint such as "node.labels.role == client" (node.id, node.hostname, node.role, node.platform.os, node.platform.arch, node.labels.*, engine.labels.*, with == or !=)';
const constraint = z
  .string({ error: CONSTRAINT_EXPECTED })
  .regex(
    /^(node\.(id|hostname|role|platform\.os|platform\.arch|labels\.[A-Za-z0-9._-]+)|engine\.labels\.[A-Za-z0-9._-]+)\s*(==|!=)\s*[A-Za-z0-9._-]+$/,
    { error: CONSTRAINT_EXPECTED },
  );
const constraints = z
  .array(constraint, { error: 'expected a list of constraints' })
  .max(16, { error: 'expected at most 16 constraints' })
  .default([]);
const ServerPlacementSchema = strictObject({ constraints });
const ClientPlacementSchema = strictObject({
  constraints,
  perNode: positiveInt(`a whole number from 1 to ${BOUNDS.clients}`)
    .max(BOUNDS.clients, { error: `expected a whole number from 1 to ${BOUNDS.clients}` })
    .optional(),
});
export type ClientPlacement = z.infer<typeof ClientPlacementSchema>;

const ServerSchema = strictObject({
  ports: z
    .array(port, { error: 'expected a list of ports' })
    .min(1, { error: 'expected at least one port' })
    .max(BOUNDS.ports, { error: `expected at most ${BOUNDS.ports} listening ports` })
    .superRefine((ports, ctx) => {
      ports.forEach((p, index) => {
        if (ports.indexOf(p) !== index) {
          ctx.addIssue({ code: 'custom', message: `port ${p} is listed twice; listen ports must be unique`, path: [index] });
        }
      });
    })
    .default([...SCENARIO_DEFAULTS.server.ports]),
  ulimits: ulimits.default({}),
  backlog: positiveInt('a positive whole number')
    .max(BOUNDS.backlog, { error: `expected at most ${BOUNDS.backlog} (listen() takes an int; the kernel caps it at net.core.somaxconn)` })
    .default(SCENARIO_DEFAULTS.server.backlog),
  sysctls: sysctls.default({}),
  processes: processes.default(SCENARIO_DEFAULTS.server.processes),
  placement: ServerPlacementSchema.default({ constraints: [] }),
});

/**
 * What a client does before connect(): nothing (the kernel picks a port per destination), bind(0) (a port of its
 * own, exclusively), bind(0) with IP_BIND_ADDRESS_NO_PORT (the port is picked at connect(), per destination), or
 * bind() to a fixed port, with or without SO_REUSEADDR.
 */
const BIND_EXPECTED = 'expected none, port-zero, port-zero-no-reserve, or { port, reuseAddr }';
const bind = z.union(
  [
    z.enum(['none', 'port-zero', 'port-zero-no-reserve'], { error: BIND_EXPECTED }),
    strictObject({ port, reuseAddr: z.boolean({ error: 'expected true or false' }).default(false) }),
  ],
  { error: BIND_EXPECTED },
);
export type Bind = z.infer<typeof bind>;

const targetPorts = z
  .array(port, { error: 'expected a list of server ports' })
  .min(1, { error: 'expected at least one port' })
  .max(BOUNDS.ports, { error: `expected at most ${BOUNDS.ports} target ports` });
const RATE_WANTED = `a whole number of connections per second from 1 to ${BOUNDS.rate.toLocaleString('en-US')}`;
const rate = positiveInt(RATE_WANTED).max(BOUNDS.rate, { error: `expected ${RATE_WANTED}` });

const PhaseSchema = strictObject({
  mode: z.enum(['hold', 'churn'], { error: 'expected "hold" or "churn"' }),
  targets: targetPorts.optional(),
  duration: duration.optional(),
  rate: rate.optional(),
  close: z.enum(['client', 'server'], { error: 'expected "client" or "server"' }).optional(),
});

const GROUP_NAME_EXPECTED = 'expected a name of lower-case letters, digits and dashes, at most 32 characters (not "server")';
const ClientGroupSchema = strictObject({
  name: z
    .string({ error: GROUP_NAME_EXPECTED })
    .regex(SCENARIO_NAME_PATTERN, { error: GROUP_NAME_EXPECTED })
    .max(32, { error: GROUP_NAME_EXPECTED })
    .refine((name) => name !== 'server', { error: GROUP_NAME_EXPECTED })
    .optional(),
  count: positiveInt('a positive whole number')
    .max(BOUNDS.clients, { error: `expected at most ${BOUNDS.clients} clients` })
    .default(SCENARIO_DEFAULTS.clients.count),
  targets: targetPorts.optional(),
  ulimits: ulimits.default({}),
  sysctls: sysctls.default({}),
  mode: z.enum(['hold', 'churn'], { error: 'expected "hold" or "churn"' }).default(SCENARIO_DEFAULTS.clients.mode),
  duration: duration.optional(),
  connectTimeout: connectTimeout.default(SCENARIO_DEFAULTS.clients.connectTimeout),
  processes: processes.default(SCENARIO_DEFAULTS.clients.processes),
  bind: bind.default(SCENARIO_DEFAULTS.clients.bind),
  /** IPv4 source addresses the client connects from in turn; more than one are added to its interface. */
  sourceAddresses: positiveInt(`a whole number from 1 to ${BOUNDS.sourceAddresses}`)
    .max(BOUNDS.sourceAddresses, { error: `expected a whole number from 1 to ${BOUNDS.sourceAddresses}` })
    .default(1),
  /** churn: which side closes first and so keeps the TIME_WAIT (client by default). */
  close: z.enum(['client', 'server'], { error: 'expected "client" or "server"' }).default('client'),
  /** churn: connections per second per container; unset means as fast as the client can. */
  rate: rate.optional(),
  placement: ClientPlacementSchema.default({ constraints: [] }),
  /** Steps run one after another in the same container (one process), each with its own mode and targets. */
  phases: z
    .array(PhaseSchema, { error: 'expected a list of phases' })
    .min(1, { error: 'expected at least one phase' })
    .max(BOUNDS.phases, { error: `expected at most ${BOUNDS.phases} phases` })
    .optional(),
});
type ClientGroupInput = z.infer<typeof ClientGroupSchema>;
/** A phase with the group's settings filled in where it sets none. */
export type Phase = {
  mode: 'hold' | 'churn';
  targets: number[] | undefined;
  duration: string | undefined;
  rate: number | undefined;
  close: 'client' | 'server';
};
export type ClientGroup = Omit<ClientGroupInput, 'name' | 'phases'> & { name: string; phases: Phase[] | undefined };

/** One group of identical clients (a map), or several named groups (a list). */
const ClientsSchema = z.union([ClientGroupSchema, z.array(ClientGroupSchema).min(1, { error: 'expected at least one client group' })], {
  error: 'expected a map of client settings, or a list of named client groups',
});

const ExpectSchema = strictObject({ tolerance: tolerance.default(SCENARIO_DEFAULTS.expect.tolerance) });

const NAME_EXPECTED = `expected a name of lower-case letters, digits and dashes, at most ${BOUNDS.nameLength} characters`;
const scenarioName = z
  .string({ error: NAME_EXPECTED })
  .regex(SCENARIO_NAME_PATTERN, { error: NAME_EXPECTED })
  .max(BOUNDS.nameLength, { error: NAME_EXPECTED });

/** The scenario file; `defaultName` (the file's basename) names a scenario that does not name itself. */
export function scenarioSchema(defaultName: string) {
  return strictObject({
    // Without a name of its own the scenario takes the file's basename, checked like any name (superRefine).
    name: scenarioName.optional(),
    description: z.string({ error: 'expected text' }).default(''),
    server: ServerSchema.default(ServerSchema.parse({})),
    clients: ClientsSchema.default(ClientGroupSchema.parse({})),
    expect: ExpectSchema.default(ExpectSchema.parse({})),
  })
    .superRefine((scenario, ctx) => {
      if (scenario.name === undefined && !scenarioName.safeParse(defaultName).success) {
        ctx.addIssue({
          code: 'custom',
          message: `the file name gives the scenario the name ${JSON.stringify(defaultName)}, but a name is lower-case letters, digits and dashes, at most ${BOUNDS.nameLength} characters: rename the file or set name:`,
          path: [],
        });
      }
      const listed = Array.isArray(scenario.clients);
      const groups = Array.isArray(scenario.clients) ? scenario.clients : [scenario.clients];
      const seen = new Set<string>();
      groups.forEach((group, index) => {
        const at = (...rest: PropertyKey[]) => (listed ? ['clients', index, ...rest] : ['clients', ...rest]);
        if (listed && group.name === undefined) {
          ctx.addIssue({ code: 'custom', message: 'each group in a list of clients needs a name', path: at() });
        }
        if (group.name !== undefined && seen.has(group.name)) {
          ctx.addIssue({ code: 'custom', message: `client group "${group.name}" is named twice; names must be unique`, path: at('name') });
        }
        if (group.name !== undefined) seen.add(group.name);
        group.targets?.forEach((p, targetIndex) => {
          if (!scenario.server.ports.includes(p)) {
            ctx.addIssue({
              code: 'custom',
              message: `port ${p} is not one of server.ports (${scenario.server.ports.join(', ')})`,
              path: at('targets', targetIndex),
            });
          }
        });
        if (group.sourceAddresses > 1 && group.bind !== 'none') {
          ctx.addIssue({
            code: 'custom',
            message: 'several source addresses need bind: none (the client binds each address itself, leaving the port to connect())',
            path: at('sourceAddresses'),
          });
        }
        if (!group.phases && group.mode === 'hold' && (group.rate !== undefined || group.close !== 'client')) {
          const key = group.rate !== undefined ? 'rate' : 'close';
          ctx.addIssue({ code: 'custom', message: `${key} applies to churn mode only (this group holds its connections)`, path: at(key) });
        }
        group.phases?.forEach((phase, phaseIndex) => {
          if (phase.mode === 'churn' && (phase.duration ?? group.duration) === undefined) {
            ctx.addIssue({
              code: 'custom',
              message: "a churn phase needs a duration (its own or the group's)",
              path: at('phases', phaseIndex, 'duration'),
            });
          }
          phase.targets?.forEach((p, targetIndex) => {
            if (!scenario.server.ports.includes(p)) {
              ctx.addIssue({
                code: 'custom',
                message: `port ${p} is not one of server.ports (${scenario.server.ports.join(', ')})`,
                path: at('phases', phaseIndex, 'targets', targetIndex),
              });
            }
          });
        });
        if (group.phases && (group.processes !== 'auto' || group.bind !== 'none' || group.sourceAddresses !== 1)) {
          ctx.addIssue({ code: 'custom', message: 'phases run in one process with bind: none and one source address', path: at('phases') });
        }
        if (group.mode === 'churn' && group.duration === undefined && !group.phases) {
          ctx.addIssue({ code: 'custom', message: 'churn mode needs a duration (how long to churn), such as "30s"', path: at('duration') });
        }
      });
      // The server closes every accepted connection first, or none: it cannot tell one client's from another's.
      const steps = (group: (typeof groups)[number]) =>
        group.phases ? group.phases.map((phase) => ({ mode: phase.mode, close: phase.close ?? group.close })) : [group];
      const closesFirst = (group: (typeof groups)[number]) =>
        steps(group).every((step) => step.mode === 'churn' && step.close === 'server');
      const serverCloses = groups.filter((group) => steps(group).some((step) => step.mode === 'churn' && step.close === 'server'));
      if (serverCloses.length > 0 && !groups.every(closesFirst)) {
        const index = groups.findIndex((group) => !closesFirst(group));
        ctx.addIssue({
          code: 'custom',
          message: 'close: server makes the server close every connection first, so every client group must churn with close: server',
          path: listed ? ['clients', index] : ['clients'],
        });
      }
    })
    .transform(({ clients, name, ...rest }) => ({
      name: name ?? defaultName,
      ...rest,
      clients: (Array.isArray(clients) ? clients : [clients]).map((group): ClientGroup => ({
        ...group,
        name: group.name ?? SCENARIO_DEFAULTS.clients.name,
        phases: group.phases?.map((phase) => ({
          mode: phase.mode,
          targets: phase.targets ?? group.targets,
          duration: phase.duration ?? group.duration,
          rate: phase.rate ?? group.rate,
          close: phase.close ?? group.close,
        })),
      })),
    }));
}

export type Scenario = z.infer<ReturnType<typeof scenarioSchema>>;
export type ServerSpec = Scenario['server'];
/** What the clients do, step by step: each group's phases, or the group itself. */
export const clientSteps = (scenario: Scenario): Array<Pick<Phase, 'mode' | 'close'>> =>
  scenario.clients.flatMap((group): Array<Pick<Phase, 'mode' | 'close'>> => group.phases ?? [group]);

/** Whether the server closes every accepted connection first (a churn with close: server), keeping the TIME_WAIT. */
export const serverClosesFirst = (scenario: Scenario) =>
  clientSteps(scenario).some((step) => step.mode === 'churn' && step.close === 'server');

/** Container names of a group: client-1, client-2, ... for a group named "client". */
/** The server's service and container name in every compiled project, result and report. */
export const SERVER_NAME = 'server';

/** Where a container's phase is observed, predicted and judged: client-1/phase-2 (the container itself: client-1). */
export const phaseKey = (container: string, phase: number | null) => (phase === null ? container : `${container}/phase-${phase}`);

/** Whether a key names one phase of a container rather than the container. */
export const isPhaseKey = (key: string) => /\/phase-\d+$/.test(key);

/** A client group's containers: <group>-1, <group>-2, ... */
export const containerNames = (group: ClientGroup) => Array.from({ length: group.count }, (_, index) => `${group.name}-${index + 1}`);
export type Nofile = z.infer<typeof ulimitValue>;

/** The port range a scenario asks for, if it sets one. */
export function requestedPortRange(sysctlMap: Record<string, string>) {
  const text = sysctlMap['net.ipv4.ip_local_port_range'];
  return text === undefined ? undefined : parsePortRange(text);
}
