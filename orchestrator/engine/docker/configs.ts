import { EngineError } from '../errors.ts';
import { debug, labelFilters, removal, type ClientContext, type LabelFilter, type Labelled } from './call.ts';

/**
 * Swarm configs, through a manager: small files (at most 500 kB each) the swarm hands to a service's tasks on
 * whichever node they run. An application's task gets its observer and its read-only files this way.
 */
export class Configs {
  constructor(private readonly context: ClientContext) {}

  async create(name: string, data: Buffer, labels: Record<string, string>): Promise<string> {
    return this.context.call(
      `the creation of config ${name}`,
      async (abortSignal) => {
        const config = await this.context.api.createConfig({ Name: name, Labels: labels, Data: data.toString('base64'), abortSignal });
        debug('created config %s (%s)', name, config.id.slice(0, 12));
        return config.id;
      },
      (error) => {
        throw new EngineError(`creating config ${name}`, { cause: error });
      },
    );
  }

  async remove(id: string, name: string): Promise<void> {
    return removal(this.context, 'config', name, (abortSignal) => this.context.api.getConfig(id).remove({ abortSignal }));
  }

  async list(labels: LabelFilter): Promise<Labelled[]> {
    return this.context.call(
      'a list of configs',
      async (abortSignal) =>
        (await this.context.api.listConfigs({ filters: { label: labelFilters(labels) }, abortSignal })).map((config) => ({
          id: config.ID,
          name: config.Spec?.Name ?? config.ID,
          labels: config.Spec?.Labels ?? {},
        })),
      (error) => {
        throw new EngineError(`listing configs labelled ${labelFilters(labels).join(', ')}`, { cause: error });
      },
    );
  }
}
