import type { ReadyEvent } from '../orchestrator/observe/probe-events.ts';

/** A probe's ready line as the observe stage parses it: a client with the default range unless told otherwise. */
export function readyEvent(overrides: Partial<ReadyEvent> = {}): ReadyEvent {
  return {
    event: 'ready',
    role: 'client',
    t: 5,
    nofile: { soft: 20000, hard: 20000 },
    fdsOpen: 3,
    portRange: { low: 32768, high: 60999 },
    boundPorts: [],
    reservedPorts: '',
    somaxconn: 4096,
    sysctls: {},
    processes: 1,
    fdBudget: 19997,
    ...overrides,
  };
}
