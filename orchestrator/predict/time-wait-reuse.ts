/** What frees a TIME_WAIT's port before its 60 s: tcp_tw_reuse's age rule, and RSTs that kill it (docs/model.md, "TIME_WAIT"). */
import type { Environment } from './environment.ts';
import { kernelBefore, KERNEL_FEATURES, TIME_WAIT_SECONDS } from './kernel-facts.ts';
import { formatCount } from './count-range.ts';

/** 127.0.0.0/8 and ::1 (a v4-mapped address is written as IPv4 by the probe). */
export const isLoopbackAddress = (address: string): boolean => /^127\./.test(address) || address === '::1';

/**
 * Whether connect() may take a TIME_WAIT's port to a destination again once it is old enough (tcp_twsk_unique):
 * tcp_tw_reuse 1, or 2 (the default) where the TIME_WAIT's destination or source address is loopback, and timestamps
 * on (a TIME_WAIT without a timestamp is never reused). A scenario's server is another container: never loopback.
 */
export const twReuseApplies = (twReuse: string | undefined, timestamps: string | undefined, toLoopback: boolean): boolean =>
  (twReuse === '1' || ((twReuse ?? '2') === '2' && toLoopback)) && timestamps !== '0';

/**
 * How old a TIME_WAIT must be before tcp_twsk_unique lets connect() take its port: `net.ipv4.tcp_tw_reuse_delay`
 * (Linux 6.14+), or, on a kernel without it, anywhere in (0, 1] s: the next whole second after the connection's last
 * timestamp (`time_after32(ktime_get_seconds(), tw_ts_recent_stamp)`). min is exclusive when it is 0.
 */
export type ReuseAge = { min: number; max: number; text: string; wholeSecond: boolean };

/**
 * A TIME_WAIT socket that receives an RST is killed at once (tcp_timewait_state_process; RFC 1337 calls it TIME_WAIT
 * assassination), unless net.ipv4.tcp_rfc1337=1: its port is free again, for one more connection. Measured here,
 * churning through 1,000 ports at full speed: 0 to 43 of the client's TIME_WAITs were killed by RSTs from the server
 * per run, exactly the count past 1,000; with tcp_rfc1337=1 the RSTs still came and the count was 1,000 every time.
 * The probe reports how many sockets entered TIME_WAIT (TcpExt TW) and how many are left when it stops: within 60 s
 * none can have expired, so the difference is the number killed. A kill after the failure (RSTs keep coming) freed a
 * port no connect() used, so the count lies between the usable ports and that many more (exact when none were killed).
 */
export function killedTimeWaits(env: Environment, key: string, seconds: number, rfc1337: string): { killed: number | null; why: string } {
  if (rfc1337 === '1')
    return {
      killed: 0,
      why: `+ 0 (net.ipv4.tcp_rfc1337=1: a TIME_WAIT ignores RSTs, so every port stays taken for its ${TIME_WAIT_SECONDS} s)`,
    };
  const counts = env.timeWaits?.[key];
  if (counts && seconds < TIME_WAIT_SECONDS) {
    const killed = Math.max(0, counts.entered - counts.atEnd);
    return {
      killed,
      why:
        killed === 0
          ? `+ 0 (the namespace entered TIME_WAIT ${formatCount(counts.entered)} times and all ${formatCount(counts.atEnd)} were left at the end: no RST killed one)`
          : `+ 0 to ${formatCount(killed)} (the namespace entered TIME_WAIT ${formatCount(counts.entered)} times and ${formatCount(counts.atEnd)} were left when the probe looked; in ${seconds} s none can have expired, so ${formatCount(killed)} were killed by RSTs, each freeing its port for one more connection if it came before the failure: RFC 1337, net.ipv4.tcp_rfc1337=0)`,
    };
  }
  return {
    killed: null,
    why: '+ one for each TIME_WAIT an RST kills before it expires (RFC 1337 assassination, net.ipv4.tcp_rfc1337=0; the probe counts them)',
  };
}

/**
 * The reuse age: the delay the namespace has; on a kernel whose probe read no tcp_tw_reuse_delay (before Linux 6.14),
 * the (0, 1] s of the whole-second check; before the probes report, the engine's kernel release says which (unknown:
 * a kernel with the sysctl, as this machine's).
 */
export function reuseAgeOf(measured: Record<string, string> | undefined, delayMs: string, kernel: string | undefined): ReuseAge {
  const lacksDelay = measured
    ? measured['net.ipv4.tcp_tw_reuse_delay'] === undefined
    : kernelBefore(kernel, KERNEL_FEATURES.twReuseDelay.since);
  if (lacksDelay)
    return {
      min: 0,
      max: 1,
      text: 'a moment to 1 s (the next whole second after its last timestamp: this kernel has no net.ipv4.tcp_tw_reuse_delay, before Linux 6.14)',
      wholeSecond: true,
    };
  const seconds = Number(delayMs) / 1000;
  return { min: seconds, max: seconds, text: `${seconds} s (net.ipv4.tcp_tw_reuse_delay)`, wholeSecond: false };
}
