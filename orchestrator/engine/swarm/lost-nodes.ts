import { TASK_ENDED_STATES, type SwarmTask } from '../docker/services.ts';
import type { SwarmNode } from '../docker/swarm.ts';
import { nofileRefusal } from '../errors.ts';
import type { ContainerEnd } from '../run-record.ts';

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

/** How a task ended, typed: a task that runc would not start ends with Docker's words for it. */
export function taskEnd(task: SwarmTask): ContainerEnd {
  const why = task.error ?? (task.exitCode !== null ? `task ${task.state}, exit code ${task.exitCode}` : `task ${task.state}`);
  return { kind: task.error && nofileRefusal(task.error) ? 'nofile-refused' : 'exited', why };
}

/** A container whose node the manager lost. */
export const lostNodeEnd = (node: SwarmNode): ContainerEnd => ({
  kind: 'lost-node',
  why: `its node ${node.hostname} (${node.id.slice(0, 12)}) is down: the swarm's manager lost its engine`,
});
