import { EngineError } from '../errors.ts';
import { labelFilters, removal, type ClientContext, type LabelFilter, type Labelled } from './call.ts';

/** Networks on one engine: a bridge, or an attachable overlay across a swarm. */
export class Networks {
  constructor(private readonly context: ClientContext) {}

  async create(name: string, labels: Record<string, string>, driver: 'bridge' | 'overlay' = 'bridge', internal = false): Promise<string> {
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
