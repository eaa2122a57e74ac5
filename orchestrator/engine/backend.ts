import type { CompiledProject } from '../compile/compile-compose.ts';
import type { Environment } from '../predict/environment.ts';
import type { NodeLoad } from '../predict/node-plan.ts';
import type { PlacementNode } from '../predict/placement.ts';
import type { Prediction } from '../predict/prediction-schema.ts';
import type { LoadedScenario } from '../scenario/load-scenario.ts';
import type { Scenario } from '../scenario/scenario-schema.ts';
import type { EngineFacts } from './engine-facts.ts';
import type { RunOptions, RunRecord } from './run-record.ts';

/** A scenario predicted and compiled for one backend: what it deploys, and the compose file saved beside the result. */
export type BackendPlan<Compiled extends CompiledProject = CompiledProject> = LoadedScenario & {
  prediction: Prediction;
  compiled: Compiled;
  image: string;
};

/** A dry run's environment, and whether the host's limits in it were read or assumed (and where, or why not). */
export type DryRunEnvironment = { env: Environment; hostLimits: 'read' | 'assumed'; where: string };

/** What preflight names its containers and labels them with. */
export type PreflightNaming = { prefix: string; labels: Record<string, string>; signal?: AbortSignal };

/** An engine measured for one run, and how to run a plan on it. */
export interface MeasuredEngine<Plan extends BackendPlan> {
  /** What preflight found: grants, and the conntrack tables (the local host's comes in `complete`). */
  readonly facts: EngineFacts;
  /** The grants came from the cache, not from a probe just now. */
  readonly remembered: boolean;
  /** Under which key what runs learn here is kept (fill times, churn speed). */
  readonly calibrationKey: string;
  /** The facts once what is read while the server starts is in: awaited before any client connects. */
  readonly complete: Promise<EngineFacts>;
  /** Forgets the remembered grants (a run found them wrong: the daemon's limits changed). */
  forgetGrants(): Promise<void>;
  /** Deploys the plan and runs it (engine/run-loop.ts). */
  run(plan: Plan, options: RunOptions): Promise<{ record: Omit<RunRecord, 'cleanupErrors'>; removed: Promise<RunRecord> }>;
}

/**
 * Where a scenario runs, chosen once from --engine: the local engine (containers on a bridge) or a swarm (services
 * on an overlay network). The code that runs a scenario or a sweep point asks this interface and never which kind
 * it has.
 */
export interface Backend<Plan extends BackendPlan = BackendPlan> {
  /** Its name in the registry (engine/registry.ts): what `--engine` takes and the result says it ran on. */
  readonly kind: string;
  /** The environment documented defaults give this backend before anything is measured. */
  readonly assumed: Environment;
  /**
   * What a dry run predicts with: the host's limits read where that asks no engine (the local engine on this
   * machine: its /proc), else the documented defaults, and which of the two it is, in words.
   */
  dryRunEnvironment(): Promise<DryRunEnvironment>;
  /** Refuses what this backend cannot run, as bad input, before anything is created. */
  checkRuns(loaded: LoadedScenario): void;
  /** How a dry run's compose file is named after the scenario: `.stack` for a file `docker stack deploy` takes. */
  readonly dryRunSuffix: string;
  /** The prediction per node where a run spreads over nodes (a swarm), with the nodes when they are known. */
  nodeLoads(plan: Pick<BackendPlan, 'scenario' | 'prediction'>, env: Environment, known?: PlacementNode[]): NodeLoad[] | undefined;
  /** The compose project's (or stack's) name for a run. */
  projectName(loaded: LoadedScenario, runId: string): string;
  /** Predicts and compiles for this backend with what is known of the environment. */
  plan(loaded: LoadedScenario, env: Environment, projectName: string, image: string): Promise<Plan>;
  /** The probe image on the engine this backend talks to, built when it lacks it: the local tag. */
  buildProbe(signal: AbortSignal, onStatus: (message: string) => void): Promise<string>;
  /** Refuses, as bad input, a sysctl the file names that a new namespace on this engine's kernel lacks. */
  checkSysctlNames(file: Pick<LoadedScenario, 'text' | 'file'>, image: string, naming: PreflightNaming): Promise<void>;
  /** Finds or pulls every image of the user's own that the scenario runs, before anything of the run exists. */
  ensureApplications(scenario: Scenario, signal: AbortSignal, onStatus: (message: string) => void): Promise<void>;
  /** The probe image as this backend's containers can pull it (a swarm pushes it to a registry when asked). */
  publish(built: string, signal: AbortSignal, onStatus: (message: string) => void): Promise<string>;
  /** Measures the engine for a run that asks for `wantedNofile` at most. */
  measure(image: string, wantedNofile: number, naming: PreflightNaming, onStatus: (message: string) => void): Promise<MeasuredEngine<Plan>>;
}
