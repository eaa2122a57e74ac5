/**
 * Where a swarm may place a service, from its placement constraints and the nodes preflight found: the nodes each
 * constraint admits (Docker's `node.id`, `node.hostname`, `node.role`, `node.labels.*`, with == or !=). Pure.
 */

/** What a constraint can be checked against: a node as the swarm lists it. */
export type PlacementNode = { id: string; hostname: string; role: string; labels: Record<string, string> };

const CONSTRAINT = /^(node\.(id|hostname|role|labels\.([A-Za-z0-9._-]+)))\s*(==|!=)\s*([A-Za-z0-9._-]+)$/;

/** Whether a node satisfies one constraint; null when portlab cannot tell (node.platform.*, engine.labels.*). */
export function satisfies(constraint: string, node: PlacementNode): boolean | null {
  const match = CONSTRAINT.exec(constraint.trim());
  if (!match) return null;
  const [, , field, label, operator, wanted] = match;
  const actual = label !== undefined ? node.labels[label] : field === 'id' ? node.id : field === 'hostname' ? node.hostname : node.role;
  const equal = actual === wanted;
  return operator === '==' ? equal : !equal;
}

/** The hostnames of the nodes every constraint admits, in the nodes' order; null when one cannot be checked. */
export function placedOn(constraints: string[], nodes: PlacementNode[]): string[] | null {
  const admitted: string[] = [];
  for (const node of nodes) {
    const checks = constraints.map((constraint) => satisfies(constraint, node));
    if (checks.includes(null)) return null;
    if (checks.every(Boolean)) admitted.push(node.hostname);
  }
  return admitted;
}
