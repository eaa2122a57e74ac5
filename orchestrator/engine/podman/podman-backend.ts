import { ASSUMED_ENVIRONMENT, type Environment } from '../../predict/environment.ts';
import type { LoadedScenario } from '../../scenario/load-scenario.ts';
import type { ComposeBase } from '../../compile/compose-schema.ts';
import { EngineMismatchError } from '../errors.ts';
import { LocalBackend, type LocalPlan } from '../local/local-backend.ts';
import type { DryRunEnvironment, MeasuredEngine, PreflightNaming } from '../backend.ts';
import type { EngineFacts } from '../engine-facts.ts';
import { rootlessNetworkHelper, socketOwner } from './rootless-helper.ts';

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

  /**
   * How a client names the host: rootless, the run's network gateway is in the user's own namespace, not the host's,
   * so the name Podman writes into every container's /etc/hosts (host.containers.internal: the host's address,
   * reached through the network helper); rootful, the bridge's gateway as on Docker.
   */
  protected override async hostName(): Promise<string> {
    const owner = await socketOwner(this.engine.endpoint.address());
    return owner !== null && owner !== 0 ? 'host.containers.internal' : super.hostName();
  }

  override async dryRunEnvironment(): Promise<DryRunEnvironment> {
    const dry = await super.dryRunEnvironment();
    const networkHelper = await rootlessNetworkHelper(this.engine.endpoint.address());
    return networkHelper ? { ...dry, env: { ...dry.env, networkHelper } } : dry;
  }

  /** The engine as measured, with the rootless network's helper as /proc shows it before the run starts. */
  override async measure(
    image: string,
    wantedNofile: number,
    naming: PreflightNaming,
    onStatus?: (message: string) => void,
  ): Promise<MeasuredEngine<LocalPlan>> {
    const [measured, networkHelper] = await Promise.all([
      super.measure(image, wantedNofile, naming, onStatus),
      rootlessNetworkHelper(this.engine.endpoint.address(), () => this.helperUp(image, naming)),
    ]);
    if (!networkHelper) return measured;
    const withHelper = (facts: EngineFacts): EngineFacts => ({ ...facts, networkHelper });
    const complete = measured.complete.then(withHelper);
    complete.catch(() => undefined);
    return { ...measured, facts: withHelper(measured.facts), complete };
  }

  /**
   * Brings the user's network helper up where none runs, for preflight to read: a probe server on Podman's default
   * network (the user's networks share one helper) until the returned function removes it.
   */
  private async helperUp(image: string, naming: PreflightNaming): Promise<() => Promise<void>> {
    const name = `${naming.prefix}-preflight-helper`;
    const command = ['server', '--ports', '5000', '--backlog', '1', '--processes', '1', '--fd-budget', '16'];
    const id = await this.engine.containers.create(
      { name, image, command, labels: naming.labels, network: 'podman', alias: name },
      naming.signal,
    );
    const remove = () => this.engine.containers.remove(id, name);
    await this.engine.containers.start(id, name, naming.signal).catch(async (error: unknown) => {
      await remove();
      throw error;
    });
    return remove;
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
