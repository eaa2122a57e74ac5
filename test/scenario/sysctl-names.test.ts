import { describe, expect, it } from 'vitest';
import { SHIPPED_SYSCTLS } from '../../orchestrator/scenario/shipped-sysctls.ts';
import {
  catalogOf,
  editDistance,
  isKnownSysctl,
  nearestSysctl,
  sysctlsNamed,
  unknownSysctls,
} from '../../orchestrator/scenario/sysctl-names.ts';

const catalog = catalogOf(
  [
    'net.ipv4.tcp_tw_reuse',
    'net.ipv4.tcp_tw_reuse_delay',
    'net.ipv4.tcp_fin_timeout',
    'net.ipv4.conf.default.rp_filter',
    'net.core.somaxconn',
  ],
  'a test list',
);

describe('sysctl names', () => {
  it("knows the names of the list, and an interface's per-interface names from the default entry", () => {
    expect(isKnownSysctl('net.ipv4.tcp_tw_reuse', catalog)).toBe(true);
    expect(isKnownSysctl('net.ipv4.conf.eth0.rp_filter', catalog)).toBe(true);
    expect(isKnownSysctl('net.ipv4.conf.eth0.rp_filtr', catalog)).toBe(false);
    expect(isKnownSysctl('net.ipv4.tcp_tw_reuse_dleay', catalog)).toBe(false);
  });

  it('counts a swap of two neighbours as one edit, and suggests only a near name', () => {
    expect(editDistance('dleay', 'delay')).toBe(1);
    expect(editDistance('kitten', 'sitting')).toBe(3);
    expect(nearestSysctl('net.ipv4.tcp_tw_reuse_dleay', catalog)).toBe('net.ipv4.tcp_tw_reuse_delay');
    expect(nearestSysctl('net.ipv4.tcp_fin_timeot', catalog)).toBe('net.ipv4.tcp_fin_timeout');
    expect(nearestSysctl('net.ipv4.something_else', catalog)).toBeUndefined();
  });

  it('finds every sysctl a document names: server, a group map, named groups, phases and sweep axes', () => {
    const document = {
      server: { sysctls: { 'net.core.somaxconn': 1 } },
      clients: [{ name: 'a', sysctls: { 'net.ipv4.tcp_tw_reuse': '1' }, phases: [{ sysctls: { 'net.ipv4.x': '1' } }] }],
      sweep: { 'clients.a.sysctls.net.ipv4.tcp_fin_timeout': [1], 'clients.count': [1], 'server.sysctls.net.core.somaxconn': [1] },
    };
    expect(sysctlsNamed(document)).toEqual([
      { name: 'net.core.somaxconn', path: ['server', 'sysctls', 'net.core.somaxconn'] },
      { name: 'net.ipv4.tcp_tw_reuse', path: ['clients', 0, 'sysctls', 'net.ipv4.tcp_tw_reuse'] },
      { name: 'net.ipv4.x', path: ['clients', 0, 'phases', 0, 'sysctls', 'net.ipv4.x'] },
      { name: 'net.ipv4.tcp_fin_timeout', path: ['sweep', 'clients.a.sysctls.net.ipv4.tcp_fin_timeout'] },
      { name: 'net.core.somaxconn', path: ['sweep', 'server.sysctls.net.core.somaxconn'] },
    ]);
  });

  it('reports an unknown name at its key, with the list it was checked against and the nearest name', () => {
    const text = 'clients:\n  sysctls:\n    net.ipv4.tcp_tw_reuse: "1"\n    net.ipv4.tcp_tw_reuse_dleay: "2000"\n    fs.file-max: "10"\n';
    expect(unknownSysctls(text, 'x.yml', catalog)).toEqual([
      {
        file: 'x.yml',
        line: 4,
        column: 5,
        path: 'clients.sysctls.net.ipv4.tcp_tw_reuse_dleay',
        message: 'unknown sysctl: net.ipv4.tcp_tw_reuse_dleay is not in a test list; did you mean net.ipv4.tcp_tw_reuse_delay?',
      },
    ]);
  });

  it('ships the list of a real new network namespace, and says a dry run asked no engine', () => {
    expect(SHIPPED_SYSCTLS.names.size).toBeGreaterThan(100);
    expect(SHIPPED_SYSCTLS.names.has('net.ipv4.ip_local_port_range')).toBe(true);
    expect(SHIPPED_SYSCTLS.source).toMatch(
      /^portlab's list of a new network namespace's sysctls \(recorded on Linux .+; a dry run asks no engine\)$/,
    );
  });
});
