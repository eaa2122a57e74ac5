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

/** The kernel releases where a feature the model uses arrived (docs/kernels.md: what portlab measured on each). */
export const KERNEL_FEATURES = {
  /**
   * IP_LOCAL_PORT_RANGE, a socket's own port range (commit 91d0b78c5177, 6.3; backported to 6.1.32 and later 6.1
   * kernels, 6728486447ee): a release number cannot say whether a kernel has it, so a run tries it (the limits
   * probe's setsockopt) and only a refusal (ENOPROTOOPT) refuses the scenario.
   */
  socketPortRange: { since: [6, 3], what: 'IP_LOCAL_PORT_RANGE' },
  /**
   * connect() scans a socket's own range whole, one port after another (207184853dbd, "tcp: Fix port scanning for
   * local_port_range", with 41db7626b732 making inet_sk_get_local_port_range() say whether the socket's own range
   * is in force; both 6.8). Before it, a socket's range is scanned as the namespace's is: the count rounded down to
   * even, two parity passes, so an odd range of N ports gives N - 1 or N.
   */
  socketRangeWholeScan: { since: [6, 8], what: "connect()'s whole scan of a socket's own port range" },
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
