import { EngineError, EngineUnavailableError } from '../errors.ts';
import type { ClientContext } from './call.ts';

export type SwarmNode = { id: string; hostname: string; role: string; ready: boolean; active: boolean; labels: Record<string, string> };

/** Whether this engine is in a swarm, and can manage it. */
export type SwarmState = { active: boolean; manager: boolean; nodeId: string; clusterId: string | null };

/** The swarm this engine is part of, if any: its state and its nodes. */
export class Swarm {
  constructor(
    private readonly context: ClientContext,
    private readonly describe: () => string,
  ) {}

  /** Whether this engine is a swarm node, and a manager (services are created through managers only). */
  async state(): Promise<SwarmState> {
    return this.context.call(
      'an info request',
      async (abortSignal) => {
        const swarm = (await this.context.api.info({ abortSignal })).Swarm ?? {};
        return {
          active: swarm.LocalNodeState === 'active',
          manager: swarm.ControlAvailable === true,
          nodeId: swarm.NodeID ?? '',
          clusterId: swarm.Cluster?.ID ?? null,
        };
      },
      (error) => {
        throw new EngineUnavailableError(`cannot reach ${this.describe()} (is dockerd running?)`, { cause: error });
      },
    );
  }

  async nodes(): Promise<SwarmNode[]> {
    return this.context.call(
      'a list of swarm nodes',
      async (abortSignal) =>
        (await this.context.api.listNodes({ abortSignal })).map((node) => ({
          id: node.ID,
          hostname: node.Description?.Hostname ?? node.ID,
          role: node.Spec?.Role ?? 'worker',
          ready: node.Status?.State === 'ready',
          active: (node.Spec?.Availability ?? 'active') === 'active',
          labels: node.Spec?.Labels ?? {},
        })),
      (error) => {
        throw new EngineError("listing the swarm's nodes", { cause: error });
      },
    );
  }
}
