import { z } from 'zod';
import { ENGINE_KINDS } from '../engine/registry.ts';
import { Environment } from '../predict/environment.ts';
import { ApplicationEnd } from '../observe/application-end.ts';
import { KernelView } from '../observe/kernel-view.ts';
import { NodeLoad } from '../predict/node-plan.ts';
import { WorkerObservation } from '../observe/observation.ts';
import { ContainerSeries } from '../observe/series.ts';
import { NofileLimit, Prediction } from '../predict/prediction-schema.ts';
import { ContainerVerdict, ContainerVerdictValue, RunVerdict } from '../verdict/verdict-schema.ts';

/** 2: every container's result has its `series`. 3: a predicted stop is a set of errnos and whether none may stop it. */
export const RESULT_SCHEMA_VERSION = 3;

/** What one container asked for and what it got, as its probe read it back inside the container. */
export const ContainerEnvironment = z.strictObject({
  requestedNofile: NofileLimit.nullable(),
  grantedNofile: NofileLimit.nullable(),
  processes: z.number().int(),
  fdBudget: z.number().int(),
  fdsOpen: z.number().int().nullable(),
  sysctlsRequested: z.record(z.string(), z.string()),
  /** Sysctls as the probe read them from /proc/sys inside the container. */
  sysctlsApplied: z.record(z.string(), z.string()),
  /** TCP ports already bound in the container's network namespace when the probe started. */
  boundPorts: z.array(z.number().int()),
  note: z.string().nullable(),
  /** The swarm node it ran on (its hostname); absent on the local engine, where everything runs on one host. */
  node: z.string().optional(),
  /** The swarm node's id: what tells nodes apart when they share a hostname. */
  nodeId: z.string().optional(),
});

export const ContainerResult = ContainerVerdict.extend({
  workers: z.array(WorkerObservation),
  errors: z.record(z.string(), z.number().int()),
  /** ms from the probe's start until its last worker stopped; null if one never did. */
  stoppedAfterMs: z.number().int().nullable(),
  /** The first errno that stopped a worker, and when (ms since the probe started); null if none did. */
  firstFailure: z.strictObject({ errno: z.string(), atMs: z.number().int() }).nullable(),
  /** Sockets in TIME_WAIT in the container's namespace at the end. */
  timeWait: z.number().int().nullable(),
  /** Churn: sockets its namespace put in TIME_WAIT while it churned (more than are left means RSTs killed some). */
  timeWaitEntered: z.number().int().nullable().optional(),
  /** Paced churn: connections its workers were behind their schedule at the end (its prediction subtracts them). */
  paceBehind: z.number().int().nullable().optional(),
  /** A client connecting over IPv6 (family ipv6 or dual): its count by the family of the server's address. */
  byFamily: z.strictObject({ ipv4: z.number().int(), ipv6: z.number().int() }).optional(),
  /** An application of the user's own: what the kernel showed of its namespace (its observer's view). */
  kernel: KernelView.optional(),
  /** An application client of the user's own that ended: its exit code and last lines. */
  applicationEnd: ApplicationEnd.optional(),
  /** How its count moved during the run; null if its probe never reported. */
  series: ContainerSeries.nullable(),
});

export const RunResult = z.strictObject({
  schemaVersion: z.literal(RESULT_SCHEMA_VERSION),
  scenario: z.record(z.string(), z.unknown()),
  scenarioFile: z.string(),
  run: z.strictObject({
    id: z.string(),
    project: z.string(),
    startedAt: z.string(),
    endedAt: z.string(),
    durationMs: z.number().int(),
    /** Why the run ended: every client stopped, the hold duration passed, a failure, or an interrupt. */
    endReason: z.enum(['clients-done', 'duration', 'stalled', 'failed', 'interrupted']),
    failure: z.string().nullable(),
    /** What removing the run's containers and network failed to remove (empty when everything went). */
    cleanupErrors: z.array(z.string()),
    /**
     * Where the time went, in ms: preflight (from the command's start: probe image, engine grants), serverStart
     * (network and server container), serverReady (until it listens), clientsStart (their containers), fill (until
     * every client finished), stop (until every last line was read), remove. null for a step the run never reached.
     */
    phasesMs: z.strictObject({
      preflight: z.number().int().nullable(),
      serverStart: z.number().int().nullable(),
      serverReady: z.number().int().nullable(),
      clientsStart: z.number().int().nullable(),
      fill: z.number().int().nullable(),
      stop: z.number().int().nullable(),
      remove: z.number().int().nullable(),
    }),
    kept: z.boolean(),
    /** Where it ran: the local engine (containers on one host), or a swarm (services across its nodes). */
    engine: z.enum(ENGINE_KINDS).optional(),
    /**
     * Per client that fills its port range: the time predicted from earlier fills on the engine (and how), and the
     * time its probe took to its last worker's stop. Empty before the engine has filled ports once.
     */
    fillTimes: z
      .record(z.string(), z.strictObject({ predictedSeconds: z.number(), basis: z.string(), observedSeconds: z.number().nullable() }))
      .optional(),
  }),
  environment: z.strictObject({
    docker: z.strictObject({ version: z.string(), apiVersion: z.string() }),
    kernel: z.string(),
    /** How the run's containers were joined: a bridge on one host, or an overlay between nodes (absent before 0.1). */
    network: Environment.shape.network.optional(),
    engineNofileCeiling: z.number().int().nullable(),
    engineDefaultNofile: NofileLimit,
    /** The nproc every container naming its nofile was given beside it, where the engine needs one (Podman). */
    engineNprocWithNofile: NofileLimit.nullable().optional(),
    /** The two above were remembered from an earlier preflight on the same engine (its id, version, kernel). */
    engineGrantsRemembered: z.boolean(),
    /** The host's conntrack table at the start; null when the engine's host did not let the probe read it. */
    conntrack: z.strictObject({ max: z.number().int(), inUse: z.number().int(), established: z.number().int().optional() }).nullable(),
    /** The host's kernel-wide limits at the start: open files (fs.file-nr's allocated, fs.file-max) and MemAvailable. */
    host: z
      .strictObject({
        files: z.strictObject({ allocated: z.number().int(), max: z.number().int() }).nullable(),
        memoryAvailableKb: z.number().int().nullable(),
        /** The cores the clients shared, and tcp_ehash_entries: what the fill-time estimate rests on. */
        cores: z.number().int().positive().optional(),
        ehashEntries: z.number().int().positive().optional(),
        /** Sizes of the slab objects a connection's kernel memory is made of, from /proc/slabinfo. */
        slabBytes: z.record(z.string(), z.number().int().positive()).optional(),
        /** Whether the kernel took IP_LOCAL_PORT_RANGE when the probe tried it (absent: not tried). */
        ipLocalPortRange: z.boolean().optional(),
        /** The kernel's build (uname -v: "#1 SMP PREEMPT_DYNAMIC Debian 6.1.192-3 ..."). */
        kernelBuild: z.string().optional(),
        /** The host's own ip_local_port_range, where a network helper's sockets take their ports. */
        portRange: z.strictObject({ low: z.number().int(), high: z.number().int() }).optional(),
      })
      .optional(),
    /** The network helper that carried the containers' connections beyond their network (rootless Podman's). */
    networkHelper: Environment.shape.networkHelper,
    /** On a swarm: each node portlab could run on, with its conntrack table at the start (null if unreadable). */
    nodes: z
      .array(
        z.strictObject({
          /** The node's id (absent in results written before portlab recorded it). */
          id: z.string().optional(),
          hostname: z.string(),
          /** manager or worker, and the node's labels: what placement constraints are checked against. */
          role: z.string().optional(),
          labels: z.record(z.string(), z.string()).optional(),
          conntrack: z
            .strictObject({ max: z.number().int(), inUse: z.number().int(), established: z.number().int().optional() })
            .nullable(),
        }),
      )
      .optional(),
    containers: z.record(z.string(), ContainerEnvironment),
  }),
  prediction: z.strictObject({
    /** Before the run: the engine's grants known, the containers not yet. */
    before: Prediction,
    /** With what every probe reported at start: the one the verdict uses. */
    measured: Prediction,
    /** On a swarm: the measured prediction per node, each load with the nodes its placement admits. */
    nodes: z.array(NodeLoad).optional(),
  }),
  clients: z.array(ContainerResult),
  server: ContainerResult,
  total: z.strictObject({
    predicted: Prediction.shape.total,
    observed: z.number().int(),
    /** All clients together judged against the predicted total; absent in results written before it was. */
    allowed: Prediction.shape.total.optional(),
    verdict: ContainerVerdictValue.optional(),
    why: z.string().optional(),
  }),
  verdict: RunVerdict,
  why: z.array(z.string()),
  notes: z.array(z.string()),
  composeFile: z.string(),
});
export type RunResult = z.infer<typeof RunResult>;

/** Results written before the series existed (schema version 1): the same, less `series`. */
const ContainerResultV1 = ContainerResult.omit({ series: true });
export const RunResultV1 = RunResult.extend({
  schemaVersion: z.literal(1),
  run: RunResult.shape.run.omit({ cleanupErrors: true, phasesMs: true }),
  environment: RunResult.shape.environment.omit({ engineGrantsRemembered: true }),
  clients: z.array(ContainerResultV1),
  server: ContainerResultV1,
});

/** Results written before stops were typed (schema version 2): the same shape, each stop one string ("A|none"), read as a set. */
export const RunResultV2 = RunResult.extend({ schemaVersion: z.literal(2) });

/** A result with its series: the current shape, or version 2's. */
export type ResultWithSeries = RunResult | z.infer<typeof RunResultV2>;

/** Any results/*.json that portlab can still read: the current shape, or an older one. */
export const StoredResult = z.discriminatedUnion('schemaVersion', [RunResult, RunResultV2, RunResultV1]);
export type StoredResult = z.infer<typeof StoredResult>;
