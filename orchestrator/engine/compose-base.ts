import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { parse } from 'yaml';
import { PROJECT_ROOT } from '../common/project-root.ts';
import { ComposeBase, type ComposeService } from '../compile/compose-schema.ts';
import { durationMs } from '../scenario/duration.ts';
import type { StopSettings } from './docker/containers.ts';

export const COMPOSE_BASE_FILE = path.join(PROJECT_ROOT, 'compose.base.yml');

export async function loadComposeBase(file = COMPOSE_BASE_FILE): Promise<ComposeBase> {
  return ComposeBase.parse(parse(await readFile(file, 'utf8')));
}

/**
 * How a compiled service is stopped: its stop_signal and stop_grace_period (compose.base.yml states them for every
 * service; the engine reads them there, never restates them).
 */
export function stopSettingsOf(service: Pick<ComposeService, 'stop_signal' | 'stop_grace_period'>): StopSettings | undefined {
  if (!service.stop_signal || !service.stop_grace_period) return undefined;
  return { signal: service.stop_signal, graceSeconds: durationMs(service.stop_grace_period) / 1000 };
}
