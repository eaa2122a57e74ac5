import { PORTLAB_LABEL } from '../compile/compile-compose.ts';
import type { DockerEngine } from './docker-engine.ts';
import { removeAll } from './run-project.ts';

export type CleanupReport = { containers: string[]; networks: string[] };

/** Removes every container and network portlab labelled (all runs, or one run id): leftovers of crashed runs. */
export async function cleanupByLabel(engine: DockerEngine, runId?: string): Promise<CleanupReport> {
  const labels: Record<string, string> = runId ? { [PORTLAB_LABEL.runId]: runId } : { [PORTLAB_LABEL.managed]: 'true' };
  const containers = await engine.listContainers(labels);
  const networks = await engine.listNetworks(labels);
  await removeAll(engine, containers, networks);
  return { containers: containers.map((container) => container.name), networks: networks.map((network) => network.name) };
}
