/**
 * The kernel's facts the model rests on, each once, with where it comes from (docs/model.md has the measurements).
 * Everything in predict/ and report/ that needs one imports it from here.
 */

/** A new network namespace's ip_local_port_range: it does not inherit the host's (inet_init_net). */
export const KERNEL_DEFAULT_PORT_RANGE = { low: 32768, high: 60999 } as const;

/** net.core.somaxconn of a new namespace: SOMAXCONN, 4096 since Linux 5.4 (commit 19f92a030ca6). */
export const DEFAULT_SOMAXCONN = 4096;

/** The side that closes first keeps the 4-tuple in TIME_WAIT this long: TCP_TIMEWAIT_LEN (include/net/tcp.h), not tunable. */
export const TIME_WAIT_SECONDS = 60;

/**
 * Sysctls of a new namespace the churn model reads, as /proc/sys gives them: tcp_tw_reuse 2 (loopback only),
 * timestamps on, RFC 1337 off (an RST kills a TIME_WAIT), and tcp_tw_reuse_delay 1000 ms (Linux 6.14+, commit
 * ca6a6f93867a; before it a TIME_WAIT is reusable at the next whole second after its last timestamp, within (0, 1] s,
 * of which the model takes the longest).
 */
export const NAMESPACE_SYSCTL_DEFAULTS = {
  'net.ipv4.tcp_tw_reuse': '2',
  'net.ipv4.tcp_timestamps': '1',
  'net.ipv4.tcp_rfc1337': '0',
  'net.ipv4.tcp_tw_reuse_delay': '1000',
} as const;

/** The kernel releases where a feature the model uses arrived. */
export const KERNEL_FEATURES = {
  /** IP_LOCAL_PORT_RANGE, a socket's own port range (commit 91d0b78c5177). */
  socketPortRange: { since: [6, 3], what: 'IP_LOCAL_PORT_RANGE' },
  /** net.ipv4.tcp_tw_reuse_delay (commit ca6a6f93867a); before it the whole-second check. */
  twReuseDelay: { since: [6, 14], what: 'net.ipv4.tcp_tw_reuse_delay' },
} as const;

/**
 * Whether a kernel release ("6.1.0-28-amd64", "6.18.0") is older than major.minor; false when it is not known or
 * does not read as a Linux release.
 */
export function kernelBefore(release: string | undefined, [major, minor]: readonly [number, number]): boolean {
  const match = /^(\d+)\.(\d+)/.exec(release ?? '');
  if (!match) return false;
  const [have, haveMinor] = [Number(match[1]), Number(match[2])];
  return have < major || (have === major && haveMinor < minor);
}

/** A scenario asks for what the engine's kernel lacks: refused as bad input, in one line, before anything runs. */
export class KernelTooOldError extends Error {
  override name = 'KernelTooOldError';
}
