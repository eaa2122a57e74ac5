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
