import { describe, expect, it } from 'vitest';
import { headroom } from '../../orchestrator/predict/headroom.ts';
import type { NamespaceLook } from '../../orchestrator/predict/inspection-schema.ts';

/** A namespace as `probe inspect` reads it: a client with 1,000 ports, Docker's DNS listener outside its range. */
const look = (overrides: Partial<NamespaceLook> = {}): NamespaceLook => ({
  portRange: { low: 61000, high: 61999 },
  boundPorts: [36365],
  reservedPorts: '',
  somaxconn: 4096,
  sysctls: { 'net.ipv4.tcp_tw_reuse': '2', 'net.ipv4.tcp_timestamps': '1', 'net.ipv4.tcp_tw_reuse_delay': '1000' },
  destinations: [],
  moreDestinations: 0,
  portsOut: 0,
  listeners: [{ address: '127.0.0.11', port: 36365, backlog: 4096, queue: 0, sockets: 1, states: {} }],
  processes: [{ pid: 1, name: 'api', fds: 40, nofile: 1024 }],
  ...overrides,
});
const HOST = { conntrack: { max: 262144, inUse: 1000 }, files: { allocated: 5000, max: 2_000_000 }, localAddresses: [] };

describe('headroom: how many more connections a running namespace can make, and what stops it first', () => {
  it('ports held in any state count: 600 ESTABLISHED and 300 TIME-WAIT leave 100 of 1,000 to that destination', () => {
    const room = headroom(
      look({
        destinations: [
          { address: '10.0.0.2', port: 5432, states: { ESTABLISHED: 600, 'TIME-WAIT': 300 }, inRange: 900, timeWaitInRange: 300 },
        ],
        portsOut: 900,
      }),
      HOST,
    );
    expect(room.destinations[0]).toMatchObject({ portsUsed: 900, portsFree: 100, left: 100, limit: 'port-range' });
    // Closing first with tw_reuse 2 between containers: the 400 ports the 600 open connections leave, over 60 s.
    expect(room.destinations[0]!.timeWait).toMatchObject({ count: 300, churnPorts: 400, reuseSeconds: 60, runsOutAbovePerSecond: 6 });
  });

  it("the process's free descriptors bind before the ports where they are fewer", () => {
    const room = headroom(
      look({
        destinations: [{ address: '10.0.0.2', port: 80, states: { ESTABLISHED: 10 }, inRange: 10, timeWaitInRange: 0 }],
        portsOut: 10,
        processes: [{ pid: 7, name: 'loadgen', fds: 1000, nofile: 1024 }],
      }),
      HOST,
    );
    expect(room.destinations[0]).toMatchObject({ portsFree: 990, left: 24, limit: 'nofile' });
    expect(room.descriptors).toEqual({ process: 'loadgen', fds: 1000, nofile: 1024, free: 24 });
  });

  it("the host's conntrack binds where it has less room than ports and descriptors; unknown host tables are said", () => {
    const destinations = [{ address: '10.0.0.2', port: 80, states: {}, inRange: 0, timeWaitInRange: 0 }];
    const full = headroom(look({ destinations }), { conntrack: { max: 262144, inUse: 262100 }, files: null, localAddresses: [] });
    expect(full.destinations[0]).toMatchObject({ left: 44, limit: 'conntrack' });
    const unknown = headroom(look({ destinations }), { conntrack: null, files: null, localAddresses: [] });
    expect(unknown.lines).toContain("the host's conntrack and open files were not read (the engine is not on this machine)");
  });

  it('a listening port: queue room is the backlog + 1 less what waits; Docker DNS is told apart', () => {
    const room = headroom(
      look({
        listeners: [
          ...look().listeners,
          { address: '0.0.0.0', port: 80, backlog: 511, queue: 12, sockets: 1, states: { ESTABLISHED: 112 } },
        ],
      }),
      HOST,
    );
    expect(room.listeners.map((listener) => [listener.port, listener.dockerDns, listener.queueRoom, listener.accepted])).toEqual([
      [36365, true, 4097, 0],
      [80, false, 500, 100],
    ]);
  });

  it('bound and reserved ports inside the range are skipped for every destination; tw_reuse 1 shortens the churn wait', () => {
    const room = headroom(
      look({
        boundPorts: [61000],
        reservedPorts: '61001-61009',
        sysctls: { 'net.ipv4.tcp_tw_reuse': '1', 'net.ipv4.tcp_timestamps': '1', 'net.ipv4.tcp_tw_reuse_delay': '1000' },
        destinations: [{ address: '10.0.0.2', port: 80, states: {}, inRange: 0, timeWaitInRange: 0 }],
      }),
      HOST,
    );
    expect(room.destinations[0]).toMatchObject({ portsFree: 990 });
    expect(room.destinations[0]!.timeWait.runsOutAbovePerSecond).toBe(990);
  });
  it('tcp_tw_reuse 2 (the default) reuses to loopback: 127.0.0.1:6379 waits 1 s, a remote destination 60 s, in one namespace', () => {
    const room = headroom(
      look({
        destinations: [
          { address: '127.0.0.1', port: 6379, states: { 'TIME-WAIT': 400 }, inRange: 400, timeWaitInRange: 400 },
          { address: '10.0.0.2', port: 6379, states: { 'TIME-WAIT': 400 }, inRange: 400, timeWaitInRange: 400 },
        ],
        portsOut: 800,
      }),
      HOST,
    );
    const [loopback, remote] = room.destinations;
    expect(loopback!.timeWait).toMatchObject({ churnPorts: 1000, reuseSeconds: 1, runsOutAbovePerSecond: 1000 });
    expect(loopback!.timeWait.reuse).toContain('tcp_tw_reuse 2 to a loopback address (127.0.0.1)');
    expect(remote!.timeWait).toMatchObject({ churnPorts: 1000, reuseSeconds: 60, runsOutAbovePerSecond: 16 });
    expect(remote!.timeWait.reuse).toContain('loopback only, and 10.0.0.2 is not');
    // A reused TIME-WAIT gives its port to the next connect(): the loopback destination has all 1,000, the other 600.
    expect([loopback!.portsFree, remote!.portsFree]).toEqual([1000, 600]);
    // ::1 too; without timestamps a TIME_WAIT is never reused, loopback or not.
    const v6 = { address: '::1', port: 6379, states: {}, inRange: 0, timeWaitInRange: 0 };
    expect(headroom(look({ destinations: [v6] }), HOST).destinations[0]!.timeWait.reuseSeconds).toBe(1);
    const noStamps = look({ destinations: [v6], sysctls: { 'net.ipv4.tcp_tw_reuse': '2', 'net.ipv4.tcp_timestamps': '0' } });
    expect(headroom(noStamps, HOST).destinations[0]!.timeWait.reuseSeconds).toBe(60);
  });

  it('open connections leave the churn fewer ports: a pool holding 20,000 of 28,231 churns out above 137/s, a full one at once', () => {
    const pool = headroom(
      look({
        portRange: { low: 32768, high: 60999 },
        boundPorts: [41235],
        destinations: [{ address: '10.0.0.2', port: 5432, states: { ESTABLISHED: 20000 }, inRange: 20000, timeWaitInRange: 0 }],
        portsOut: 20000,
        processes: [{ pid: 1, name: 'api', fds: 20010, nofile: 1_000_000 }],
      }),
      HOST,
    );
    expect(pool.destinations[0]!.timeWait).toMatchObject({ churnPorts: 8231, runsOutAbovePerSecond: 137 });
    const full = headroom(
      look({ destinations: [{ address: '10.0.0.2', port: 5000, states: { ESTABLISHED: 1000 }, inRange: 1000, timeWaitInRange: 0 }] }),
      HOST,
    );
    expect(full.destinations[0]!.timeWait).toMatchObject({ churnPorts: 0, runsOutAbovePerSecond: 0 });
    expect(full.destinations[0]!.lines.at(-1)).toContain('open connections hold every port of the range');
  });

  it('tcp_max_tw_buckets below the ports a churn cycles through: no TIME_WAIT past it, so the churn never runs out', () => {
    const sysctls = { 'net.ipv4.tcp_tw_reuse': '0', 'net.ipv4.tcp_timestamps': '1', 'net.ipv4.tcp_max_tw_buckets': '500' };
    const destinations = [{ address: '10.0.0.2', port: 80, states: { 'TIME-WAIT': 500 }, inRange: 500, timeWaitInRange: 500 }];
    const room = headroom(look({ sysctls, destinations, portsOut: 500 }), HOST);
    expect(room.destinations[0]!.timeWait.runsOutAbovePerSecond).toBeNull();
    expect(room.destinations[0]!.lines.at(-1)).toContain('never uses the range up');
    // At the range's size or more, the TIME_WAITs can fill it.
    const roomy = headroom(look({ sysctls: { ...sysctls, 'net.ipv4.tcp_max_tw_buckets': '1000' }, destinations }), HOST);
    expect(roomy.destinations[0]!.timeWait.runsOutAbovePerSecond).toBe(16);
  });

  it('a port with two listening sockets (dual stack, SO_REUSEPORT): each holds its own backlog + 1', () => {
    const room = headroom(look({ listeners: [{ address: '0.0.0.0', port: 6379, backlog: 1022, queue: 3, sockets: 2, states: {} }] }), HOST);
    expect(room.listeners[0]).toMatchObject({ sockets: 2, queueRoom: 1021 });
  });

  it('ports held to other destinations are named as possibly taken from this one (bind() before connect())', () => {
    const room = headroom(
      look({
        destinations: [
          { address: '10.0.0.2', port: 80, states: { ESTABLISHED: 300 }, inRange: 300, timeWaitInRange: 0 },
          { address: '10.0.0.3', port: 80, states: { ESTABLISHED: 500 }, inRange: 500, timeWaitInRange: 0 },
        ],
        portsOut: 700,
      }),
      HOST,
    );
    // 700 distinct ports for 800 sockets: 100 ports are shared by both destinations (connect() chose them).
    expect(room.destinations.map((destination) => [destination.portsFree, destination.portsElsewhere])).toEqual([
      [700, 400],
      [500, 200],
    ]);
    expect(room.destinations[0]!.lines.join('\n')).toContain('then 300 ports free');
  });

  it("the host's files: one per connection to another host, two where both ends are on it (loopback, the engine's containers)", () => {
    const host = { conntrack: null, files: { allocated: 999_000, max: 1_000_000 }, localAddresses: ['172.18.0.5'] };
    const destination = (address: string) => ({ address, port: 80, states: {}, inRange: 0, timeWaitInRange: 0 });
    const room = headroom(
      look({
        destinations: [destination('203.0.113.9'), destination('127.0.0.1'), destination('172.18.0.5')],
        processes: [{ pid: 1, name: 'api', fds: 10, nofile: 1_000_000 }],
        portRange: { low: 1024, high: 65535 },
      }),
      host,
    );
    expect(room.destinations.map((entry) => [entry.filesPerConnection, entry.left, entry.limit])).toEqual([
      [1, 1000, 'file-max'],
      [2, 500, 'file-max'],
      [2, 500, 'file-max'],
    ]);
  });

  it("an odd range: the port its search can miss is taken off each destination's free ports", () => {
    const room = headroom(
      look({
        portRange: { low: 61000, high: 61998 },
        destinations: [{ address: '10.0.0.2', port: 80, states: { ESTABLISHED: 10 }, inRange: 10, timeWaitInRange: 0 }],
        portsOut: 10,
        processes: [{ pid: 1, name: 'api', fds: 20, nofile: 65536 }],
      }),
      HOST,
    );
    expect(room.destinations[0]).toMatchObject({ portsFree: 988, left: 988 });
    expect(room.lines[0]).toContain('- 0 to 1: an odd range (999 ports)');
  });
});
