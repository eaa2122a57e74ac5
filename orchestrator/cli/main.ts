import path from 'node:path';
import { planScenario } from '../pipeline.ts';
import { ASSUMED_ENVIRONMENT } from '../predict/environment.ts';
import { writeFileAtomic } from '../report/atomic-write.ts';
import { RESULTS_DIR } from '../report/results-dir.ts';
import { ScenarioError, userCwd } from '../scenario/load-scenario.ts';
import { isEntryPoint } from './entry-point.ts';
import { EXIT } from './exit-codes.ts';
import { parseCliArgs, USAGE, UsageError, type CliOptions } from './parse-args.ts';
import { formatPlan } from './print-plan.ts';

/** Runs the command line and returns the exit code; every error is printed here, once. */
export async function main(argv: string[]): Promise<number> {
  let options: CliOptions;
  try {
    options = parseCliArgs(argv);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    process.stderr.write(`portlab: ${error.message}\n${USAGE}\n`);
    return EXIT.badInput;
  }
  if (options.help) {
    process.stdout.write(`${USAGE}\n`);
    return EXIT.pass;
  }
  try {
    if (options.dryRun) return await dryRun(options);
    const { runCommand } = await import('./run-command.ts');
    return await runCommand(options);
  } catch (error) {
    return reportError(error);
  }
}

async function dryRun(options: CliOptions): Promise<number> {
  const plans = [];
  for (const name of options.scenarios) {
    const plan = await planScenario(name, ASSUMED_ENVIRONMENT);
    const composeFile = path.join(RESULTS_DIR, `${plan.scenario.name}-dry-run.compose.yml`);
    await writeFileAtomic(composeFile, plan.compiled.yaml);
    const shownFile = path.relative(userCwd(), composeFile);
    if (options.json) {
      plans.push({ scenario: plan.scenario, file: path.relative(userCwd(), plan.file), prediction: plan.prediction, composeFile: shownFile, image: plan.image });
    } else {
      process.stdout.write(`${formatPlan(plan, shownFile)}\n\n`);
    }
  }
  if (options.json) process.stdout.write(`${JSON.stringify({ plans }, null, 2)}\n`);
  return EXIT.pass;
}

/** Errors a person can act on get one line (or one per problem); anything else is a bug in portlab, said as such. */
export function reportError(error: unknown): number {
  if (error instanceof ScenarioError) {
    process.stderr.write(`${error.message}\n`);
    return EXIT.badInput;
  }
  const exitCode = (error as { exitCode?: number }).exitCode;
  const message = error instanceof Error ? error.message : String(error);
  if (typeof exitCode === 'number') {
    process.stderr.write(`portlab: ${message}\n`);
    return exitCode;
  }
  process.stderr.write(`portlab: internal error: ${message}\n(set DEBUG=portlab* for details; please report it)\n`);
  if (process.env.DEBUG) process.stderr.write(`${(error as Error).stack ?? ''}\n`);
  return EXIT.runError;
}

if (isEntryPoint(import.meta.url)) {
  process.exitCode = await main(process.argv.slice(2));
}
