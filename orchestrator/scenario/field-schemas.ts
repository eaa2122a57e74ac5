import { z } from 'zod';
import { BOUNDS } from './bounds.ts';
import { parseDuration } from './duration.ts';
import { portRangeProblem } from './port-range.ts';
import { sysctlProblem } from './namespaced-sysctls.ts';

/* The value schemas a scenario file's fields are made of: ports, counts, ulimits, sysctls, durations, placement. */

/** A strict object whose unknown-key error lists what is allowed there. */
export function strictObject<Shape extends z.ZodRawShape>(shape: Shape) {
  const known = Object.keys(shape).join(', ');
  return z.strictObject(shape, {
    error: (issue) => {
      if (issue.code === 'unrecognized_keys') return `unknown key; expected one of: ${known}`;
      if (issue.code === 'invalid_type') return `expected a map with keys such as ${known}`;
      return undefined;
    },
  });
}

export const port = z
  .number({ error: 'expected a port number' })
  .int({ error: 'expected a whole port number' })
  .min(1, { error: 'expected a port from 1 to 65535' })
  .max(65535, { error: 'expected a port from 1 to 65535' });

export const positiveInt = (what: string) =>
  z
    .number({ error: `expected ${what}` })
    .int({ error: `expected ${what}` })
    .min(1, { error: `expected ${what}` });

export const NOFILE_EXPECTED = `expected a whole number from 1 to ${BOUNDS.nofile.toLocaleString('en-US')} (fs.nr_open's default, the most the kernel grants)`;
export const nofileCount = z
  .number({ error: NOFILE_EXPECTED })
  .int({ error: NOFILE_EXPECTED })
  .min(1, { error: NOFILE_EXPECTED })
  .max(BOUNDS.nofile, { error: NOFILE_EXPECTED });

/** Compose ulimit syntax: a single number (soft = hard) or { soft, hard }. */
export const ulimitValue = z
  .union([nofileCount, strictObject({ soft: nofileCount, hard: nofileCount })], { error: 'expected a whole number or { soft, hard }' })
  .transform((value) => (typeof value === 'number' ? { soft: value, hard: value } : value))
  .superRefine((limit, ctx) => {
    if (limit.soft > limit.hard) {
      ctx.addIssue({ code: 'custom', message: `soft (${limit.soft}) must be <= hard (${limit.hard})` });
    }
  });

export const ulimits = strictObject({ nofile: ulimitValue.optional() });

/** Compose sysctl syntax: a map, or a list of "key=value" strings. Values are kept as the kernel text. */
export const sysctls = z
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

export const DURATION_EXPECTED = 'expected a duration such as "30s", "2m" or "1m30s"';
/** A duration from 1 ms up to `maxMs`, said in the message when it is out of bounds. */
export const durationUpTo = (maxMs: number, maxText: string) =>
  z.string({ error: DURATION_EXPECTED }).superRefine((text, ctx) => {
    const ms = parseDuration(text);
    if (ms === undefined) ctx.addIssue({ code: 'custom', message: `${DURATION_EXPECTED}, found ${JSON.stringify(text)}` });
    else if (ms === 0) ctx.addIssue({ code: 'custom', message: `expected a duration longer than 0, found ${JSON.stringify(text)}` });
    else if (ms > maxMs)
      ctx.addIssue({ code: 'custom', message: `expected a duration of at most ${maxText}, found ${JSON.stringify(text)}` });
  });
export const duration = durationUpTo(BOUNDS.durationMs, '24h');
/** How often an observer looks at an application's namespace. */
const observeEvery = durationUpTo(BOUNDS.observeEveryMaxMs, '1m').superRefine((text, ctx) => {
  const ms = parseDuration(text);
  if (ms !== undefined && ms > 0 && ms < BOUNDS.observeEveryMinMs)
    ctx.addIssue({
      code: 'custom',
      message: `expected a duration of at least ${BOUNDS.observeEveryMinMs}ms, found ${JSON.stringify(text)}`,
    });
});
export const connectTimeout = durationUpTo(BOUNDS.connectTimeoutMs, '10m');

export const PROCESSES_EXPECTED = `expected "auto" or a whole number from 1 to ${BOUNDS.processes}`;
export const processes = z.union(
  [z.literal('auto'), positiveInt(`a whole number from 1 to ${BOUNDS.processes}`).max(BOUNDS.processes, { error: PROCESSES_EXPECTED })],
  {
    error: PROCESSES_EXPECTED,
  },
);

export const TOLERANCE_EXPECTED = 'expected a whole number of connections (>= 0) or a percentage such as "0.5%"';
export const tolerance = z.union(
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
export const CONSTRAINT_EXPECTED =
  'expected a constraint such as "node.labels.role == client" (node.id, node.hostname, node.role, node.platform.os, node.platform.arch, node.labels.*, engine.labels.*, with == or !=)';
export const constraint = z
  .string({ error: CONSTRAINT_EXPECTED })
  .regex(
    /^(node\.(id|hostname|role|platform\.os|platform\.arch|labels\.[A-Za-z0-9._-]+)|engine\.labels\.[A-Za-z0-9._-]+)\s*(==|!=)\s*[A-Za-z0-9._-]+$/,
    { error: CONSTRAINT_EXPECTED },
  );
export const constraints = z
  .array(constraint, { error: 'expected a list of constraints' })
  .max(16, { error: 'expected at most 16 constraints' })
  .default([]);
export const ServerPlacementSchema = strictObject({ constraints });
export const ClientPlacementSchema = strictObject({
  constraints,
  perNode: positiveInt(`a whole number from 1 to ${BOUNDS.clients}`)
    .max(BOUNDS.clients, { error: `expected a whole number from 1 to ${BOUNDS.clients}` })
    .optional(),
});
export type ClientPlacement = z.infer<typeof ClientPlacementSchema>;

export type Nofile = z.infer<typeof ulimitValue>;

/* ---- an application of the user's own, in compose's vocabulary ---------------------------------------------- */

const IMAGE_EXPECTED = 'expected an image reference such as "portlab.invalid/nginx:1.22"';
/** An image on the engine, or pulled as compose would (never one in .invalid, as portlab's own builds are). */
export const image = z
  .string({ error: IMAGE_EXPECTED })
  .regex(/^[a-z0-9][a-z0-9._/:@-]*$/, { error: IMAGE_EXPECTED })
  .max(255, { error: IMAGE_EXPECTED });

const COMMAND_EXPECTED = 'expected a list of arguments, such as [wrk, -c, "2000", "http://server/"]';
/** Compose's command: a list of arguments, or one string split at spaces (write a list when an argument has one). */
export const command = z
  .union(
    [
      z
        .array(z.string({ error: COMMAND_EXPECTED }).max(4096), { error: COMMAND_EXPECTED })
        .min(1)
        .max(256),
      z.string().min(1),
    ],
    {
      error: COMMAND_EXPECTED,
    },
  )
  .superRefine((value, ctx) => {
    if (typeof value === 'string' && /["']/.test(value))
      ctx.addIssue({ code: 'custom', message: 'a command with quotes must be written as a list of arguments' });
  })
  .transform((value) => (typeof value === 'string' ? value.split(/\s+/).filter(Boolean) : value));

const VARIABLE = /^[A-Za-z_][A-Za-z0-9_]*$/;
const ENVIRONMENT_EXPECTED = 'expected a map of NAME: value, or a list of "NAME=value"';
/** Compose's environment: a map, or a list of "NAME=value"; kept as the list. */
export const environment = z
  .union(
    [
      z.record(
        z.string().regex(VARIABLE, { error: 'a variable name is letters, digits and _' }),
        z.union([z.string(), z.number(), z.boolean()]),
      ),
      z.array(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*=/, { error: 'expected "NAME=value"' })),
    ],
    { error: ENVIRONMENT_EXPECTED },
  )
  .transform((value) => (Array.isArray(value) ? value : Object.entries(value).map(([name, text]) => `${name}=${String(text)}`)));

const VOLUME_EXPECTED =
  'expected a read-only file in compose short syntax, HOST_PATH:CONTAINER_PATH:ro (HOST_PATH relative to the scenario file)';
/** Read-only files for the application (a config file), in compose's short syntax; the host path is checked on load. */
export const volumes = z
  .array(z.string({ error: VOLUME_EXPECTED }).regex(/^[^:]+:\/[^:]*:ro$/, { error: VOLUME_EXPECTED }), { error: VOLUME_EXPECTED })
  .max(16, { error: 'expected at most 16 files' });

/** The limits the model names, that can bind a container (predict/prediction-schema.ts's Limit is these and none). */
/** The limits of a network helper that carries every connection, all clients' together (predict/network-helper.ts). */
export const HELPER_LIMITS = ['network-helper', 'host-port-range'] as const;
export const LIMIT_NAMES = [
  'port-range',
  'bound-port',
  'nofile',
  'server-nofile',
  'conntrack',
  'file-max',
  'time-wait',
  ...HELPER_LIMITS,
] as const;

const HOLDS_EXPECTED = 'expected a whole number of connections, or { atLeast, atMost } (either or both, whole numbers)';
const heldCount = z
  .number({ error: HOLDS_EXPECTED })
  .int({ error: HOLDS_EXPECTED })
  .min(0, { error: HOLDS_EXPECTED })
  .max(BOUNDS.holds, { error: HOLDS_EXPECTED });
/** How many connections an application holds at once: a count, or an interval for one that varies from run to run. */
const holds = z.union(
  [
    heldCount,
    strictObject({ atLeast: heldCount.optional(), atMost: heldCount.optional() }).superRefine((interval, ctx) => {
      if (interval.atLeast === undefined && interval.atMost === undefined)
        ctx.addIssue({ code: 'custom', message: 'expected atLeast, atMost or both' });
      else if (interval.atLeast !== undefined && interval.atMost !== undefined && interval.atLeast > interval.atMost)
        ctx.addIssue({
          code: 'custom',
          message: `atLeast (${interval.atLeast}) must be <= atMost (${interval.atMost})`,
          path: ['atLeast'],
        });
    }),
  ],
  { error: HOLDS_EXPECTED },
);
const BOUND_EXPECTED = `expected application or one of ${LIMIT_NAMES.join(', ')}`;
/**
 * What the user believes their software does, judged after the run: the connections each container holds at once (a
 * server: the peak it had accepted and not closed; a client: the peak of local ports in use to the server), and
 * optionally which limit binds it.
 */
export const applicationExpect = strictObject({
  holds,
  bound: z.enum(['application', ...LIMIT_NAMES], { error: BOUND_EXPECTED }).optional(),
});
export type ApplicationExpect = z.infer<typeof applicationExpect>;

/** The fields that put an application of the user's own in place of the probe. */
export const applicationFields = {
  image: image.optional(),
  command: command.optional(),
  environment: environment.optional(),
  volumes: volumes.optional(),
  /** How often portlab's observer looks at the kernel's view of it (more often than every 4 looks' cost it never does). */
  observeEvery: observeEvery.optional(),
  /** What the user expects of it; without one, what it does is measured and shown, not judged. */
  expect: applicationExpect.optional(),
};

/** The first setting of an application of the user's own (command, environment, ...) given without an image, if any. */
export function applicationFieldWithoutImage(fields: Partial<Record<keyof typeof applicationFields, unknown>>) {
  if (fields.image !== undefined) return undefined;
  return (Object.keys(applicationFields) as Array<keyof typeof applicationFields>).find(
    (key) => key !== 'image' && fields[key] !== undefined,
  );
}

/**
 * What a client does before connect(): nothing (the kernel picks a port per destination), bind(0) (a port of its
 * own, exclusively), bind(0) with IP_BIND_ADDRESS_NO_PORT (the port is picked at connect(), per destination), or
 * bind() to a fixed port, with or without SO_REUSEADDR.
 */
const BIND_EXPECTED = 'expected none, port-zero, port-zero-no-reserve, or { port, reuseAddr }';
export const bind = z.union(
  [
    z.enum(['none', 'port-zero', 'port-zero-no-reserve'], { error: BIND_EXPECTED }),
    strictObject({ port, reuseAddr: z.boolean({ error: 'expected true or false' }).default(false) }),
  ],
  { error: BIND_EXPECTED },
);
export type Bind = z.infer<typeof bind>;

/**
 * IP_LOCAL_PORT_RANGE (Linux 6.3+) on every socket a client connects from: "low high", which narrows the
 * namespace's ip_local_port_range for that socket (a bound outside the namespace's range is ignored).
 */
const SOCKET_PORT_RANGE_EXPECTED = 'expected two port numbers such as "40100 40300"';
export const socketPortRange = z.string({ error: SOCKET_PORT_RANGE_EXPECTED }).superRefine((text, ctx) => {
  const problem = portRangeProblem(text);
  if (problem) ctx.addIssue({ code: 'custom', message: problem });
});
