export type PortRange = { low: number; high: number };

/** The kernel's text form of net.ipv4.ip_local_port_range: two integers separated by white space. */
export function parsePortRange(text: string): PortRange | undefined {
  const match = /^\s*(\d+)\s+(\d+)\s*$/.exec(text);
  if (!match) return undefined;
  return { low: Number(match[1]), high: Number(match[2]) };
}

export const portCount = (range: PortRange) => range.high - range.low + 1;

export const formatPortRange = (range: PortRange) => `${range.low}-${range.high}`;

/**
 * Why the kernel would refuse this range, or undefined. ipv4_local_port_range() (net/ipv4/sysctl_net_ipv4.c)
 * takes 1 <= low <= high <= 65535; low must also be >= ip_unprivileged_port_start, which Docker sets to 0.
 */
export function portRangeProblem(text: string): string | undefined {
  const range = parsePortRange(text);
  if (!range) return `expected two port numbers such as "1024 65535", found ${JSON.stringify(text)}`;
  if (range.low < 1 || range.low > 65535) return `low (${range.low}) must be from 1 to 65535`;
  if (range.high < 1 || range.high > 65535) return `high (${range.high}) must be from 1 to 65535`;
  if (range.low > range.high) return `low (${range.low}) must be <= high (${range.high})`;
  return undefined;
}
