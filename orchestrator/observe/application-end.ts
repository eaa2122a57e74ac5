import { z } from 'zod';

/** How an application of the user's own ended: its exit code (null: the engine did not say) and its last lines. */
export const ApplicationEnd = z.strictObject({
  image: z.string(),
  exitCode: z.number().int().nullable(),
  /** Its last lines, stdout and stderr as they came (at most LAST_LINES, blank ones left out). */
  lastLines: z.array(z.string()),
});
export type ApplicationEnd = z.infer<typeof ApplicationEnd>;

/** How many of an application's last lines say how it ended. */
export const LAST_LINES = 5;

/** An application's last lines, kept as they come. */
export class LastLines {
  private readonly lines: string[] = [];

  add(line: string): void {
    const trimmed = line.trim();
    if (!trimmed) return;
    this.lines.push(trimmed);
    if (this.lines.length > LAST_LINES) this.lines.shift();
  }

  get(): string[] {
    return [...this.lines];
  }
}

/** "its application IMAGE exited with code N; its last lines: a | b". Pure. */
export function describeEnd(end: ApplicationEnd): string {
  const code = end.exitCode === null ? 'exited' : `exited with code ${end.exitCode}`;
  const said = end.lastLines.length > 0 ? `; its last lines: ${end.lastLines.join(' | ')}` : '; it printed nothing';
  return `its application ${end.image} ${code}${said}`;
}

/**
 * What glibc's strerror() says for each errno a kernel limit stops a connection with: how a program of the user's
 * own usually reports it (perror, strerror, "%m").
 */
export const ERRNO_MESSAGES: Record<string, string> = {
  EADDRNOTAVAIL: 'Cannot assign requested address',
  EADDRINUSE: 'Address already in use',
  EMFILE: 'Too many open files',
  ENFILE: 'Too many open files in system',
  ETIMEDOUT: 'Connection timed out',
};

/**
 * The first of `errnos` whose name or strerror() text the application printed in its last lines, with that line:
 * its own word that the kernel refused it that way. null when it printed none of them (or did not end).
 */
export function errnoItPrinted(end: ApplicationEnd | undefined, errnos: string[]): { errno: string; line: string } | null {
  for (const errno of errnos) {
    const message = ERRNO_MESSAGES[errno];
    const line = end?.lastLines.find((text) => text.includes(errno) || (message !== undefined && text.includes(message)));
    if (line !== undefined) return { errno, line };
  }
  return null;
}
