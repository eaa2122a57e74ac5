import type { NodeLoad } from '../predict/node-plan.ts';
import type { Environment } from '../predict/environment.ts';
import type { ComposeProject } from '../compile/compose-schema.ts';
import type { EngineFacts } from '../engine/engine-facts.ts';
import type { RunRecord } from '../engine/run-record.ts';
import type { EngineKind } from '../engine/registry.ts';
import type { ContainerObservation } from '../observe/observation.ts';
import { formatCount, showCount } from '../predict/count-range.ts';
import { engineNotes } from '../predict/predict.ts';
import { SERVER_NAME } from '../scenario/names.ts';
import { type Scenario } from '../scenario/scenario-schema.ts';
import type { Prediction, WorkerPlan } from '../predict/prediction-schema.ts';
import type { ContainerVerdict, Judgement, RunVerdict } from '../verdict/verdict-schema.ts';
import { RESULT_SCHEMA_VERSION, type RunResult } from './result-schema.ts';

export type ResultInput = {
  scenario: Scenario;
  scenarioFile: string;
  composeFile: string;
  runId: string;
  project: ComposeProject;
  engine: EngineFacts;
  /** The engine's grants came from an earlier run's preflight on the same engine, not measured again. */
  grantsRemembered: boolean;
  before: Prediction;
  measured: Prediction;
  judgement: Judgement;
  record: RunRecord;
  kept: boolean;
  /** When the command began this run (before its preflight). */
  preparedAt: Date;
  /** How the run's containers were joined (the backend's network). */
  network: Environment['network'];
  /** Where it ran (default: the local engine). */
  engineKind?: EngineKind;
  /** Each filling client's expected time to fill its ports, from earlier fills on the engine. */
  fillEstimates?: Record<string, { seconds: number; basis: string }>;
  /** On a swarm: the measured prediction per node. */
  nodePlan?: NodeLoad[];
};

/** The run's timeline as durations of its steps. Pure. */
export function phasesOf(preparedAt: Date, record: RunRecord): RunResult['run']['phasesMs'] {
  const t = record.timeline;
  const between = (from: number | null, to: number | null) => (from === null || to === null ? null : Math.round(to - from));
  const runStart = record.startedAt.getTime();
  return {
    preflight: Math.round(runStart - preparedAt.getTime()),
    serverStart: between(runStart, t.serverStarted),
    serverReady: between(t.serverStarted, t.serverReady),
    clientsStart: between(t.serverReady, t.clientsStarted),
    fill: between(t.clientsStarted, t.clientsDone),
    stop: between(t.clientsDone, t.stopped),
    remove: between(t.stopped ?? t.clientsDone ?? t.clientsStarted ?? t.serverReady ?? t.serverStarted ?? runStart, t.removed),
  };
}

/** What each container asked for and what its probe read back inside it, for the result's environment. */
function containerEnvironments({ record, measured, scenario }: ResultInput): RunResult['environment']['containers'] {
  const plans = new Map<string, { workers: WorkerPlan; sysctls: Record<string, string> }>([
    [SERVER_NAME, { workers: measured.server.workers, sysctls: scenario.server.sysctls }],
    ...measured.clients.map(
      (client) =>
        [
          client.name,
          { workers: client.workers, sysctls: scenario.clients.find((group) => group.name === client.group)?.sysctls ?? {} },
        ] as const,
    ),
  ]);
  return Object.fromEntries(
    [...plans.entries()].map(([name, plan]) => {
      const ready = record.observations[name]?.ready ?? null;
      return [
        name,
        {
          requestedNofile: plan.workers.requestedNofile,
          grantedNofile: ready?.nofile ?? null,
          processes: plan.workers.processes,
          fdBudget: plan.workers.workerBudgets.reduce((sum, budget) => sum + budget, 0),
          fdsOpen: ready?.fdsOpen ?? null,
          sysctlsRequested: plan.sysctls,
          sysctlsApplied: ready
            ? {
                'net.ipv4.ip_local_port_range': `${ready.portRange.low} ${ready.portRange.high}`,
                'net.ipv4.ip_local_reserved_ports': ready.reservedPorts,
                'net.core.somaxconn': String(ready.somaxconn),
                ...ready.sysctls,
              }
            : {},
          boundPorts: ready?.boundPorts ?? [],
          note: plan.workers.note,
          ...(record.nodes[name] ? { node: record.nodes[name].hostname, nodeId: record.nodes[name].id } : {}),
        },
      ];
    }),
  );
}

/** How a run that did not run to its end ended, in words after "when the run". */
const ENDED_HOW: Record<RunRecord['endReason'], string> = {
  'clients-done': '',
  failed: 'failed',
  interrupted: 'was interrupted',
  duration: 'reached its time limit',
  stalled: 'stalled',
};

/** A run that did not run to its end is not judged: what it gets instead, and why. */
const notJudged = (record: RunRecord): { verdict: RunVerdict; why: string } | null =>
  ({
    'clients-done': null,
    failed: { verdict: 'error' as const, why: `the run did not complete: ${record.failure ?? 'it failed'}` },
    interrupted: {
      verdict: 'aborted' as const,
      why: 'the run was interrupted (Ctrl-C) before every client had stopped: what they reached is kept, not judged',
    },
    stalled: {
      verdict: 'incomplete' as const,
      why: "no count moved for the hold's stall limit while clients were still going: how far each got is kept, not judged",
    },
    duration: {
      verdict: 'incomplete' as const,
      why: 'the run reached its time limit while clients were still going: how far each got is kept, not judged',
    },
  })[record.endReason];

/** One container's verdict with what its probe reported; not judged when the run did not run to its end (an error stays). */
function containerResult(record: RunRecord, verdict: ContainerVerdict): RunResult['server'] {
  // The container the run failed on (it exited, its probe failed, its node was lost) is an error, whatever it reached.
  const failedHere = record.endReason === 'failed' && record.failedBecause?.container === verdict.name;
  const judged: ContainerVerdict =
    record.endReason === 'clients-done' || verdict.verdict === 'error'
      ? verdict
      : failedHere
        ? {
            ...verdict,
            verdict: 'error',
            why: `${formatCount(verdict.observed)} when the run failed on it: ${record.failedBecause?.cause ?? 'it failed'}`,
          }
        : {
            ...verdict,
            verdict: 'not judged',
            why: `${formatCount(verdict.observed)} when the run ${ENDED_HOW[record.endReason]}; not judged against the predicted ${showCount(verdict.predicted)}`,
          };
  const observation: ContainerObservation | undefined = record.observations[verdict.name];
  const stops = observation?.workers.map((worker) => worker.stoppedAtMs) ?? [];
  const failures = (observation?.workers ?? [])
    .filter((worker) => worker.errno !== null && worker.stoppedAtMs !== null)
    .sort((a, b) => (a.stoppedAtMs ?? 0) - (b.stoppedAtMs ?? 0));
  const first = failures[0];
  return {
    ...judged,
    firstFailure: first ? { errno: first.errno ?? '', atMs: first.stoppedAtMs ?? 0 } : null,
    timeWait: observation?.timeWait ?? null,
    timeWaitEntered: observation?.timeWaitEntered ?? null,
    paceBehind: observation?.paceBehind ?? null,
    ...(observation?.byFamily
      ? {
          byFamily: observation.byFamily,
          why: `${judged.why}; over IPv4 ${formatCount(observation.byFamily.ipv4)}, over IPv6 ${formatCount(observation.byFamily.ipv6)}`,
        }
      : {}),
    workers: observation?.workers ?? [],
    errors: observation?.errors ?? {},
    stoppedAfterMs: stops.length > 0 && stops.every((ms) => ms !== null) ? Math.max(...(stops as number[])) : null,
    series: record.series[verdict.name] ?? null,
    ...(observation?.kernel ? { kernel: observation.kernel } : {}),
    ...(observation?.applicationEnd ? { applicationEnd: observation.applicationEnd } : {}),
  };
}

/** Each filling client's predicted time to fill its ports beside the time it took. */
function fillTimesOf(input: ResultInput, clients: RunResult['clients']): RunResult['run']['fillTimes'] {
  return Object.fromEntries(
    Object.entries(input.fillEstimates ?? {}).map(([name, estimate]) => {
      const stopped = clients.find((client) => client.name === name)?.stoppedAfterMs ?? null;
      return [
        name,
        {
          predictedSeconds: Math.round(estimate.seconds * 10) / 10,
          basis: estimate.basis,
          observedSeconds: stopped === null ? null : stopped / 1000,
        },
      ];
    }),
  );
}

/** Everything a run produced, in the published shape of results/*.json. Pure. */
export function buildResult(input: ResultInput): RunResult {
  const { record, measured, judgement, scenario } = input;
  const unfinished = notJudged(record);
  const clients = judgement.clients.map((verdict) => containerResult(record, verdict));
  const server = containerResult(record, judgement.server);
  return {
    schemaVersion: RESULT_SCHEMA_VERSION,
    scenario: scenario as unknown as Record<string, unknown>,
    scenarioFile: input.scenarioFile,
    run: {
      id: input.runId,
      project: input.project.name,
      startedAt: record.startedAt.toISOString(),
      endedAt: record.endedAt.toISOString(),
      durationMs: record.endedAt.getTime() - record.startedAt.getTime(),
      endReason: record.endReason,
      failure: record.failure,
      cleanupErrors: record.cleanupErrors,
      phasesMs: phasesOf(input.preparedAt, record),
      kept: input.kept,
      engine: input.engineKind ?? 'local',
      fillTimes: fillTimesOf(input, clients),
    },
    environment: {
      docker: { version: input.engine.version.dockerVersion, apiVersion: input.engine.version.apiVersion },
      kernel: input.engine.version.kernelVersion,
      network: input.network,
      engineNofileCeiling: input.engine.nofileCeiling,
      engineDefaultNofile: input.engine.defaultNofile,
      ...(input.engine.nprocWithNofile ? { engineNprocWithNofile: input.engine.nprocWithNofile } : {}),
      engineGrantsRemembered: input.grantsRemembered,
      conntrack: input.engine.conntrack,
      ...(input.engine.host ? { host: input.engine.host } : {}),
      ...(input.engine.networkHelper ? { networkHelper: input.engine.networkHelper } : {}),
      ...(input.engine.nodes ? { nodes: input.engine.nodes } : {}),
      containers: containerEnvironments(input),
    },
    prediction: { before: input.before, measured, ...(input.nodePlan ? { nodes: input.nodePlan } : {}) },
    clients,
    server,
    total: unfinished
      ? {
          ...judgement.total,
          verdict: 'not judged' as const,
          why: `${formatCount(judgement.total.observed)} when the run ${ENDED_HOW[record.endReason]}; not judged against the predicted total ${showCount(judgement.total.predicted)}`,
        }
      : judgement.total,
    verdict: unfinished ? unfinished.verdict : judgement.verdict,
    why: unfinished
      ? [unfinished.why, ...[...clients, server].map((entry) => `${entry.name}: ${entry.verdict}: ${entry.why}`)]
      : judgement.why,
    notes: engineNotes(measured).map(([name, note]) => `${name}: ${note}`),
    composeFile: input.composeFile,
  };
}
