import { formatCount } from './count-range.ts';
import { portCount, type PortRange } from '../scenario/port-range.ts';

/**
 * How many usable ports of a range the kernel's port search can leave unused, per source address and destination
 * (docs/model.md, "Odd-sized ranges"). connect() (`__inet_hash_connect`, net/ipv4/inet_hashtables.c) and bind(0)
 * (`inet_csk_find_open_port`, net/ipv4/inet_connection_sock.c) scan `remaining = high - low + 1` rounded down to
 * even, two parity passes from one offset, wrapping by `remaining`. With an odd number of ports N, each call so
 * covers N - 1 of them: every port of the second parity, and the first parity's ports but one end, the low port
 * unless the call's offset is 0, then the high port. With N = 3 the offset is always 0, so the high port is never
 * tried. The kernel warns about it: "ip_local_port_range: prefer different parity for start/end values".
 */
export type ScanLoss = { min: number; max: number; why: string | null };

/**
 * `skipped` are the ports of the range known to be taken before the client starts (bound in the namespace,
 * reserved). A port held at a place not known yet (Docker's DNS listener before it is measured) is counted by the
 * caller; the loss is the same wherever it lies, bar the case where it sits on the end a scan leaves out, which only
 * makes the outcome one better than the interval's low end.
 */
export function scanLoss(range: PortRange, skipped: ReadonlySet<number>): ScanLoss {
  const size = portCount(range);
  if (size % 2 === 0 || size === 1) return { min: 0, max: 0, why: null };
  const { low, high } = range;
  if (size === 3) {
    const lost = skipped.has(high) ? 0 : 1;
    const detail = lost
      ? `port ${high} is never tried: with 3 ports connect() scans 2 from offset 0, so the high port is out of every search for a free port`
      : `port ${high}, never tried with 3 ports, is taken already`;
    return { min: lost, max: lost, why: `- ${lost}: ${detail} (__inet_hash_connect rounds the ports to scan down to even)` };
  }
  if (skipped.has(low) && skipped.has(high)) {
    return {
      min: 0,
      max: 0,
      why: `- 0: an odd range (${formatCount(size)} ports), but both its ends are taken already, and only an end can be out of a scan`,
    };
  }
  return {
    min: 0,
    max: 1,
    why: `- 0 to 1: an odd range (${formatCount(size)} ports): each connect() (or bind(0)) scans ${formatCount(size - 1)} of them (__inet_hash_connect rounds the count down to even) and leaves out one end, port ${low} unless its offset is 0, then port ${high}; when the last free port is that end, the call that needs it fails`,
  };
}
