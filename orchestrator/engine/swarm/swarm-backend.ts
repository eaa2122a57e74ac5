import { compileStack, stackNamespace, type CompiledStack, type StackApplications } from '../../compile/compile-stack.ts';
import { applicationImages, ensureApplicationImages } from '../application-images.ts';
import { ensureObserverBinary, observerBinaryPath } from '../probe-image.ts';
import type { Scenario } from '../../scenario/scenario-schema.ts';
import { ASSUMED_SWARM_ENVIRONMENT, type Environment } from '../../predict/environment.ts';
import { predict } from '../../predict/predict.ts';
import type { LoadedScenario } from '../../scenario/load-scenario.ts';
import { SERVER_NAME } from '../../scenario/names.ts';
import type { Backend, BackendPlan, DryRunEnvironment, MeasuredEngine, PreflightNaming } from '../backend.ts';
import { loadComposeBase } from '../compose-base.ts';
import type { DockerEngine } from '../docker/engine.ts';
import { DockerBackend } from '../docker-backend.ts';
import { GrantCache } from '../grant-cache.ts';
import { runStack } from './run-stack.ts';
import { managesSwarm, swarmFacts } from './swarm-preflight.ts';
import { runProjectName } from '../../compile/compile-compose.ts';
import { nodePlan, type NodeLoad } from '../../predict/node-plan.ts';
import type { PlacementNode } from '../../predict/placement.ts';
import { EngineMismatchError } from '../errors.ts';

export type SwarmPlan = BackendPlan<CompiledStack>;

/** The swarm the engine manages: each client group a service, the server a service, one overlay network. */
export class SwarmBackend extends DockerBackend implements Backend<SwarmPlan> {
  readonly kind = 'swarm';
  readonly assumed = ASSUMED_SWARM_ENVIRONMENT;

  constructor(
    engine: DockerEngine,
    private readonly options: { pushTo?: string; grantCache?: GrantCache } = {},
  ) {
    super(engine);
  }

  /** A swarm's nodes are other machines, each with its own table and limits: read on every node when a run starts. */
  async dryRunEnvironment(): Promise<DryRunEnvironment> {
    return { env: this.assumed, hostLimits: 'assumed', where: "a swarm's nodes are read on each node when a run starts" };
  }

  /**
   * On a swarm's overlay network a container's extra source addresses get no answer: the overlay resolves and
   * forwards only each task's own address (measured: every connection from the second address timed out).
   */
  checkRuns(loaded: LoadedScenario): void {
    if (loaded.scenario.ipv6) {
      throw new EngineMismatchError(
        `${loaded.scenario.name}: ipv6 needs a dual-stack network, which portlab makes on the local engine only (a swarm's overlay would need the daemons' IPv6 settings); run it on the local engine`,
      );
    }
    if (loaded.scenario.server.network === 'host') {
      throw new EngineMismatchError(
        `${loaded.scenario.name}: server.network: host puts the server on one engine's host, which a swarm's services do not choose; run it on the local engine`,
      );
    }
    const group = loaded.scenario.clients.find((candidate) => candidate.sourceAddresses > 1);
    if (group) {
      throw new EngineMismatchError(
        `${loaded.scenario.name}: client group ${group.name} connects from ${group.sourceAddresses} source addresses, which a swarm's overlay network does not route (it answers only each task's own address); run it on the local engine`,
      );
    }
  }

  readonly dryRunSuffix = '.stack';

  nodeLoads(plan: Pick<SwarmPlan, 'scenario' | 'prediction'>, env: Environment, known?: PlacementNode[]): NodeLoad[] {
    return nodePlan(plan.scenario, plan.prediction, env, known);
  }

  /** A stack's services are named <namespace>_<service>, at most 63 characters. */
  projectName(loaded: LoadedScenario, runId: string): string {
    const project = runProjectName(loaded.scenario.name, runId);
    return stackNamespace(project, runId, [SERVER_NAME, ...loaded.scenario.clients.map((group) => group.name)]);
  }

  /** The user's images as the nodes pull them and what each starts, once ensureApplications has read them. */
  private readonly applicationImages: StackApplications['images'] = {};

  async plan(loaded: LoadedScenario, env: Environment, projectName: string, image: string): Promise<SwarmPlan> {
    const prediction = predict(loaded.scenario, env);
    const applications =
      applicationImages(loaded.scenario).size > 0
        ? { images: this.applicationImages, observerFile: await observerBinaryPath() }
        : undefined;
    const compiled = compileStack({
      scenario: loaded.scenario,
      prediction,
      base: await loadComposeBase(),
      image,
      projectName,
      applications,
    });
    return { ...loaded, prediction, compiled, image };
  }

  /**
   * The user's images, on the manager's engine (found or pulled) and, with a registry to push to, pushed there for
   * every node; what each starts (its entrypoint and command) read from it; and the observer their tasks start under,
   * built once for these sources.
   */
  override async ensureApplications(scenario: Scenario, signal: AbortSignal, onStatus: (message: string) => void): Promise<void> {
    const images = applicationImages(scenario);
    if (images.size === 0) return;
    await ensureApplicationImages(this.engine, scenario, signal, onStatus);
    for (const image of images.keys()) {
      const starts = await this.engine.images.startsWith(image, signal);
      if (!starts) throw new EngineMismatchError(`image ${image} is not on ${this.engine.describe()}`);
      if (this.options.pushTo) onStatus(`pushing ${image} to ${this.options.pushTo}`);
      const reference = this.options.pushTo ? await this.engine.images.push(image, this.options.pushTo, signal) : image;
      this.applicationImages[image] = { reference, ...starts };
    }
    await ensureObserverBinary(() => onStatus('building the observer for your images (scripts/build-probe.sh --musl, once)'));
  }

  async publish(built: string, signal: AbortSignal, onStatus: (message: string) => void): Promise<string> {
    // Nothing is pushed to serve an engine that manages no swarm.
    await managesSwarm(this.engine);
    if (!this.options.pushTo) return built;
    onStatus(`pushing ${built} to ${this.options.pushTo}`);
    return this.engine.images.push(built, this.options.pushTo, signal);
  }

  /** Every node is measured (and checked for the probe image) by one global job before anything is deployed. */
  async measure(
    image: string,
    wantedNofile: number,
    naming: PreflightNaming,
    onStatus: (message: string) => void,
  ): Promise<MeasuredEngine<SwarmPlan>> {
    const [{ remembered, localNodeId, hostnames, ...facts }, identity] = await Promise.all([
      swarmFacts(this.engine, image, wantedNofile, naming, this.options.grantCache ?? new GrantCache()),
      this.engine.identity(),
    ]);
    const engine = this.engine;
    const grantCache = this.options.grantCache ?? new GrantCache();
    return {
      facts,
      remembered,
      forgetGrants: () => grantCache.forget(),
      // What runs learn through this manager's swarm (an overlay between nodes) is its own, apart from the local engine's.
      calibrationKey: `swarm ${identity}`,
      complete: Promise.resolve(facts),
      run: (plan, options) => {
        const namespace = plan.compiled.project.name;
        onStatus(`deploying stack ${namespace} (docker stack ps ${namespace})`);
        return runStack(engine, plan.compiled, { ...options, namespace, localNodeId, hostnames });
      },
    };
  }
}
