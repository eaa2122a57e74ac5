import { ASSUMED_ENVIRONMENT, type Environment } from '../../predict/environment.ts';
import type { LoadedScenario } from '../../scenario/load-scenario.ts';
import type { ComposeBase } from '../../compile/compose-schema.ts';
import { EngineMismatchError } from '../errors.ts';
import { LocalBackend } from '../local/local-backend.ts';

/**
 * Podman's defaults where they differ from Docker's. Its DNS server for a network (aardvark-dns, with netavark)
 * listens on the network's gateway in the host's namespace, not in each container's: no port of a container's range
 * is held before its probe starts (Docker's embedded DNS holds one), so a client filling the kernel's default range
 * makes 28,232 connections where Docker's makes 28,231.
 */
export const PODMAN_ASSUMED: Environment = { ...ASSUMED_ENVIRONMENT, dnsListenerPortRange: null };

/**
 * Podman through its Docker-compatible service: the local backend's containers on one bridge network of one host
 * (netavark's bridge with NAT, tracked in the host's conntrack table as Docker's is), with Podman's facts. What the
 * engine grants (nofile, and the nproc Podman needs named beside it) preflight measures as it does for Docker.
 */
export class PodmanBackend extends LocalBackend {
  override readonly kind = 'podman';
  override readonly assumed = PODMAN_ASSUMED;

  /**
   * The run's network is not internal on Podman: netavark gives an internal network no forwarding rule, so where the
   * host's FORWARD policy drops (Docker's, installed beside it, sets DROP, and br_netfilter passes bridged packets
   * through it) its containers cannot reach each other (their connect() times out). A network that is not internal
   * gets netavark's ACCEPT for its subnet; the run's containers still talk only to each other.
   */
  protected override async composeBase(): Promise<ComposeBase> {
    const base = await super.composeBase();
    const { portlab } = base.networks;
    return portlab ? { ...base, networks: { ...base.networks, portlab: { ...portlab, internal: false } } } : base;
  }

  override checkRuns(loaded: LoadedScenario): void {
    const { server, clients } = loaded.scenario;
    const placed = [
      { field: 'server.placement', placement: server.placement },
      ...clients.map((group) => ({ field: `client group ${group.name}'s placement`, placement: group.placement })),
    ].find(({ placement }) => placement.constraints.length > 0 || ('perNode' in placement && placement.perNode !== undefined));
    if (placed) {
      throw new EngineMismatchError(
        `${loaded.scenario.name}: ${placed.field} places containers on a swarm's nodes, and Podman has no swarm: run it with --engine swarm (Docker's)`,
      );
    }
  }
}
