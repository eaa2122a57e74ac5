import { mkdtemp } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { execa, type Options } from 'execa';
import { PROJECT_ROOT } from '../../orchestrator/scenario/load-scenario.ts';

const CLI = path.join(PROJECT_ROOT, 'orchestrator', 'cli', 'main.ts');
const REPORT_CLI = path.join(PROJECT_ROOT, 'orchestrator', 'cli', 'report-command.ts');

/** One process (node with tsx's loader), so a signal sent to it reaches portlab itself, not a wrapper. */
export const CLI_COMMAND = [process.execPath, ['--import', 'tsx', CLI]] as const;

export type CliResult = { exitCode: number | undefined; stdout: string; stderr: string; resultsDir: string };

/** Runs the portlab CLI as a user would (a real process), with results going to a fresh directory. */
export async function runCli(args: string[], options: Options & { resultsDir?: string } = {}): Promise<CliResult> {
  const resultsDir = options.resultsDir ?? (await mkdtemp(path.join(os.tmpdir(), 'portlab-results-')));
  const result = await execa(CLI_COMMAND[0], [...CLI_COMMAND[1], ...args], {
    reject: false,
    cwd: PROJECT_ROOT,
    ...options,
    env: { PORTLAB_RESULTS_DIR: resultsDir, INIT_CWD: '', ...options.env },
  });
  return { exitCode: result.exitCode, stdout: String(result.stdout), stderr: String(result.stderr), resultsDir };
}

/** `npm run report -- <args>` as a real process. */
export async function runReportCli(args: string[]): Promise<Omit<CliResult, 'resultsDir'>> {
  const result = await execa(process.execPath, ['--import', 'tsx', REPORT_CLI, ...args], { reject: false, cwd: PROJECT_ROOT, env: { INIT_CWD: '' } });
  return { exitCode: result.exitCode, stdout: String(result.stdout), stderr: String(result.stderr) };
}
