import { z } from 'zod';
import { BOUNDS } from './bounds.ts';
import { SCENARIO_DEFAULTS } from './scenario-defaults.ts';
import {
  applicationFieldWithoutImage,
  applicationFields,
  bind,
  ClientPlacementSchema,
  connectTimeout,
  duration,
  port,
  positiveInt,
  processes,
  ServerPlacementSchema,
  socketPortRange,
  strictObject,
  sysctls,
  tolerance,
  ulimits,
} from './field-schemas.ts';
import { familyIssue, ipFamily } from './ip-family.ts';
import { serverNetwork, serverNetworkIssues } from './server-network.ts';

export const SCENARIO_NAME_PATTERN = /^[a-z0-9-]+$/;

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
  network: serverNetwork,
  /** An application of the user's own instead of the probe server, listening on `ports`. */
  ...applicationFields,
});

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
  /** Which of the server's addresses it connects to: ipv4, ipv6 or dual (both; needs the scenario's ipv6: true). */
  family: ipFamily,
  /** IP_LOCAL_PORT_RANGE on each of its sockets (Linux 6.3+): the ports connect() may pick from, within the namespace's. */
  socketPortRange: socketPortRange.optional(),
  /** churn: which side closes first and so keeps the TIME_WAIT (client by default). */
  close: z.enum(['client', 'server'], { error: 'expected "client" or "server"' }).default('client'),
  /** churn: connections per second per container; unset means as fast as the client can. */
  rate: rate.optional(),
  placement: ClientPlacementSchema.default({ constraints: [] }),
  /** An application of the user's own instead of the probe client (a load tool with its arguments, the user's app). */
  ...applicationFields,
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
export type { Bind } from './field-schemas.ts';
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

/** The scenario file's fields, before the rules that relate them. */
const scenarioFields = strictObject({
  // Without a name of its own the scenario takes the file's basename, checked like any name (superRefine).
  name: scenarioName.optional(),
  description: z.string({ error: 'expected text' }).default(''),
  /** A dual-stack network (a ULA /64 beside IPv4) with the probe server listening on both families. */
  ipv6: z.boolean({ error: 'expected true or false' }).default(false),
  server: ServerSchema.default(ServerSchema.parse({})),
  clients: ClientsSchema.default(ClientGroupSchema.parse({})),
  expect: ExpectSchema.default(ExpectSchema.parse({})),
});
type ScenarioFields = z.infer<typeof scenarioFields>;
type Issues = { addIssue: (issue: { code: 'custom'; message: string; path: PropertyKey[] }) => void };

/** The rules of one client group that relate its fields to each other and to the server's ports. */
function checkGroup(group: ClientGroupInput, server: ScenarioFields['server'], at: (...rest: PropertyKey[]) => PropertyKey[], ctx: Issues) {
  const notAServerPort = (p: number, path: PropertyKey[]) => {
    if (!server.ports.includes(p))
      ctx.addIssue({ code: 'custom', message: `port ${p} is not one of server.ports (${server.ports.join(', ')})`, path });
  };
  group.targets?.forEach((p, targetIndex) => notAServerPort(p, at('targets', targetIndex)));
  if (group.sourceAddresses > 1 && group.bind !== 'none') {
    ctx.addIssue({
      code: 'custom',
      message: 'several source addresses need bind: none (the client binds each address itself, leaving the port to connect())',
      path: at('sourceAddresses'),
    });
  }
  if (group.socketPortRange !== undefined && group.bind !== 'none') {
    ctx.addIssue({
      code: 'custom',
      message: 'socketPortRange narrows the ports connect() picks from: it goes with bind: none',
      path: at('socketPortRange'),
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
    phase.targets?.forEach((p, targetIndex) => notAServerPort(p, at('phases', phaseIndex, 'targets', targetIndex)));
  });
  if (group.phases && (group.processes !== 'auto' || group.bind !== 'none' || group.sourceAddresses !== 1)) {
    ctx.addIssue({ code: 'custom', message: 'phases run in one process with bind: none and one source address', path: at('phases') });
  }
  const withoutImage = applicationFieldWithoutImage(group);
  if (withoutImage)
    ctx.addIssue({ code: 'custom', message: `${withoutImage} goes with an image of your own (set image:)`, path: at(withoutImage) });
  if (group.image !== undefined) {
    const probeOnly = PROBE_CLIENT_ONLY.find(([, isSet]) => isSet(group));
    if (probeOnly)
      ctx.addIssue({
        code: 'custom',
        message: `${probeOnly[0]} applies to portlab's probe client, not to an image of your own (its command says what it does)`,
        path: at(probeOnly[0]),
      });
  }
  if (group.mode === 'churn' && group.duration === undefined && !group.phases) {
    ctx.addIssue({ code: 'custom', message: 'churn mode needs a duration (how long to churn), such as "30s"', path: at('duration') });
  }
}

/** What only portlab's probe client does, and whether a group sets it. */
const PROBE_CLIENT_ONLY: Array<[string, (group: ClientGroupInput) => boolean]> = [
  ['mode', (group) => group.mode !== 'hold'],
  ['phases', (group) => group.phases !== undefined],
  ['bind', (group) => group.bind !== 'none'],
  ['sourceAddresses', (group) => group.sourceAddresses !== 1],
  ['socketPortRange', (group) => group.socketPortRange !== undefined],
  ['family', (group) => group.family !== 'ipv4'],
  ['rate', (group) => group.rate !== undefined],
  ['duration', (group) => group.duration !== undefined],
  ['processes', (group) => group.processes !== 'auto'],
];

/** An application server: its command is its own, the settings of the probe server do not apply. */
function checkServer(server: ScenarioFields['server'], ctx: Issues) {
  const withoutImage = applicationFieldWithoutImage(server);
  const issue = (key: string, message: string) => ctx.addIssue({ code: 'custom', message, path: ['server', key] });
  if (withoutImage) issue(withoutImage, `${withoutImage} goes with an image of your own (set image:)`);
  if (server.image !== undefined && server.processes !== SCENARIO_DEFAULTS.server.processes)
    issue('processes', "processes applies to portlab's probe server, not to an image of your own");
  if (server.image !== undefined && server.backlog !== SCENARIO_DEFAULTS.server.backlog)
    issue('backlog', 'backlog is set by your application (listen()); portlab reads it from its listening socket');
}

/** The server closes every accepted connection first, or none: it cannot tell one client's from another's. */
function checkServerCloses(groups: ClientGroupInput[], listed: boolean, ctx: Issues) {
  const steps = (group: ClientGroupInput) =>
    group.phases ? group.phases.map((phase) => ({ mode: phase.mode, close: phase.close ?? group.close })) : [group];
  const closesFirst = (group: ClientGroupInput) => steps(group).every((step) => step.mode === 'churn' && step.close === 'server');
  const serverCloses = groups.filter((group) => steps(group).some((step) => step.mode === 'churn' && step.close === 'server'));
  if (serverCloses.length > 0 && !groups.every(closesFirst)) {
    const index = groups.findIndex((group) => !closesFirst(group));
    ctx.addIssue({
      code: 'custom',
      message: 'close: server makes the server close every connection first, so every client group must churn with close: server',
      path: listed ? ['clients', index] : ['clients'],
    });
  }
}

/** The scenario file; `defaultName` (the file's basename) names a scenario that does not name itself. */
export function scenarioSchema(defaultName: string) {
  return scenarioFields
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
        checkGroup(group, scenario.server, at, ctx);
        const family = familyIssue(group, scenario.ipv6);
        if (family) ctx.addIssue({ code: 'custom', message: family.message, path: at(family.key) });
      });
      checkServerCloses(groups, listed, ctx);
      checkServer(scenario.server, ctx);
      serverNetworkIssues(scenario.server, scenario.ipv6).forEach((issue) => ctx.addIssue(issue));
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
