import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { ASSUMED_ENVIRONMENT } from '../../orchestrator/predict/environment.ts';
import { headroom } from '../../orchestrator/predict/headroom.ts';
import type { NamespaceLook } from '../../orchestrator/predict/inspection-schema.ts';
import { liftScenario, liftsFor } from '../../orchestrator/predict/lifts.ts';
import { predict } from '../../orchestrator/predict/predict.ts';
import { parseScenario } from '../../orchestrator/scenario/load-scenario.ts';

/** A client that used all 1,000 ports of its range to one server port (Docker's DNS listener outside the range). */
const filled: NamespaceLook = {
  portRange: { low: 61000, high: 61999 },
  boundPorts: [36365],
  reservedPorts: '',
  somaxconn: 4096,
  sysctls: { 'net.ipv4.tcp_tw_reuse': '2', 'net.ipv4.tcp_timestamps': '1' },
  destinations: [{ address: '172.18.0.2', port: 5000, states: { ESTABLISHED: 1000 }, inRange: 1000, timeWaitInRange: 0 }],
  moreDestinations: 0,
  portsOut: 1000,
  listeners: [],
  processes: [{ pid: 1, name: 'loadgen', fds: 1003, nofile: 20000 }],
};
const HOST = { conntrack: { max: 262144, inUse: 0 }, files: null, localAddresses: [] };

describe('what would lift the limit that binds a running destination, as a scenario to try', () => {
  const room = headroom(filled, HOST);
  const [destination] = room.destinations;
  const lifts = liftsFor(destination!, filled, room.descriptors);

  it('the port range: the widest range, a second server port, a second source address, each with its count', () => {
    expect(lifts.map((lift) => [lift.name, lift.connections])).toEqual([
      ['widest-range', 64511],
      ['two-server-ports', 2000],
      ['two-source-addresses', 2000],
    ]);
  });

  it("the scenario file: the client as it is and each change, and portlab's own prediction of it says the same counts", () => {
    const { text } = liftScenario('my api/1', destination!, filled, room.descriptors, lifts);
    const scenario = parseScenario(text, 'inspect.yml', 'inspect');
    expect(scenario.name).toBe('inspect-my-api-1');
    expect(scenario.server.ports).toEqual([5000, 5001]);
    const predicted = predict(scenario, ASSUMED_ENVIRONMENT).clients.map((client) => [client.group, client.connections.max, client.limit]);
    expect(predicted).toEqual([
      ['as-is', 1000, 'port-range'],
      ['widest-range', 64511, 'port-range'],
      ['two-server-ports', 2000, 'port-range'],
      ['two-source-addresses', 2000, 'port-range'],
    ]);
    expect(parse(text).clients[0].ulimits).toEqual({ nofile: 20000 });
  });

  it('descriptors: a nofile that covers every free port', () => {
    const tight = {
      ...filled,
      destinations: [{ ...filled.destinations[0]!, states: { ESTABLISHED: 10 }, inRange: 10 }],
      processes: [{ pid: 1, name: 'loadgen', fds: 100, nofile: 128 }],
    };
    const tightRoom = headroom(tight, HOST);
    expect(tightRoom.destinations[0]).toMatchObject({ limit: 'nofile', left: 28 });
    expect(liftsFor(tightRoom.destinations[0]!, tight, tightRoom.descriptors)).toEqual([
      expect.objectContaining({ name: 'more-descriptors', connections: 1000, group: { ulimits: { nofile: 1090 } } }),
    ]);
  });

  it('TIME-WAITs holding the range: tcp_tw_reuse 1, tried churning beside the container churning as it is', () => {
    const closing: NamespaceLook = {
      ...filled,
      sysctls: { 'net.ipv4.tcp_tw_reuse': '0', 'net.ipv4.tcp_timestamps': '1', 'net.ipv4.tcp_tw_reuse_delay': '1000' },
      destinations: [{ ...filled.destinations[0]!, states: { 'TIME-WAIT': 1000 }, timeWaitInRange: 1000 }],
    };
    const closingRoom = headroom(closing, HOST);
    const churned = liftsFor(closingRoom.destinations[0]!, closing, closingRoom.descriptors);
    const reuse = churned.find((lift) => lift.name === 'tw-reuse');
    expect(reuse).toMatchObject({ connections: 1000, group: { mode: 'churn', rate: 67, sysctls: { 'net.ipv4.tcp_tw_reuse': '1' } } });
    expect(reuse?.change).toContain('runs out above 1,000/s instead of 16/s');
    const { text } = liftScenario('churner', closingRoom.destinations[0]!, closing, closingRoom.descriptors, churned);
    const predicted = predict(parseScenario(text, 'inspect.yml', 'inspect'), ASSUMED_ENVIRONMENT).clients;
    const byGroup = Object.fromEntries(predicted.map((client) => [client.group, client]));
    // As it is, 67/s for 30 s puts its 1,000 ports in TIME_WAIT before any is 60 s old; with reuse, none runs out.
    expect(byGroup['as-is-churning']).toMatchObject({
      limit: 'time-wait',
      connections: { min: 1000 },
      error: { errnos: ['EADDRNOTAVAIL'] },
    });
    expect(byGroup['tw-reuse']).toMatchObject({ limit: 'none', error: { errnos: [], orNone: true } });
    // Already reusing (or no TIME-WAIT): no such lift.
    const reusing = { ...closing, sysctls: { ...closing.sysctls, 'net.ipv4.tcp_tw_reuse': '1' } };
    expect(liftsFor(headroom(reusing, HOST).destinations[0]!, reusing, closingRoom.descriptors).map((lift) => lift.name)).not.toContain(
      'tw-reuse',
    );
    expect(lifts.map((lift) => lift.name)).not.toContain('tw-reuse');
  });
  it('tcp_tw_reuse 2 to a loopback destination reuses already: no tcp_tw_reuse lift for 127.0.0.1:6379', () => {
    const loopback: NamespaceLook = {
      ...filled,
      destinations: [{ address: '127.0.0.1', port: 6379, states: { 'TIME-WAIT': 1000 }, inRange: 1000, timeWaitInRange: 1000 }],
    };
    const room = headroom(loopback, HOST);
    expect(room.destinations[0]!.timeWait.reuseSeconds).toBe(1);
    expect(liftsFor(room.destinations[0]!, loopback, room.descriptors).map((lift) => lift.name)).not.toContain('tw-reuse');
  });

  it('the widest range skips every port the namespace listens on or reserves in 1024-65535, not only Docker DNS', () => {
    const listening: NamespaceLook = { ...filled, boundPorts: [36365, 8080, 80], reservedPorts: '40000-40009,70' };
    const room = headroom(listening, HOST);
    const widest = liftsFor(room.destinations[0]!, listening, room.descriptors).find((lift) => lift.name === 'widest-range');
    // 64,512 ports less 36365, 8080 and ten reserved (80 and 70 lie below the range).
    expect(widest?.connections).toBe(64500);
  });
});
