import type { RunOptions } from '../run-record.ts';

/** The label `docker stack ps|services|rm <namespace>` finds a stack's services, networks and containers by. */
export const STACK_NAMESPACE_LABEL = 'com.docker.stack.namespace';

/** How a stack runs: a run's options, and where on the swarm. */
export type StackRunOptions = RunOptions & {
  /** The stack's namespace: services are `<namespace>_<service>`. */
  namespace: string;
  /** The swarm node id of the engine portlab talks to: its tasks' containers can be signalled directly. */
  localNodeId: string;
  /** Node id -> hostname, for the result. */
  hostnames: Map<string, string>;
};
