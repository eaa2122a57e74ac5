import { BOUNDS } from './bounds.ts';
import { portRangeProblem } from './port-range.ts';

/**
 * Sysctls a container may set: those the kernel keeps per network namespace. Docker only accepts net.* for a
 * container with its own network namespace, and a few net.* knobs stay global even so.
 */
const NAMESPACED_PREFIXES = ['net.ipv4.', 'net.ipv6.', 'net.unix.'];
const NAMESPACED_NET_CORE = [
  'net.core.somaxconn',
  'net.core.xfrm_acq_expires',
  'net.core.xfrm_aevent_etime',
  'net.core.xfrm_aevent_rseqth',
  'net.core.xfrm_larval_drop',
];
/** Global although they sit under net.ipv4 (tcp_mem/udp_mem are machine-wide memory pressure settings). */
const GLOBAL_UNDER_IPV4 = ['net.ipv4.tcp_mem', 'net.ipv4.udp_mem'];

/** Integer sysctls whose kernel bounds are worth checking before a container fails to start. */
const INTEGER_BOUNDS: Record<string, { min: number; max: number }> = {
  'net.ipv4.tcp_tw_reuse': { min: 0, max: 2 },
  'net.ipv4.tcp_timestamps': { min: 0, max: 2 },
  'net.ipv4.tcp_syncookies': { min: 0, max: 2 },
  'net.ipv4.tcp_fin_timeout': { min: 1, max: 2_147_483 },
  'net.core.somaxconn': { min: 0, max: 2_147_483_647 },
  'net.ipv4.tcp_max_syn_backlog': { min: 0, max: 2_147_483_647 },
  'net.ipv4.tcp_max_tw_buckets': { min: 0, max: 2_147_483_647 },
  /** Linux 6.14+ (commit ca6a6f93867a): how old (ms) a TIME_WAIT must be before tcp_tw_reuse may take its port; the kernel takes 1-60000. */
  'net.ipv4.tcp_tw_reuse_delay': { min: 1, max: 60_000 },
};

/** Why this sysctl cannot be set in a container, or undefined when it can. */
export function sysctlProblem(key: string, value: string): string | undefined {
  if (key === 'net.netfilter.nf_conntrack_max') {
    return 'not namespaced: the conntrack table size is global; Docker cannot set it per container (set it on the host)';
  }
  const namespaced =
    (NAMESPACED_PREFIXES.some((prefix) => key.startsWith(prefix)) && !GLOBAL_UNDER_IPV4.includes(key)) || NAMESPACED_NET_CORE.includes(key);
  if (!namespaced) {
    return `not namespaced: Docker cannot set it per container (only per-network-namespace net.* sysctls, such as net.ipv4.ip_local_port_range; set ${key} on the host)`;
  }
  // runc writes the value into /proc/sys as it is: one line of text, nothing the kernel would read as more. The
  // control characters are what this looks for.
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(value)) return `expected one line of text, found ${JSON.stringify(value)}`;
  if (value.length > BOUNDS.sysctlValueLength) return `expected at most ${BOUNDS.sysctlValueLength} characters, found ${value.length}`;
  if (key === 'net.ipv4.ip_local_port_range') return portRangeProblem(value);
  const bounds = INTEGER_BOUNDS[key];
  if (bounds) {
    const n = Number(value);
    if (!/^-?\d+$/.test(value.trim()) || n < bounds.min || n > bounds.max) {
      return `expected a whole number from ${bounds.min} to ${bounds.max}, found ${JSON.stringify(value)}`;
    }
  }
  return undefined;
}
