import type { NamespaceLook } from '../predict/inspection-schema.ts';
import { parseProbeLine, type ProbeEvent } from './probe-events.ts';

/** What `probe inspect` printed, as the headroom model reads it; null when it printed no ready or no inspect line. */
export function parseInspection(output: string): NamespaceLook | null {
  const events = output
    .split('\n')
    .map(parseProbeLine)
    .flatMap((parsed) => (parsed.ok ? [parsed.event] : []));
  const ready = events.find((event): event is Extract<ProbeEvent, { event: 'ready' }> => event.event === 'ready');
  const look = events.find((event): event is Extract<ProbeEvent, { event: 'inspect' }> => event.event === 'inspect');
  if (!ready || !look) return null;
  return {
    portRange: ready.portRange,
    boundPorts: ready.boundPorts,
    reservedPorts: ready.reservedPorts,
    somaxconn: ready.somaxconn,
    sysctls: ready.sysctls,
    destinations: look.destinations,
    moreDestinations: look.moreDestinations,
    portsOut: look.portsOut,
    listeners: look.listeners,
    processes: look.processes,
  };
}
