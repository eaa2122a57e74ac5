import { describe, expect, it } from 'vitest';
import { headroom } from '../../orchestrator/predict/headroom.ts';
import type { NamespaceLook } from '../../orchestrator/predict/inspection-schema.ts';
import { inspectionMetrics } from '../../orchestrator/report/inspect-metrics.ts';
import { parseServeAddress } from '../../orchestrator/cli/inspect-serve.ts';

/** A client with 1,000 ports and three destinations, one of them nearly full. */
const look: NamespaceLook = {
  portRange: { low: 61000, high: 61999 },
  boundPorts: [],
  reservedPorts: '',
  somaxconn: 4096,
  sysctls: { 'net.ipv4.tcp_tw_reuse': '2', 'net.ipv4.tcp_timestamps': '1' },
  destinations: [
    { address: '10.0.0.2', port: 80, states: { ESTABLISHED: 10 }, inRange: 10, timeWaitInRange: 0 },
    { address: '10.0.0.3', port: 80, states: { ESTABLISHED: 990 }, inRange: 990, timeWaitInRange: 0 },
    { address: '10.0.0.4', port: 80, states: { 'TIME-WAIT': 500 }, inRange: 500, timeWaitInRange: 500 },
  ],
  moreDestinations: 7,
  portsOut: 1000,
  listeners: [{ address: '0.0.0.0', port: 9090, backlog: 1022, queue: 3, sockets: 2, states: {} }],
  processes: [{ pid: 1, name: 'load"gen', fds: 1500, nofile: 65536 }],
};
const room = headroom(look, { conntrack: null, files: null, localAddresses: [] });
const target = { kind: 'container' as const, id: 'abc', name: 'api' };

describe("inspect --serve's exposition", () => {
  it('lists the destinations that run out first, says how many were left out, never a source port', () => {
    const text = inspectionMetrics({ target, look, room, top: 2, lookSeconds: 0.25 });
    const available = text.split('\n').filter((line) => line.startsWith('portlab_destination_ports_available{'));
    expect(available).toEqual([
      'portlab_destination_ports_available{target="api",address="10.0.0.3",port="80"} 10',
      'portlab_destination_ports_available{target="api",address="10.0.0.4",port="80"} 500',
    ]);
    expect(text).toContain('portlab_destinations_unlisted{target="api"} 1\n');
    expect(text).toContain('portlab_unlisted_destination_sockets{target="api"} 7\n');
    expect(text).toContain('portlab_destination_headroom_ratio{target="api",address="10.0.0.3",port="80"} 0.01\n');
    expect(text).toContain('portlab_listener_sockets{target="api",address="0.0.0.0",port="9090"} 2\n');
    expect(text).toContain('portlab_process_open_fds{target="api",pid="1",process="load\\"gen"} 1500\n');
    expect(text).not.toMatch(/sport|source_port|local_port/);
    // Every family has its HELP and TYPE, once.
    const families = [...text.matchAll(/^# TYPE (\S+) gauge$/gm)].map((match) => match[1]);
    expect(new Set(families).size).toBe(families.length);
    expect([...text.matchAll(/^# HELP /gm)]).toHaveLength(families.length);
  });

  it('--serve addresses: host and port, IPv6 in brackets, every address with :PORT; anything else is refused', () => {
    expect(parseServeAddress('127.0.0.1:9798')).toEqual({ host: '127.0.0.1', port: 9798 });
    expect(parseServeAddress('[::1]:9798')).toEqual({ host: '::1', port: 9798 });
    expect(parseServeAddress(':9798')).toEqual({ host: '::', port: 9798 });
    expect(parseServeAddress('9798')).toEqual({ host: '::', port: 9798 });
    for (const bad of ['localhost', '127.0.0.1:0', '127.0.0.1:65536', '::1:80', ''])
      expect(() => parseServeAddress(bad), bad).toThrow(/--serve takes HOST:PORT/);
  });
});
