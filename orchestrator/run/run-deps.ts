import type { RegisteredBackend } from '../engine/registry.ts';
import type { AfterRun, RunOwner } from '../engine/run-owner.ts';
import type { FillCalibration } from '../learn/fill-calibration.ts';
import type { ContainerObservation } from '../observe/observation.ts';
import type { RunResult } from '../report/result-schema.ts';
import type { ExpectedProgress } from './run-limits.ts';

/** What a run is given by the command that starts it (or by a sweep, for each point). */
export type RunDeps = {
  /** Where it runs: the local engine or its swarm, chosen once by the command (cli/backends.ts). */
  backend: RegisteredBackend;
  runId: string;
  /** What becomes of the run's containers once it ends (REMOVE_RUN, or KEEP_RUN / a sweep's KEEP_STOPPED for --keep). */
  afterRun: AfterRun;
  signal: AbortSignal;
  now: () => Date;
  onStatus: (message: string) => void;
  /** Live counts, with what each container is predicted to reach and, for a fill, when (for the live line). */
  onProgress: (observations: Record<string, ContainerObservation>, elapsedMs: number, expected?: ExpectedProgress) => void;
  /** Where the result, compose file and report go (default: results/). */
  resultsDir?: string;
  /** The process the run belongs to (default: this one). */
  owner?: RunOwner;
  /** Where earlier fills are remembered (default: the user's cache directory). */
  fillCalibration?: FillCalibration;
  /** The sysctl names were checked against this engine already (a sweep checks its file once, before its first point). */
  sysctlNamesChecked?: boolean;
};

export type ScenarioRun = { result: RunResult; resultFile: string; reportFile: string; composeFile: string };
