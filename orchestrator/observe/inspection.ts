import { z } from 'zod';
import type { NamespaceLook } from '../predict/inspection-schema.ts';
import { parseProbeLine } from './probe-events.ts';

const States = z.record(z.string(), z.number().int());

/** `probe inspect`'s one look (images/probe/inspect.c), after its ready line. */
const InspectEvent = z.object({
  event: z.literal('inspect'),
  destinations: z.array(z.object({ address: z.string(), port: z.number().int(), states: States, inRange: z.number().int() })),
  moreDestinations: z.number().int(),
  listeners: z.array(
    z.object({ address: z.string(), port: z.number().int(), backlog: z.number().int(), queue: z.number().int(), states: States }),
  ),
  processes: z.array(z.object({ pid: z.number().int(), name: z.string(), fds: z.number().int(), nofile: z.number().int() })),
});

/** What `probe inspect` printed, as the headroom model reads it; null when it printed no ready or no inspect line. */
export function parseInspection(output: string): NamespaceLook | null {
  let ready: Extract<ReturnType<typeof parseProbeLine>, { ok: true }>['event'] | undefined;
  let look: z.infer<typeof InspectEvent> | undefined;
  for (const line of output.split('\n')) {
    if (!line.trim()) continue;
    const parsed = parseProbeLine(line);
    if (parsed.ok && parsed.event.event === 'ready') ready = parsed.event;
    else {
      const inspected = InspectEvent.safeParse(safeJson(line));
      if (inspected.success) look = inspected.data;
    }
  }
  if (!ready || ready.event !== 'ready' || !look) return null;
  return {
    portRange: ready.portRange,
    boundPorts: ready.boundPorts,
    reservedPorts: ready.reservedPorts,
    somaxconn: ready.somaxconn,
    sysctls: ready.sysctls,
    destinations: look.destinations,
    moreDestinations: look.moreDestinations,
    listeners: look.listeners,
    processes: look.processes,
  };
}

function safeJson(line: string): unknown {
  try {
    return JSON.parse(line);
  } catch {
    return null;
  }
}
