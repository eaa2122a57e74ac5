import { type EngineFacts, withHostFacts } from '../engine/engine-facts.ts';
import type { ContainerObservation } from '../observe/observation.ts';
import { ASSUMED_ENVIRONMENT, type Environment } from '../predict/environment.ts';
import { isPhaseKey } from '../scenario/names.ts';

/** The environment the predictor sees: the engine's measured facts over its backend's documented defaults. */
export function environmentOf(engine: EngineFacts, assumed: Environment = ASSUMED_ENVIRONMENT): Environment {
  const granted = {
    ...assumed,
    engineNofileCeiling: engine.nofileCeiling,
    engineDefaultNofile: engine.defaultNofile,
    ...(engine.nprocWithNofile ? { engineNprocWithNofile: engine.nprocWithNofile } : {}),
    ...(engine.networkHelper ? { networkHelper: engine.networkHelper } : {}),
    kernel: engine.version.kernelVersion,
  };
  return withHostFacts(granted, engine.conntrack, engine.host);
}

/**
 * The environment as every probe reported it at start (and, for churning clients, the TIME_WAITs they saw and the
 * speed they churned at).
 */
export function withContainerFacts(env: Environment, observations: Record<string, ContainerObservation>): Environment {
  const containers = { ...env.containers };
  const timeWaits = { ...env.timeWaits };
  const paceBehind = { ...env.paceBehind };
  const churnSpeeds = { ...env.churnSpeeds };
  for (const [name, observation] of Object.entries(observations)) {
    if (observation.paceBehind !== undefined) paceBehind[name] = observation.paceBehind;
    const speed = churnSpeed(name, observation);
    if (speed !== undefined) churnSpeeds[name] = speed;
    if (observation.timeWaitEntered !== undefined && observation.timeWaitEntered !== null && observation.timeWait !== null) {
      timeWaits[name] = { entered: observation.timeWaitEntered, atEnd: observation.timeWait };
    }
  }
  for (const [name, observation] of Object.entries(observations)) {
    const ready = observation.ready;
    // A phase's observation (client-1/phase-2) repeats its container's ready line; the container's is enough.
    if (!ready || isPhaseKey(name)) continue;
    containers[name] = {
      nofile: ready.nofile,
      fdsOpen: ready.fdsOpen,
      portRange: ready.portRange,
      boundPorts: ready.boundPorts,
      reservedPorts: ready.reservedPorts,
      somaxconn: ready.somaxconn,
      sysctls: ready.sysctls,
      workers: { processes: ready.processes, fdBudget: ready.fdBudget },
    };
  }
  return {
    ...env,
    containers,
    ...(Object.keys(timeWaits).length > 0 ? { timeWaits } : {}),
    ...(Object.keys(paceBehind).length > 0 ? { paceBehind } : {}),
    ...(Object.keys(churnSpeeds).length > 0 ? { churnSpeeds } : {}),
  };
}

/**
 * A churning client's connections per second in this run: its count over the time its last worker stopped at (the
 * probe's clock starts when the client is let go). A phase's clock is its container's, so a phase has none.
 */
function churnSpeed(name: string, observation: ContainerObservation): number | undefined {
  if (observation.ready?.role !== 'client' || isPhaseKey(name) || !observation.finished) return undefined;
  const stops = observation.workers.map((worker) => worker.stoppedAtMs);
  if (stops.length === 0 || stops.some((ms) => ms === null)) return undefined;
  const seconds = Math.max(...(stops as number[])) / 1000;
  return seconds > 0 && observation.count > 0 ? observation.count / seconds : undefined;
}
