/** A server on the host's network reached through a network helper (rootless Podman's slirp4netns): docs/model.md, "A server on the host". */

import type { HELPER_LIMITS } from '../scenario/field-schemas.ts';
import type { Scenario } from '../scenario/scenario-schema.ts';
import { formatPortRange, portCount } from '../scenario/port-range.ts';
import { formatCount } from './count-range.ts';
import type { Environment } from './environment.ts';
import { KERNEL_DEFAULT_PORT_RANGE } from './kernel-facts.ts';
import { targetsOf } from './ports.ts';

export type HelperRoom = {
  /** Connections the helper can carry at once to the server's ports, all clients together. */
  room: number;
  /** What runs out first: the helper's descriptors, or the host's port range (per destination). */
  limit: (typeof HELPER_LIMITS)[number];
  lines: string[];
};

/**
 * How many connections a rootless network's clients can make to a server on the host's network. Its clients'
 * packets leave their namespace through a tap device read by one user process, the helper (slirp4netns, one per
 * user for the networks Podman makes): for each connection it opens a socket of its own in the host's namespace and
 * connects it to the server (libslirp's tcp_fconnect). So every connection costs the helper a descriptor, against
 * the nofile it inherited from Podman, less those it holds already; and its connect() picks a local port from the
 * host's ip_local_port_range, not the client's (one per destination: __inet_hash_connect). When its connect fails
 * (EMFILE, EADDRNOTAVAIL) libslirp answers the client's SYN with ICMP net unreachable (tcp_input), which the client's
 * connect() reports as ENETUNREACH. null where no helper stands between (the clients' own sockets reach the host).
 */
export function helperRoom(scenario: Scenario, env: Environment): HelperRoom | null {
  const helper = env.networkHelper;
  if (scenario.server.network !== 'host' || !helper) return null;
  const descriptors = Math.max(0, helper.nofile - helper.descriptorsHeld);
  const hostRange = env.hostPortRange ?? KERNEL_DEFAULT_PORT_RANGE;
  const destinations = new Set(scenario.clients.flatMap((group) => targetsOf(scenario, group))).size;
  const hostPorts = portCount(hostRange) * destinations;
  const limit = hostPorts < descriptors ? 'host-port-range' : 'network-helper';
  const held = {
    running: `${formatCount(helper.descriptorsHeld)} it holds now`,
    new: `${formatCount(helper.descriptorsHeld)} a new one holds (read from one brought up for the purpose)`,
    'not read': 'descriptors it holds of its own (not read in a dry run: a few)',
  }[helper.held];
  return {
    room: Math.min(descriptors, hostPorts),
    limit,
    lines: [
      `the server is on the host's network and the clients on a rootless network: every connection leaves through ${helper.program}, which opens a socket of its own on the host for it: its nofile ${formatCount(helper.nofile)} less the ${held} leaves room for ${formatCount(descriptors)}, and its sockets take their local ports from the host's range ${formatPortRange(hostRange)}${env.hostPortRange ? '' : ' (assumed: not read)'}, ${formatCount(portCount(hostRange))} per destination, ${formatCount(hostPorts)} for ${destinations} server port${destinations > 1 ? 's' : ''}`,
    ],
  };
}

/** The words for a helper limit that binds. */
export function helperBindsLine(room: HelperRoom): string {
  return room.limit === 'network-helper'
    ? `the network helper's descriptors bind at ${formatCount(room.room)} connections, all clients together, whatever their own port ranges: its next connect() fails with EMFILE and it answers the client's SYN with ICMP net unreachable (connect() fails with ENETUNREACH); to lift it, raise the hard nofile of the engine's service that starts the helper (it inherits it)`
    : `the host's port range binds at ${formatCount(room.room)} connections, all clients together, whatever their own port ranges: the helper's connect() finds no free port (EADDRNOTAVAIL) and it answers the client's SYN with ICMP net unreachable (connect() fails with ENETUNREACH); to lift it, widen the host's net.ipv4.ip_local_port_range (portlab does not change host settings) or listen on more ports`;
}
