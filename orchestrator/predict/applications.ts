/** Applications of the user's own: the kernel's limits are predicted as for the probe (docs/model.md, "Your own software"). */

import type { Scenario } from '../scenario/scenario-schema.ts';
import { formatCount, showCount } from './count-range.ts';
import type { Prediction } from './prediction-schema.ts';

/**
 * An application decides for itself what it connects or accepts, and how many descriptors and what backlog it
 * uses: what is predicted of it is the kernel's limits alone (ports per destination, its nofile, the accept queue,
 * conntrack), as ceilings; after the run the verdict names what bound from the kernel's view. Pure.
 */
export function withApplicationNotes(prediction: Prediction, scenario: Scenario): Prediction {
  const server = scenario.server.image;
  const clients = prediction.clients.map((client) => {
    const group = scenario.clients.find((candidate) => candidate.name === client.group);
    if (!group?.image) return client;
    return {
      ...client,
      reasoning: [
        `${client.name} runs ${group.image}: what it connects is its own; the kernel allows it at most ${showCount(client.connections)} (below), which its observer's view of its namespace shows when it binds`,
        ...client.reasoning.filter((line) => !line.startsWith('descriptors:')),
        `its nofile: ${formatCount(client.workers.appliedNofile.soft)} (its own descriptors are read from /proc during the run)`,
      ],
    };
  });
  if (!server) return { ...prediction, clients };
  return {
    ...prediction,
    clients,
    server: {
      ...prediction.server,
      reasoning: [
        `server: ${server} listening on ${scenario.server.ports.join(', ')}, nofile ${formatCount(prediction.server.workers.appliedNofile.soft)}: how many it accepts is its own up to the kernel's limits; its backlog (min(the backlog it asks for, somaxconn) + 1 queued per listening socket) and its descriptors are read from the kernel during the run`,
      ],
    },
  };
}
