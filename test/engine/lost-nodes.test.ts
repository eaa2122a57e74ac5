import { describe, expect, it } from 'vitest';
import type { SwarmTask } from '../../orchestrator/engine/docker/services.ts';
import type { SwarmNode } from '../../orchestrator/engine/docker/swarm.ts';
import { tasksOnDownNodes } from '../../orchestrator/engine/swarm/lost-nodes.ts';

const node = (id: string, ready: boolean): SwarmNode => ({ id, hostname: `lab-${id}`, role: 'worker', ready, active: true, labels: {} });
const task = (id: string, nodeId: string, state: string): SwarmTask => ({
  id,
  serviceId: 's',
  slot: 1,
  nodeId,
  state,
  desiredState: 'running',
  error: null,
  containerId: null,
  exitCode: null,
});

describe('tasks on a node the manager lost', () => {
  it('are the ones it still thinks run there; an ended task or a ready node is not lost', () => {
    const nodes = [node('1', true), node('3', false)];
    const tasks = [task('a', '1', 'running'), task('b', '3', 'running'), task('c', '3', 'complete'), task('d', '3', 'starting')];
    expect(tasksOnDownNodes(nodes, tasks).map(({ task: lost, node: where }) => [lost.id, where.hostname])).toEqual([
      ['b', 'lab-3'],
      ['d', 'lab-3'],
    ]);
  });
});
