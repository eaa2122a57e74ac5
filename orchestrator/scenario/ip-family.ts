import { z } from 'zod';

/**
 * Which of the server's addresses a client group connects to: its IPv4 address (the default), its IPv6 address, or
 * both (`dual`: every target port twice, once per family). IPv6 needs the scenario's `ipv6: true` (a dual-stack
 * network with a ULA /64, the server listening on both families).
 */
export const ipFamily = z.enum(['ipv4', 'ipv6', 'dual'], { error: 'expected "ipv4", "ipv6" or "dual"' }).default('ipv4');
export type IpFamily = z.infer<typeof ipFamily>;

/** The address families a group connects over, each a destination of its own for every target port. */
export const FAMILIES: Record<IpFamily, Array<'ipv4' | 'ipv6'>> = { ipv4: ['ipv4'], ipv6: ['ipv6'], dual: ['ipv4', 'ipv6'] };

/** What of a group an IPv6 family rules out, and why: the field to point at, or null when the group is fine. */
export function familyIssue(
  group: { family: IpFamily; sourceAddresses: number; bind: unknown; socketPortRange?: string | undefined },
  ipv6: boolean,
): { key: string; message: string } | null {
  if (group.family === 'ipv4') return null;
  if (!ipv6) return { key: 'family', message: `family ${group.family} needs ipv6: true on the scenario (a dual-stack network)` };
  if (group.family === 'dual' && group.sourceAddresses !== 1)
    return { key: 'sourceAddresses', message: 'several source addresses take one family (ipv4 or ipv6), not dual' };
  if (group.bind !== 'none') return { key: 'bind', message: 'bind before connect is IPv4 only for now: use family: ipv4' };
  if (group.socketPortRange !== undefined)
    return { key: 'socketPortRange', message: 'socketPortRange is IPv4 only for now: use family: ipv4' };
  return null;
}
