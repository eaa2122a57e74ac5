import type { ClientGroup } from './scenario-schema.ts';

/* The names portlab gives what a scenario describes: the server, each client container, each phase. */

/** The server's service and container name in every compiled project, result and report. */
export const SERVER_NAME = 'server';

/** Where a container's phase is observed, predicted and judged: client-1/phase-2 (the container itself: client-1). */
export const phaseKey = (container: string, phase: number | null) => (phase === null ? container : `${container}/phase-${phase}`);

/** Whether a key names one phase of a container rather than the container. */
export const isPhaseKey = (key: string) => /\/phase-\d+$/.test(key);

/** A client group's containers: <group>-1, <group>-2, ... */
export const containerNames = (group: ClientGroup) => Array.from({ length: group.count }, (_, index) => `${group.name}-${index + 1}`);

/**
 * An application of the user's own runs as `<container>-app`, in the network and PID namespaces of `<container>`,
 * which is portlab's probe observing it.
 */
export const applicationOf = (container: string) => `${container}-app`;
