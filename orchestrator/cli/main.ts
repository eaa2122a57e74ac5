import path from 'node:path';
import { planScenario } from '../pipeline.ts';
import { nodePlan } from '../predict/node-plan.ts';
import { writeFileAtomic } from '../common/atomic-write.ts';
import { RESULTS_DIR } from '../report/results-dir.ts';
import { userCwd } from '../scenario/load-scenario.ts';
import { backendFor } from './backends.ts';
import { isEntryPoint } from './entry-point.ts';
import { EXIT } from './exit-codes.ts';
import { reportError } from './report-error.ts';
import { restoreLeftSettings } from './cleanup-command.ts';
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
    await restoreLeftSettings();
    if (options.dryRun) return await dryRun(options);
    const { runCommand } = await import('./run-command.ts');
    return await runCommand(options);
  } catch (error) {
    return reportError(error);
  }
}

async function dryRun(options: CliOptions): Promise<number> {
  const plans = [];
  // A dry run asks no engine: the backend only predicts and compiles.
  const backend = backendFor(options.engine);
  const env = backend.assumed;
  const swarm = backend.kind === 'swarm';
  for (const name of options.scenarios) {
    const plan = await planScenario(name, backend);
    const composeFile = path.join(RESULTS_DIR, `${plan.scenario.name}-dry-run${swarm ? '.stack' : ''}.compose.yml`);
    const nodes = swarm ? nodePlan(plan.scenario, plan.prediction, env) : undefined;
    await writeFileAtomic(composeFile, plan.compiled.yaml);
    const shownFile = path.relative(userCwd(), composeFile);
    if (options.json) {
      plans.push({
        scenario: plan.scenario,
        file: path.relative(userCwd(), plan.file),
        prediction: plan.prediction,
        composeFile: shownFile,
        image: plan.image,
        engine: options.engine,
        ...(nodes ? { nodes } : {}),
      });
    } else {
      process.stdout.write(`${formatPlan(plan, shownFile, nodes)}\n\n`);
    }
  }
  if (options.json) process.stdout.write(`${JSON.stringify({ plans }, null, 2)}\n`);
  return EXIT.pass;
}

if (isEntryPoint(import.meta.url)) {
  process.exitCode = await main(process.argv.slice(2));
}
