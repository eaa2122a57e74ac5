import { TASK_ENDED_STATES, type SwarmTask } from '../docker/services.ts';
import type { SwarmNode } from '../docker/swarm.ts';

/** How often the nodes' states are read while a run goes on: a node the manager lost takes its containers with it. */
export const NODE_POLL_MS = 2_000;

/**
 * The tasks still running, as far as the manager last heard, on nodes it now marks down (their engine stopped
 * answering its heartbeats): they will never say they ended. Pure.
 */
export function tasksOnDownNodes(nodes: SwarmNode[], tasks: SwarmTask[]): Array<{ task: SwarmTask; node: SwarmNode }> {
  const down = new Map(nodes.filter((node) => !node.ready).map((node) => [node.id, node]));
  return tasks.flatMap((task) => {
    const node = down.get(task.nodeId);
    return node && !TASK_ENDED_STATES.has(task.state) ? [{ task, node }] : [];
  });
}
