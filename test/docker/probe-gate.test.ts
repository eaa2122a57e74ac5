import { afterAll, describe, expect, it } from 'vitest';
import { DockerEngine } from '../../orchestrator/engine/docker/engine.ts';
import { ensureProbeImage } from '../../orchestrator/engine/probe-image.ts';
import { parseProbeLine, type ProbeEvent } from '../../orchestrator/observe/probe-events.ts';
import { docker, eventually, sleep } from './docker-helpers.ts';

const LABELS = { 'io.portlab.managed': 'true', 'io.portlab.test': 'probe-gate' };

/** Every probe event a container printed so far. */
async function eventsOf(id: string): Promise<ProbeEvent[]> {
  const output = Buffer.from(await docker.getContainer(id).logs({ stdout: true, stderr: false, follow: false }));
  // Without a TTY the engine frames what it sends: 1 byte stream, 3 zero bytes, 4 bytes length, then the payload.
  let text = '';
  for (let at = 0; at + 8 <= output.length; at += 8 + output.readUInt32BE(at + 4)) {
    text += output.subarray(at + 8, at + 8 + output.readUInt32BE(at + 4)).toString('utf8');
  }
  return text.split('\n').flatMap((line) => {
    const parsed = parseProbeLine(line);
    return parsed.ok ? [parsed.event] : [];
  });
}

/**
 * portlab starts client containers while the server's starts, with PORTLAB_WAIT_FOR_GO set: each probe says it is
 * waiting and does nothing until SIGUSR2, and its clock starts then, so a client's times are its own work only.
 */
describe('a client probe that waits for its go', () => {
  const created: string[] = [];
  let network: string | undefined;
  afterAll(async () => {
    await Promise.all(
      created.map((id) =>
        docker
          .getContainer(id)
          .remove({ force: true })
          .catch(() => undefined),
      ),
    );
    if (network)
      await docker
        .getNetwork(network)
        .remove()
        .catch(() => undefined);
  });

  it('prints only "waiting" until SIGUSR2, then resolves, connects and counts from its go', async () => {
    const image = await ensureProbeImage(new DockerEngine());
    network = (await docker.createNetwork({ Name: `portlab-test-gate-${process.pid}`, Internal: true, Labels: LABELS })).id;
    const start = async (name: string, command: string[], env: string[] = []) => {
      const container = await docker.createContainer({
        name: `portlab-test-gate-${process.pid}-${name}`,
        Image: image,
        Cmd: command,
        Env: env,
        Labels: LABELS,
        HostConfig: { NetworkMode: network, Sysctls: { 'net.ipv4.ip_local_port_range': '61000 61099' } },
        NetworkingConfig: { EndpointsConfig: { [network!]: { Aliases: [name] } } },
      });
      created.push(container.id);
      await container.start();
      return container.id;
    };
    // The client first, the server not even created: nothing to resolve or connect to yet.
    const client = await start('client', ['client', '--server', 'server', '--ports', '5000', '--mode', 'hold'], ['PORTLAB_WAIT_FOR_GO=1']);
    await eventually(async () => ((await eventsOf(client)).length > 0 ? true : undefined), 10_000, 'the waiting line');
    const server = await start('server', ['server', '--ports', '5000']);
    await eventually(
      async () => ((await eventsOf(server)).some((event) => event.event === 'ready') ? true : undefined),
      10_000,
      'the server to listen',
    );
    await sleep(1_500);
    expect((await eventsOf(client)).map((event) => event.event)).toEqual(['waiting']);

    const goAt = Date.now();
    await docker.getContainer(client).kill({ signal: 'SIGUSR2' });
    const events = await eventually(
      async () => {
        const all = await eventsOf(client);
        return all.some((event) => event.event === 'done') ? all : undefined;
      },
      20_000,
      'the client to fill its 100 ports',
    );
    const ready = events.find((event) => event.event === 'ready');
    const done = events.filter((event) => event.event === 'done');
    // Counted from the go: the probe's clock (whose wall time its ready line carries) started once SIGUSR2 was sent,
    // not when the container started 1.5 s and more before. Both read the host's clock in whole ms.
    expect(ready?.event === 'ready' ? ready.epochMs : undefined).toBeGreaterThanOrEqual(goAt);
    // 61000-61099 is 100 ports, an even count, all reachable (docs/model.md, "Odd-sized ranges"), less any bound in
    // the namespace inside it (Docker's DNS listener binds in 32768-60999: never, here).
    const bound = ready?.event === 'ready' ? ready.boundPorts.filter((port) => port >= 61000 && port <= 61099).length : NaN;
    expect(done.reduce((sum, event) => sum + (event.event === 'done' ? event.count : 0), 0)).toBe(100 - bound);
    expect(done.at(-1)).toMatchObject({ errno: 'EADDRNOTAVAIL' });
  });
});
