import { parseInspection } from '../../observe/inspection.ts';
import { parseProbeLine } from '../../observe/probe-events.ts';
import type { NamespaceLook } from '../../predict/inspection-schema.ts';
import { hostProbeBinary } from '../probe-image.ts';

/** A container or process that cannot be inspected as asked (none of that name or pid, or not running): the input, exit 2. */
export class NotInspectableError extends Error {
  override name = 'NotInspectableError';
}

/** What a person lacks to inspect a process (exit 3): the right to enter its namespace or read its descriptors. */
export class InspectRightsError extends Error {
  override name = 'InspectRightsError';
}

/**
 * The probe as a host binary, entering a process's network namespace (`--netns-of PID`) or staying in its own
 * (`--own-netns`): what it reads there, or the refusal said as the person's input (no such process, exit 2) or
 * rights (exit 3).
 */
export async function lookFromHost(
  where: ['--netns-of', string] | ['--own-netns'],
  pid: number | null,
  onStatus: (message: string) => void,
  signal?: AbortSignal,
): Promise<NamespaceLook> {
  const binary = await hostProbeBinary(() => onStatus('building the probe for this machine (scripts/build-probe.sh --musl, once)'));
  const { execa } = await import('execa');
  const run = await execa(binary, ['inspect', ...where], { reject: false, cancelSignal: signal });
  const output = String(run.stdout);
  const fatal = output
    .split('\n')
    .map(parseProbeLine)
    .flatMap((parsed) => (parsed.ok && parsed.event.event === 'fatal' ? [parsed.event] : []))[0];
  if (fatal?.errno === 'ESRCH') throw new NotInspectableError(`process ${pid} ended before it could be inspected`);
  if (fatal && (fatal.errno === 'EPERM' || fatal.errno === 'EACCES'))
    throw new InspectRightsError(
      `${fatal.message} was refused (${fatal.errno}): entering process ${pid}'s network namespace needs CAP_SYS_ADMIN over it (root in its user namespace)`,
    );
  const look = parseInspection(output);
  if (!look) throw new Error(`the probe printed no inspection (exit ${run.exitCode}; it printed: ${JSON.stringify(output.slice(0, 200))})`);
  return look;
}
