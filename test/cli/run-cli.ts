import { mkdtemp } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { execa, type Options } from 'execa';
import { PROJECT_ROOT } from '../../orchestrator/common/project-root.ts';

/** The bundled commands npm runs (test/global-setup.ts builds them before the suite). */
const bundle = (name: string) => path.join(PROJECT_ROOT, 'dist', `${name}.mjs`);

/** One process (node on the bundle, as `npm run scenario` starts it), so a signal sent to it reaches portlab itself. */
export const CLI_COMMAND = [process.execPath, [bundle('main')]] as const;
/** The installed `portlab` command (its bin). */
export const PORTLAB_COMMAND = [process.execPath, [bundle('portlab')]] as const;

/** `npm run sweep`'s command. */
export const SWEEP_COMMAND = [process.execPath, [bundle('sweep-command')]] as const;

export type CliResult = { exitCode: number | undefined; stdout: string; stderr: string; resultsDir: string };

/** Runs `command` as a user would (a real process), with results going to a fresh directory. */
async function runBundle(
  command: typeof CLI_COMMAND | typeof PORTLAB_COMMAND,
  args: string[],
  options: Options & { resultsDir?: string },
): Promise<CliResult> {
  const resultsDir = options.resultsDir ?? (await mkdtemp(path.join(os.tmpdir(), 'portlab-results-')));
  const result = await execa(command[0], [...command[1], ...args], {
    reject: false,
    cwd: PROJECT_ROOT,
    ...options,
    env: { PORTLAB_RESULTS_DIR: resultsDir, INIT_CWD: '', ...options.env },
  });
  return { exitCode: result.exitCode, stdout: String(result.stdout), stderr: String(result.stderr), resultsDir };
}

/** `npm run scenario -- <args>` (`portlab run`'s own entry) as a real process. */
export const runCli = (args: string[], options: Options & { resultsDir?: string } = {}) => runBundle(CLI_COMMAND, args, options);

/** `portlab <args>` as a real process. */
export const runPortlab = (args: string[], options: Options & { resultsDir?: string } = {}) => runBundle(PORTLAB_COMMAND, args, options);

/** `npm run report -- <args>` as a real process. */
export async function runReportCli(args: string[]): Promise<Omit<CliResult, 'resultsDir'>> {
  const result = await execa(process.execPath, [bundle('report-command'), ...args], {
    reject: false,
    cwd: PROJECT_ROOT,
    env: { INIT_CWD: '' },
  });
  return { exitCode: result.exitCode, stdout: String(result.stdout), stderr: String(result.stderr) };
}
