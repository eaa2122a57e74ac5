import { BaseSequencer, type TestSpecification } from 'vitest/node';

/**
 * The engine files that take longest here, longest first (four-wide-range, the first of the scale files, needs the
 * host's conntrack table before any other file has used it).
 */
const LONGEST = ['four-wide-range.test.ts', 'applications.test.ts', 'expectations.test.ts', 'seed-scenarios.test.ts', 'sweep.test.ts'];

/**
 * vitest's own order (by the last run's durations, else by file size), with the longest engine files started first:
 * two workers then finish close together, on a fresh clone as on a warm tree.
 */
export default class LongestFirst extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const rank = (spec: TestSpecification) => {
      const index = LONGEST.findIndex((name) => spec.moduleId.endsWith(`/${name}`));
      return index === -1 ? LONGEST.length : index;
    };
    const group = (spec: TestSpecification) => spec.project.config.sequence.groupOrder;
    return [...(await super.sort(files))].sort((a, b) => group(a) - group(b) || rank(a) - rank(b));
  }
}
