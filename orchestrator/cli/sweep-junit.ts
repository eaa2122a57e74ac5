import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { errorSuite, junitSuite, type TestSuite } from '../report/junit.ts';
import { RunResult } from '../report/result-schema.ts';
import type { SweepSummary } from '../report/sweep-schema.ts';
import { showAxisValue } from '../scenario/sweep-file.ts';

/** A sweep's points as JUnit test suites, from the result each point wrote (a point with none is one error). */
export async function sweepSuites(summary: SweepSummary, dir: string): Promise<TestSuite[]> {
  return Promise.all(
    summary.points.map(async (point) => {
      const name = `${summary.name} point ${point.index} (${summary.axes.map((axis) => `${axis.key} = ${showAxisValue(point.values[axis.key])}`).join('; ')})`;
      if (point.resultFile === null)
        return errorSuite(name, point.failure ?? `the point ended ${point.verdict} without a result`, summary.startedAt);
      const result = RunResult.parse(JSON.parse(await readFile(path.join(dir, point.resultFile), 'utf8')));
      return junitSuite(result, name);
    }),
  );
}
