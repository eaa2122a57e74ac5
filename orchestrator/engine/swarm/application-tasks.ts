import { readFile } from 'node:fs/promises';
import { OBSERVER_PATH, type CompiledStack } from '../../compile/compile-stack.ts';
import { LastLines, type ApplicationEnd } from '../../observe/application-end.ts';
import { parseProbeLine } from '../../observe/probe-events.ts';
import type { DockerEngine } from '../docker/engine.ts';

/** A stack's configs as created: by the compiled stack's key, their id and name. */
export type CreatedConfigs = Map<string, { id: string; name: string }>;

/** Creates the stack's configs (its applications' observer and read-only files) from this host's files, named after the run. */
export async function createStackConfigs(
  engine: DockerEngine,
  stack: CompiledStack,
  namespace: string,
  labels: Record<string, string>,
): Promise<CreatedConfigs> {
  const created: CreatedConfigs = new Map();
  for (const [key, { file }] of Object.entries(stack.project.configs ?? {})) {
    const name = `${namespace}_${key}`;
    created.set(key, { id: await engine.configs.create(name, await readFile(file), labels), name });
  }
  return created;
}

/** The configs a service mounts, as a service spec names them. */
export function configMounts(definition: CompiledStack['project']['services'][string], created: CreatedConfigs) {
  return (definition.configs ?? []).map((mount) => {
    const config = created.get(mount.source);
    if (!config) throw new Error(`config ${mount.source} was not created`);
    return { ...config, target: mount.target, mode: mount.mode };
  });
}

/**
 * The containers of a stack that run an application of the user's own under its observer (their task's entrypoint),
 * and each one's image, as the nodes pull it.
 */
export function applicationContainers(stack: CompiledStack): Map<string, string> {
  const applications = new Map<string, string>();
  for (const [key, definition] of Object.entries(stack.project.services)) {
    if (definition.entrypoint?.[0] !== OBSERVER_PATH) continue;
    for (const container of stack.containers[key] ?? []) applications.set(container, definition.image);
  }
  return applications;
}

/**
 * An application's task writes its own output and its observer's lines to one log: the lines that are not the
 * observer's are the application's (its last few kept), and the observer's `exit` line is the application's end.
 */
export class ApplicationOutput {
  private readonly last = new Map<string, LastLines>();

  constructor(private readonly applications: Map<string, string>) {}

  runsApplication = (container: string): boolean => this.applications.has(container);

  /** Takes a line of a container; returns the application's end when the line says it ended. */
  take(container: string, line: string): ApplicationEnd | undefined {
    const image = this.applications.get(container);
    if (image === undefined) return undefined;
    const parsed = parseProbeLine(line);
    if (!parsed.ok) {
      let lines = this.last.get(container);
      if (!lines) this.last.set(container, (lines = new LastLines()));
      lines.add(line);
      return undefined;
    }
    if (parsed.event.event !== 'exit') return undefined;
    // Ended by a signal: the shell's convention, 128 + the signal's number.
    const exitCode = parsed.event.code ?? 128 + (parsed.event.signal ?? 0);
    return { image, exitCode, lastLines: this.last.get(container)?.get() ?? [] };
  }
}
