/** Applications of the user's own: the kernel's limits are predicted as for the probe (docs/model.md, "Your own software"). */

import type { ApplicationExpect } from '../scenario/field-schemas.ts';
import type { Scenario } from '../scenario/scenario-schema.ts';
import { exactCount, formatCount, showCount } from './count-range.ts';
import type { Expected, Prediction } from './prediction-schema.ts';

/** A scenario's `expect:` of an application container, as the model counts: an exact count or an interval. */
export function expectedOf(expect: ApplicationExpect | undefined): Expected | undefined {
  if (!expect) return undefined;
  const holds =
    typeof expect.holds === 'number' ? exactCount(expect.holds) : { min: expect.holds.atLeast ?? 0, max: expect.holds.atMost ?? null };
  return { holds, ...(expect.bound ? { bound: expect.bound } : {}) };
}

/** What the kernel does once the server holds what the user expects: a line of the server's reasoning. */
const serverConsequences = (expected: Expected | undefined) =>
  expected
    ? `you expect it to hold ${showCount(expected.holds)} at once (expect.holds${expected.bound ? `, bound: ${expected.bound}` : ''}): where it then stops accepting, the kernel completes min(backlog, somaxconn) + 1 more handshakes into each listening socket's accept queue (the backlog read from the socket as it listens) and drops further SYNs, so the probe clients hold that many more and their next connect() times out (ETIMEDOUT); where it accepts and closes what it has no room for, they keep every port their own limits give them`
    : 'no expect: in the scenario for it: what it holds is measured and shown, not judged (add expect: { holds: N } to judge it)';

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
    const expected = expectedOf(group.expect);
    return {
      ...client,
      ...(expected ? { expected } : {}),
      reasoning: [
        `${client.name} runs ${group.image}: what it connects is its own; the kernel allows it at most ${showCount(client.connections)} (below), which its observer's view of its namespace shows when it binds`,
        expected
          ? `you expect it to hold ${showCount(expected.holds)} local ports to the server at once (expect.holds${expected.bound ? `, bound: ${expected.bound}` : ''})`
          : 'no expect: in the scenario for it: what it holds is measured and shown, not judged',
        ...client.reasoning.filter((line) => !line.startsWith('descriptors:')),
        `its nofile: ${formatCount(client.workers.appliedNofile.soft)} (its own descriptors are read from /proc during the run)`,
      ],
    };
  });
  if (!server) return { ...prediction, clients };
  const expected = expectedOf(scenario.server.expect);
  return {
    ...prediction,
    clients,
    server: {
      ...prediction.server,
      ...(expected ? { expected } : {}),
      reasoning: [
        `server: ${server} listening on ${scenario.server.ports.join(', ')}, nofile ${formatCount(prediction.server.workers.appliedNofile.soft)}: how many it accepts is its own up to the kernel's limits; its backlog (min(the backlog it asks for, somaxconn) + 1 queued per listening socket) and its descriptors are read from the kernel during the run`,
        serverConsequences(expected),
      ],
    },
  };
}
