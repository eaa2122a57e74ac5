import path from 'node:path';
import { writeFileAtomic } from '../common/atomic-write.ts';
import { junitXml, type TestSuite } from '../report/junit.ts';
import { userCwd } from '../scenario/load-scenario.ts';

/** `--junit FILE`: the suites as JUnit XML, FILE relative to where the command was started; says where it went. */
export async function writeJunit(file: string, suites: TestSuite[]): Promise<void> {
  const target = path.resolve(userCwd(), file);
  await writeFileAtomic(target, junitXml(suites));
  process.stderr.write(`junit: ${path.relative(userCwd(), target) || target}\n`);
}
