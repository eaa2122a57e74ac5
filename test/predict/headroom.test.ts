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
  listeners: [{ address: '127.0.0.11', port: 36365, backlog: 4096, queue: 0, states: {} }],
  processes: [{ pid: 1, name: 'api', fds: 40, nofile: 1024 }],
  ...overrides,
});
const HOST = { conntrack: { max: 262144, inUse: 1000 }, files: { allocated: 5000, max: 2_000_000 } };

describe('headroom: how many more connections a running namespace can make, and what stops it first', () => {
  it('ports held in any state count: 600 ESTABLISHED and 300 TIME-WAIT leave 100 of 1,000 to that destination', () => {
    const room = headroom(
      look({ destinations: [{ address: '10.0.0.2', port: 5432, states: { ESTABLISHED: 600, 'TIME-WAIT': 300 }, inRange: 900 }] }),
      HOST,
    );
    expect(room.destinations[0]).toMatchObject({ portsUsed: 900, portsFree: 100, left: 100, limit: 'port-range' });
    // Closing first with tw_reuse 2 between containers: 1,000 ports over 60 s.
    expect(room.destinations[0]!.timeWait).toMatchObject({ count: 300, runsOutAbovePerSecond: 16 });
  });

  it("the process's free descriptors bind before the ports where they are fewer", () => {
    const room = headroom(
      look({
        destinations: [{ address: '10.0.0.2', port: 80, states: { ESTABLISHED: 10 }, inRange: 10 }],
        processes: [{ pid: 7, name: 'loadgen', fds: 1000, nofile: 1024 }],
      }),
      HOST,
    );
    expect(room.destinations[0]).toMatchObject({ portsFree: 990, left: 24, limit: 'nofile' });
    expect(room.descriptors).toEqual({ process: 'loadgen', fds: 1000, nofile: 1024, free: 24 });
  });

  it("the host's conntrack binds where it has less room than ports and descriptors; unknown host tables are said", () => {
    const destinations = [{ address: '10.0.0.2', port: 80, states: {}, inRange: 0 }];
    const full = headroom(look({ destinations }), { conntrack: { max: 262144, inUse: 262100 }, files: null });
    expect(full.destinations[0]).toMatchObject({ left: 44, limit: 'conntrack' });
    const unknown = headroom(look({ destinations }), { conntrack: null, files: null });
    expect(unknown.lines).toContain("the host's conntrack and open files were not read (the engine is not on this machine)");
  });

  it('a listening port: queue room is the backlog + 1 less what waits; Docker DNS is told apart', () => {
    const room = headroom(
      look({ listeners: [...look().listeners, { address: '0.0.0.0', port: 80, backlog: 511, queue: 12, states: { ESTABLISHED: 112 } }] }),
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
        destinations: [{ address: '10.0.0.2', port: 80, states: {}, inRange: 0 }],
      }),
      HOST,
    );
    expect(room.destinations[0]).toMatchObject({ portsFree: 990 });
    expect(room.destinations[0]!.timeWait.runsOutAbovePerSecond).toBe(990);
  });
});
