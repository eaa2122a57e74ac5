import { formatCount, showCount } from '../predict/count-range.ts';
import { showStop } from '../predict/prediction-schema.ts';
import type { RunResult } from './result-schema.ts';

/*
 * Results as JUnit XML, the format CI systems (GitHub, GitLab, Jenkins) show as test results: one test suite per run
 * (a scenario, or a point of a sweep), one test case per container check and one for all clients together. A failing
 * verdict is a <failure>; a run that ended in an error, was cut short or interrupted makes its checks <error>s; an
 * application measured, not judged (no expectation stated), is <skipped>, with what it did. Pure: text in, text out.
 */

type TestCase = { classname: string; name: string; seconds: number; failure?: string; error?: string; skipped?: string; detail: string };
export type TestSuite = { name: string; seconds: number; timestamp: string; cases: TestCase[] };

const escape = (text: string) =>
  text
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    // XML 1.0 has no place for most control characters, even escaped.
    // eslint-disable-next-line no-control-regex
    .replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f]/g, '');

/** A run's checks as one test suite named `name` (a scenario's name, or a sweep's point). */
export function junitSuite(result: RunResult, name = String(result.scenario.name)): TestSuite {
  const seconds = result.run.durationMs / 1000;
  // A run that did not end on its own leaves every check unproven: errors, not failures.
  const runError =
    result.verdict === 'error' || result.verdict === 'aborted' || result.verdict === 'incomplete'
      ? `the run ended ${result.verdict}: ${result.run.failure ?? result.why[0] ?? result.run.endReason}`
      : undefined;
  const checkOf = (container: RunResult['clients'][number]): TestCase => {
    const detail = [
      `predicted ${showCount(container.predicted)} (${container.limit}; ${showStop(container.predictedError)})`,
      `observed ${formatCount(container.observed)}${container.observedError ? ` (${container.observedError})` : ''}`,
      container.why,
    ].join('; ');
    return {
      classname: name,
      name: `${container.name}: ${showCount(container.predicted)} connections, ${container.limit === 'none' ? 'no limit of its own binds' : `stopped by ${container.limit}`}`,
      seconds,
      ...(runError || container.verdict === 'error'
        ? { error: runError ?? container.why }
        : container.verdict === 'fail'
          ? { failure: container.why }
          : container.verdict === 'measured'
            ? { skipped: container.why }
            : {}),
      detail,
    };
  };
  const cases = [...result.clients, result.server].map(checkOf);
  const { total } = result;
  if (total.verdict && total.allowed) {
    const detail = `predicted ${showCount(total.predicted)}; observed ${formatCount(total.observed)}; ${total.why ?? ''}`;
    cases.push({
      classname: name,
      name: `all clients: ${showCount(total.predicted)} connections`,
      seconds,
      ...(runError ? { error: runError } : total.verdict === 'fail' ? { failure: total.why ?? 'outside the predicted total' } : {}),
      detail,
    });
  }
  return { name, seconds, timestamp: result.run.startedAt, cases };
}

/** The suites as one JUnit XML document. */
export function junitXml(suites: TestSuite[], name = 'portlab'): string {
  const count = (what: 'failure' | 'error' | 'skipped') =>
    suites.reduce((sum, suite) => sum + suite.cases.filter((each) => each[what]).length, 0);
  const tests = suites.reduce((sum, suite) => sum + suite.cases.length, 0);
  const seconds = suites.reduce((sum, suite) => sum + suite.seconds, 0);
  const lines = [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuites name="${escape(name)}" tests="${tests}" failures="${count('failure')}" errors="${count('error')}" skipped="${count('skipped')}" time="${seconds.toFixed(3)}">`,
  ];
  for (const suite of suites) {
    const failures = suite.cases.filter((each) => each.failure).length;
    const errors = suite.cases.filter((each) => each.error).length;
    const skipped = suite.cases.filter((each) => each.skipped).length;
    lines.push(
      `  <testsuite name="${escape(suite.name)}" tests="${suite.cases.length}" failures="${failures}" errors="${errors}" skipped="${skipped}" time="${suite.seconds.toFixed(3)}" timestamp="${escape(suite.timestamp)}">`,
    );
    for (const each of suite.cases) {
      lines.push(`    <testcase classname="${escape(each.classname)}" name="${escape(each.name)}" time="${each.seconds.toFixed(3)}">`);
      if (each.failure) lines.push(`      <failure message="${escape(each.failure)}" type="verdict">${escape(each.detail)}</failure>`);
      if (each.error) lines.push(`      <error message="${escape(each.error)}" type="run">${escape(each.detail)}</error>`);
      if (each.skipped) lines.push(`      <skipped message="${escape(each.skipped)}"/>`);
      if (!each.failure && !each.error) lines.push(`      <system-out>${escape(each.detail)}</system-out>`);
      lines.push('    </testcase>');
    }
    lines.push('  </testsuite>');
  }
  lines.push('</testsuites>', '');
  return lines.join('\n');
}

/** A run that left no result (it failed before it judged anything): one test case, an error. */
export function errorSuite(name: string, message: string, timestamp: string): TestSuite {
  return { name, seconds: 0, timestamp, cases: [{ classname: name, name: 'the run', seconds: 0, error: message, detail: message }] };
}
