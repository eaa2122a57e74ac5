import { compileCompose, runProjectName, type CompiledProject } from '../../compile/compile-compose.ts';
import { ASSUMED_ENVIRONMENT, type Environment } from '../../predict/environment.ts';
import { predict } from '../../predict/predict.ts';
import type { LoadedScenario } from '../../scenario/load-scenario.ts';
import type { Backend, BackendPlan, DryRunEnvironment, MeasuredEngine, PreflightNaming } from '../backend.ts';
import { withHostFacts } from '../engine-facts.ts';
import type { ComposeBase } from '../../compile/compose-schema.ts';
import { loadComposeBase } from '../compose-base.ts';
import type { DockerEngine } from '../docker/engine.ts';
import { DockerBackend } from '../docker-backend.ts';
import { GrantCache } from '../grant-cache.ts';
import { readHostProc } from './host-proc.ts';
import { engineGrants, hostTables } from './preflight.ts';
import { runProject } from './run-project.ts';

export type LocalPlan = BackendPlan<CompiledProject>;

/** The local engine: containers on one bridge network of one host, whose conntrack table tracks them. */
export class LocalBackend extends DockerBackend implements Backend<LocalPlan> {
  /** Its own kind, or that of an engine built on it (Podman's, which runs containers as this one does). */
  readonly kind: 'local' | 'podman' = 'local';
  readonly assumed: Environment = ASSUMED_ENVIRONMENT;

  constructor(
    engine: DockerEngine,
    private readonly grantCache = new GrantCache(),
  ) {
    super(engine);
  }

  readonly dryRunSuffix = '';

  async dryRunEnvironment(): Promise<DryRunEnvironment> {
    if (!this.engine.onThisMachine) {
      // Its kernel decides some predictions (a kernel lab's VM is another kernel than this machine's): asked where the
      // engine answers, never needed.
      const kernel = await this.engine.version().then(
        (version) => version.kernelVersion,
        () => undefined,
      );
      return {
        env: kernel ? { ...this.assumed, kernel } : this.assumed,
        hostLimits: 'assumed',
        where: `${this.engine.describe()} is not on this machine${kernel ? ` (Linux ${kernel})` : ''}; its host is read when a run starts`,
      };
    }
    const read = await readHostProc();
    return {
      env: { ...withHostFacts(this.assumed, read.conntrack, read.host), kernel: read.kernel },
      hostLimits: 'read',
      where: "this machine's /proc, where the engine runs",
    };
  }

  checkRuns(_loaded: LoadedScenario): void {}

  /** One host: no per-node view. */
  nodeLoads(): undefined {
    return undefined;
  }

  projectName(loaded: LoadedScenario, runId: string): string {
    return runProjectName(loaded.scenario.name, runId);
  }

  async plan(loaded: LoadedScenario, env: Environment, projectName: string, image: string): Promise<LocalPlan> {
    const prediction = predict(loaded.scenario, env);
    const compiled = compileCompose({
      scenario: loaded.scenario,
      prediction,
      base: await this.composeBase(),
      image,
      projectName,
      nproc: env.engineNprocWithNofile ?? undefined,
      rerunWith: this.engine.endpoint.rerunWith,
      hostName: await this.hostName(),
    });
    return { ...loaded, prediction, compiled, image };
  }

  /** How a client names the engine's host (a server on the host's network): its network's gateway, the host's bridge. */
  protected async hostName(): Promise<string> {
    return '@gateway';
  }

  /** compose.base.yml, as this engine's runs use it. */
  protected composeBase(): Promise<ComposeBase> {
    return loadComposeBase();
  }

  async publish(built: string): Promise<string> {
    return built;
  }

  async measure(
    image: string,
    wantedNofile: number,
    naming: PreflightNaming,
    onStatus: (message: string) => void = () => {},
  ): Promise<MeasuredEngine<LocalPlan>> {
    // The host's conntrack table is read while the rest is prepared and the server comes up, before any client connects.
    const tables = hostTables(this.engine, image, naming);
    tables.catch(() => undefined);
    const { remembered, identity, ...grants } = await engineGrants(this.engine, image, wantedNofile, naming, this.grantCache);
    // A slow engine (a VM under QEMU's TCG) is waited for in proportion, and said once, before anything of the run starts.
    const slow = this.engine.slowness();
    if (slow)
      onStatus(
        `the engine answers slowly (${slow.what} took ${slow.seconds.toFixed(1)} s): portlab waits up to ${slow.deadlineSeconds} s for each of its answers`,
      );
    const facts = { ...grants, conntrack: null };
    const complete = tables.then((read) => ({ ...facts, ...read }));
    // Awaited before the clients start; a run that fails before then must not leave it rejected and unheard.
    complete.catch(() => undefined);
    const { engine, grantCache } = this;
    return {
      facts,
      remembered,
      calibrationKey: identity,
      complete,
      forgetGrants: () => grantCache.forget(),
      run: (plan, options) => runProject(engine, plan.compiled.project, options),
    };
  }
}
