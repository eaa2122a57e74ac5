import { compileStack, stackNamespace, type CompiledStack } from '../../compile/compile-stack.ts';
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

export type SwarmPlan = BackendPlan<CompiledStack>;

/** A scenario that cannot run where it was asked to (exit 2: the input, not the engine). */
export class EngineMismatchError extends Error {
  override name = 'EngineMismatchError';
}

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
    const app = loaded.scenario.server.image ? 'the server' : loaded.scenario.clients.find((candidate) => candidate.image)?.name;
    if (app) {
      throw new EngineMismatchError(
        `${loaded.scenario.name}: ${app} runs an image of your own, whose observer shares its network and PID namespaces (network_mode and pid service:), which swarm services cannot; run it on the local engine`,
      );
    }
    if (loaded.scenario.ipv6) {
      throw new EngineMismatchError(
        `${loaded.scenario.name}: ipv6 needs a dual-stack network, which portlab makes on the local engine only (a swarm's overlay would need the daemons' IPv6 settings); run it on the local engine`,
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

  async plan(loaded: LoadedScenario, env: Environment, projectName: string, image: string): Promise<SwarmPlan> {
    const prediction = predict(loaded.scenario, env);
    const compiled = compileStack({ scenario: loaded.scenario, prediction, base: await loadComposeBase(), image, projectName });
    return { ...loaded, prediction, compiled, image };
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
