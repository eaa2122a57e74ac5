import type { Scenario } from '../scenario/scenario-schema.ts';
import { shownPath, type LoadedScenario } from '../scenario/load-scenario.ts';
import { checkSysctlNames } from '../scenario/sysctl-names.ts';
import { ensureApplicationImages } from './application-images.ts';
import type { PreflightNaming } from './backend.ts';
import type { DockerEngine } from './docker/engine.ts';
import { engineSysctls } from './netns-sysctls.ts';
import { ensureProbeImage } from './probe-image.ts';

/**
 * What every backend on a Docker engine does alike before it measures: the probe image built on the engine it talks
 * to, the file's sysctl names checked against that engine's kernel, the user's own images found or pulled there.
 */
export abstract class DockerBackend {
  constructor(protected readonly engine: DockerEngine) {}

  /** The probe image on this engine, built when it lacks it (its tag names its source): the local tag. */
  buildProbe(signal: AbortSignal, onStatus: (message: string) => void): Promise<string> {
    return ensureProbeImage(this.engine, (tag) => onStatus(`building the probe image ${tag}`), signal);
  }

  /**
   * The sysctls a scenario or sweep file names, checked against what a new network namespace on this engine's
   * kernel has (measured once per engine): a misspelt name is bad input before anything runs, not a container runc
   * refuses.
   */
  async checkSysctlNames(file: Pick<LoadedScenario, 'text' | 'file'>, image: string, naming: PreflightNaming): Promise<void> {
    checkSysctlNames(file.text, shownPath(file.file), await engineSysctls(this.engine, image, naming));
  }

  /** Every image of the user's own the scenario runs, on the engine before anything of the run is created. */
  ensureApplications(scenario: Scenario, signal: AbortSignal, onStatus: (message: string) => void): Promise<void> {
    return ensureApplicationImages(this.engine, scenario, signal, onStatus);
  }
}
