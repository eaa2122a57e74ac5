import path from 'node:path';
import { planScenario } from '../run/plan-scenario.ts';
import { writeFileAtomic } from '../common/atomic-write.ts';
import { RESULTS_DIR } from '../report/results-dir.ts';
import { userCwd } from '../scenario/load-scenario.ts';
import { backendFor } from './backends.ts';
import { EXIT } from './exit-codes.ts';
import type { CliOptions } from './parse-args.ts';
import { formatPlan } from './print-plan.ts';

/** `--dry-run`: every scenario validated, predicted and compiled; the plan printed, the compose file written. */
export async function dryRun(options: CliOptions): Promise<number> {
  const plans = [];
  // A dry run asks no engine: the backend only predicts and compiles.
  const backend = backendFor(options.engine);
  const env = backend.assumed;
  for (const name of options.scenarios) {
    const plan = await planScenario(name, backend);
    const composeFile = path.join(RESULTS_DIR, `${plan.scenario.name}-dry-run${backend.dryRunSuffix}.compose.yml`);
    const nodes = backend.nodeLoads(plan, env);
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
