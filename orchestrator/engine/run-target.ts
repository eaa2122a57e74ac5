import type { DockerEngine } from './docker/engine.ts';
import type { ownerState } from './run-owner.ts';

type Thing = { id: string; name: string };
type Container = Thing & { state: string; created: number };

/** One run as the engine holds it: its containers and networks, and whether the process that made it is alive. */
export type RunOnEngine = {
  runId: string;
  owner: ReturnType<typeof ownerState>;
  /** Left in place on purpose (--keep). */
  kept: boolean;
  /** Started without a portlab process (no owner label): a saved compose file run by hand. */
  byHand: boolean;
  /** The scenario it runs (its label), when its things carry one. */
  scenario: string | null;
  containers: Container[];
  networks: Thing[];
  /** A swarm run's services (empty on the local engine). */
  services: Thing[];
  /** A swarm run's configs: the observer and read-only files of its applications (empty on the local engine). */
  configs: Thing[];
};

/** A thing of a run as the engine lists it, with the labels that say whose it is. */
export type LabelledThing = Thing & { labels: Record<string, string>; state?: string; created?: number };

/** What one kind of engine holds of portlab's runs, by the kind of thing. */
export type RunThings = Partial<Record<'containers' | 'networks' | 'services' | 'configs', LabelledThing[]>>;

/** How one kind of engine's runs are found on an engine and removed (registered in engine/registry.ts). */
export interface RunTarget {
  /** The things carrying these labels that this kind of run is made of. */
  list(engine: DockerEngine, labels: Record<string, string>): Promise<RunThings>;
  /** Removes these runs' things of this kind; tries everything and throws one EngineError naming what it left. */
  remove(engine: DockerEngine, runs: RunOnEngine[]): Promise<void>;
}
