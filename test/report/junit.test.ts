import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../../orchestrator/common/project-root.ts';
import { errorSuite, junitSuite, junitXml } from '../../orchestrator/report/junit.ts';
import { RunResult } from '../../orchestrator/report/result-schema.ts';
import { resultOf } from './judged-result.ts';
import { parseJunit } from './parse-junit.ts';

const fixture = async (name: string) =>
  RunResult.parse(JSON.parse(await readFile(path.join(PROJECT_ROOT, 'test', 'fixtures', 'results', `${name}.json`), 'utf8')));

describe('JUnit XML', () => {
  it('a passing run: one case per container and one for all clients, no failure', async () => {
    const result = await fixture('default-range');
    const suites = parseJunit(junitXml([junitSuite(result)]));
    expect([suites['@_tests'], suites['@_failures'], suites['@_errors']]).toEqual(['4', '0', '0']);
    const [suite] = suites.testsuite;
    expect(suite?.['@_name']).toBe('default-range');
    expect(suite?.testcase.map((each) => each['@_name'])).toEqual([
      'client-1: 28,231 connections, stopped by port-range',
      'client-2: 28,231 connections, stopped by port-range',
      'server: 56,462 connections, no limit of its own binds',
      'all clients: 56,462 connections',
    ]);
  });

  it('a run whose verdict failed: each failed check is a failure with the why in its message', () => {
    // The client held 900 of the 999 ports the model predicts once measured: its check, the server's and the total fail.
    const result = resultOf(900);
    expect(result.verdict).toBe('fail');
    const suites = parseJunit(junitXml([junitSuite(result)]));
    const failed = result.clients.filter((each) => each.verdict === 'fail').length + (result.server.verdict === 'fail' ? 1 : 0) + 1;
    expect([suites['@_tests'], suites['@_failures'], suites['@_errors']]).toEqual(['3', String(failed), '0']);
    const [client] = suites.testsuite[0]!.testcase;
    expect(client?.failure?.['@_message']).toBe(result.clients[0]?.why);
  });

  it('a run cut short, and a sweep point that left no result: errors, not failures', () => {
    const cut = resultOf(500, 'duration');
    expect(cut.verdict).toBe('incomplete');
    const suites = parseJunit(
      junitXml([junitSuite(cut), errorSuite('sweep point 2', 'starting container x: <refused> & "gone"', cut.run.startedAt)]),
    );
    expect([suites['@_tests'], suites['@_failures'], suites['@_errors']]).toEqual(['4', '0', '4']);
    expect(suites.testsuite[1]?.testcase[0]?.error?.['@_message']).toBe('starting container x: <refused> & "gone"');
  });
});
