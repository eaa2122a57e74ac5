import { EngineError } from '../errors.ts';
import { labelFilters, removal, type ClientContext, type LabelFilter, type Labelled } from './call.ts';

/** Networks on one engine: a bridge, or an attachable overlay across a swarm. */
export class Networks {
  constructor(private readonly context: ClientContext) {}

  /** `ipv6Subnet`: a dual-stack network, IPv6 from that subnet beside the engine's own IPv4 pool. */
  async create(
    name: string,
    labels: Record<string, string>,
    driver: 'bridge' | 'overlay' = 'bridge',
    internal = false,
    ipv6Subnet?: string,
  ): Promise<string> {
    return this.context.call(
      `the creation of network ${name}`,
      async (abortSignal) =>
        (
          await this.context.api.createNetwork({
            Name: name,
            Driver: driver,
            Internal: internal,
            Attachable: driver === 'overlay',
            Labels: labels,
            CheckDuplicate: true,
            ...(ipv6Subnet ? { EnableIPv6: true, IPAM: { Driver: 'default', Config: [{ Subnet: ipv6Subnet }] } } : {}),
            abortSignal,
          })
        ).id,
      (error) => {
        throw new EngineError(`creating network ${name}`, { cause: error });
      },
    );
  }

  async remove(id: string, name: string): Promise<void> {
    return removal(this.context, 'network', name, (abortSignal) => this.context.api.getNetwork(id).remove({ abortSignal }));
  }

  async list(labels: LabelFilter): Promise<Labelled[]> {
    return this.context.call(
      'a list of networks',
      async (abortSignal) => {
        const found = await this.context.api.listNetworks({ filters: { label: labelFilters(labels) }, abortSignal });
        return found.map((entry) => ({ id: entry.Id, name: entry.Name, labels: entry.Labels ?? {} }));
      },
      (error) => {
        throw new EngineError(`listing networks labelled ${labelFilters(labels).join(', ')}`, { cause: error });
      },
    );
  }
}
