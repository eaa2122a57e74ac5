import { z } from 'zod';

/**
 * Where the server listens: on the run's own network beside its clients (`run`, the default), or in the host's
 * network namespace (`host`), reached from the clients' network at the host's address, as a service outside their
 * network is. Through Docker's or rootful Podman's bridge a client's own sockets reach it; rootless Podman's
 * clients reach it through the network helper (slirp4netns), each connection a socket of that helper on the host.
 */
export const serverNetwork = z.enum(['run', 'host'], { error: 'expected "run" (the run\'s own network) or "host"' }).default('run');

type ServerOnNetwork = {
  network: 'run' | 'host';
  sysctls: Record<string, unknown>;
  image?: string;
  placement: { constraints: string[] };
};
type Issue = { code: 'custom'; message: string; path: PropertyKey[] };

/** What a server in the host's network namespace cannot have: what it would set or change there is the host's. */
export function serverNetworkIssues(server: ServerOnNetwork, ipv6: boolean): Issue[] {
  if (server.network !== 'host') return [];
  const issue = (path: PropertyKey[], message: string): Issue => ({ code: 'custom', message, path });
  return [
    ...(Object.keys(server.sysctls).length > 0
      ? [
          issue(
            ['server', 'sysctls'],
            "a server on the host's network has the host's sysctls, which portlab never changes: remove server.sysctls",
          ),
        ]
      : []),
    ...(server.image !== undefined
      ? [issue(['server', 'network'], "network: host is for portlab's probe server; an image of your own listens on the run's network")]
      : []),
    ...(ipv6 ? [issue(['ipv6'], "a server on the host's network is reached over IPv4: remove ipv6: true")] : []),
    ...(server.placement.constraints.length > 0
      ? [issue(['server', 'placement'], "a server on the host's network runs on the engine's host: remove server.placement")]
      : []),
  ];
}
