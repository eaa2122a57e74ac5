import path from 'node:path';
import { planScenario } from '../run/plan-scenario.ts';
import { writeFileAtomic } from '../common/atomic-write.ts';
import { RESULTS_DIR } from '../report/results-dir.ts';
import { userCwd } from '../scenario/load-scenario.ts';
import { backendFor } from './backends.ts';
import { EXIT } from './exit-codes.ts';
import type { CliOptions } from './parse-args.ts';
import { describeHostLimits, formatPlan, hostLimitsOf } from './print-plan.ts';

/** `--dry-run`: every scenario validated, predicted and compiled; the plan printed, the compose file written. */
export async function dryRun(options: CliOptions): Promise<number> {
  // A dry run asks no engine: the backend only predicts and compiles, with the host's limits where it can read them
  // without one (the local engine's host is this machine). Every scenario is planned before anything is printed.
  const backend = backendFor(options.engine);
  const dry = await backend.dryRunEnvironment();
  const env = dry.env;
  const planned = [];
  for (const name of options.scenarios) {
    const plan = await planScenario(name, backend, { env });
    const composeFile = path.join(RESULTS_DIR, `${plan.scenario.name}-dry-run${backend.dryRunSuffix}.compose.yml`);
    await writeFileAtomic(composeFile, plan.compiled.yaml);
    planned.push({ plan, shownFile: path.relative(userCwd(), composeFile), nodes: backend.nodeLoads(plan, env) });
  }
  if (options.json) {
    const plans = planned.map(({ plan, shownFile, nodes }) => ({
      scenario: plan.scenario,
      file: path.relative(userCwd(), plan.file),
      prediction: plan.prediction,
      composeFile: shownFile,
      image: plan.image,
      engine: options.engine,
      ...(nodes ? { nodes } : {}),
    }));
    process.stdout.write(`${JSON.stringify({ hostLimits: hostLimitsOf(dry), plans }, null, 2)}\n`);
  } else {
    process.stdout.write(`${describeHostLimits(dry)}\n\n`);
    for (const { plan, shownFile, nodes } of planned) process.stdout.write(`${formatPlan(plan, shownFile, nodes)}\n\n`);
  }
  return EXIT.pass;
}
