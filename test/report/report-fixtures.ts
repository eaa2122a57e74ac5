import { readFileSync } from 'node:fs';
import path from 'node:path';
import { RunResult, StoredResult } from '../../orchestrator/report/result-schema.ts';
import { PROJECT_ROOT } from '../../orchestrator/common/project-root.ts';

/** Results of real runs on this machine's engine, kept as they were written (test/fixtures/results/). */
export const RESULT_FIXTURES_DIR = path.join(PROJECT_ROOT, 'test', 'fixtures', 'results');

export function resultFixture(name: 'default-range' | 'wide-range' | 'time-wait-exhaustion' | 'extra-listen-ports'): RunResult {
  return RunResult.parse(JSON.parse(readFileSync(path.join(RESULT_FIXTURES_DIR, `${name}.json`), 'utf8')));
}

/** The same result as portlab wrote it before results had series (schema version 1). */
export function asVersion1(result: RunResult): StoredResult {
  const strip = ({ series: _series, ...rest }: RunResult['server']) => rest;
  const { cleanupErrors: _cleanupErrors, phasesMs: _phasesMs, ...run } = result.run;
  const { engineGrantsRemembered: _remembered, ...environment } = result.environment;
  return StoredResult.parse({
    ...result,
    schemaVersion: 1,
    run,
    environment,
    clients: result.clients.map(strip),
    server: strip(result.server),
  });
}
