import { describe, expect, it } from 'vitest';
import { placedOn, satisfies, type PlacementNode } from '../../orchestrator/predict/placement.ts';

const nodes: PlacementNode[] = [1, 2, 3].map((index) => ({
  id: `id${index}`,
  hostname: `lab-${index}`,
  role: index === 1 ? 'manager' : 'worker',
  labels: { 'portlab.lab-node': String(index) },
}));

describe('where a swarm may place a service: the nodes its constraints admit', () => {
  it('checks labels, hostnames, ids and roles with == and !=', () => {
    expect(placedOn(['node.labels.portlab.lab-node == 2'], nodes)).toEqual(['lab-2']);
    expect(placedOn(['node.labels.portlab.lab-node != 1'], nodes)).toEqual(['lab-2', 'lab-3']);
    expect(placedOn(['node.role == worker', 'node.hostname != lab-3'], nodes)).toEqual(['lab-2']);
    expect(placedOn(['node.id==id3'], nodes)).toEqual(['lab-3']);
    expect(placedOn([], nodes)).toEqual(['lab-1', 'lab-2', 'lab-3']);
    expect(placedOn(['node.labels.missing == x'], nodes)).toEqual([]);
  });

  it('cannot tell for what the swarm knows and portlab does not read (platform, engine labels)', () => {
    expect(satisfies('node.platform.os == linux', nodes[0]!)).toBeNull();
    expect(placedOn(['engine.labels.zone == a'], nodes)).toBeNull();
  });
});
