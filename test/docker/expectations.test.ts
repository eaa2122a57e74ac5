import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { parseJunit } from '../report/parse-junit.ts';
import { buildAppImages, run, runChanged, shippedScenario } from './application-helpers.ts';

/**
 * A verdict that can fail for the user's own software: what a scenario states of it (`expect:`) is judged, and the
 * kernel's consequences of it exact; what it does not state is measured, never passed. Real software from Debian's
 * packages, on the real engine, beside applications.test.ts (scripts/build-app-images.sh takes a lock: the two build
 * one image at a time).
 */
beforeAll(async () => {
  await buildAppImages();
}, 15 * 60_000);

describe('a verdict that can fail for your own software', () => {
  it('haproxy with maxconn 300 and backlog 100, expected to hold 300: 300 accepted, 101 queued, the client exactly 401 and ETIMEDOUT', async () => {
    const { result, stored } = await run('haproxy-maxconn-backlog');
    expect(result.exitCode).toBe(0);
    expect(stored.verdict).toBe('pass');
    const environment = (await shippedScenario('haproxy-maxconn-backlog')).server.environment!;
    expect(environment).toEqual(['MAXCONN=300', 'BACKLOG=100']);
    expect(stored.server).toMatchObject({ observed: 300, verdict: 'pass', bound: { limit: 'application', by: 'application' } });
    expect(stored.server.kernel!.listeners).toEqual([{ port: 8080, backlog: 100, peakQueue: 101 }]);
    expect(stored.clients[0]).toMatchObject({ observed: 401, observedError: 'ETIMEDOUT', verdict: 'pass' });
    expect(stored.total).toMatchObject({ observed: 401, allowed: { min: 401, max: 401 }, verdict: 'pass' });

    // The same run, expected to hold 250: it fails, naming both numbers, and exits 1.
    const wrong = await runChanged('haproxy-maxconn-backlog', (document) => document.setIn(['server', 'expect', 'holds'], 250));
    expect(wrong.result.exitCode).toBe(1);
    expect(wrong.stored.verdict).toBe('fail');
    expect(wrong.stored.server.why).toMatch(/^300 accepted at most at once, but the scenario expects 250 \(expect\.holds\)/);
    expect(wrong.stored.total).toMatchObject({ observed: 401, allowed: { min: 351, max: 351 }, verdict: 'fail' });
  });

  it('wrk -c500 -d3s against haproxy maxconn 100: the queue stayed full until wrk stopped, its other connects in SYN-SENT: the server held it back', async () => {
    const { result, stored } = await run('wrk-haproxy-maxconn');
    expect(result.exitCode).toBe(0);
    expect(stored.verdict).toBe('pass');
    const server = stored.server.kernel!;
    // Full while wrk ran; at the end wrk's connections went and the queue with them: read from the whole run.
    expect(server.listeners).toEqual([{ port: 8080, backlog: 100, peakQueue: 101 }]);
    expect(server.series.queued.at(-1)).toBe(0);
    expect(stored.server).toMatchObject({ observed: 100, verdict: 'pass', bound: { limit: 'application', by: 'application' } });
    // wrk's -c500, every one holding a port: 100 held and 101 queued (ESTABLISHED on its side; a handshake in flight
    // when the queue filled may be ESTABLISHED for wrk while the full queue dropped its final ACK), the rest waiting in
    // SYN-SENT.
    const command = (await shippedScenario('wrk-haproxy-maxconn')).clients[0]!.command!;
    const asked = Number(/^-c(\d+)$/.exec(command.find((arg) => /^-c\d+$/.test(arg))!)?.[1]);
    const [wrk] = stored.clients;
    expect(wrk).toMatchObject({ observed: asked, verdict: 'pass', bound: { limit: 'application', by: 'application' } });
    expect(wrk!.kernel!.peakStates.ESTABLISHED).toBeGreaterThanOrEqual(100 + 101);
    const waiting = wrk!.kernel!.peakStates['SYN-SENT'] ?? 0;
    expect(waiting).toBeGreaterThan(0);
    expect(waiting).toBeLessThanOrEqual(asked - 201);
    expect(wrk!.bound!.evidence).toContain(`${waiting} of them connects waiting in SYN-SENT: the server had stopped accepting`);
  });

  it('no expect: for an application: measured, not judged: never pass, exit 0, and skipped in JUnit', async () => {
    const { result, stored } = await runChanged('redis-maxclients', (document) => document.deleteIn(['server', 'expect']), [
      '--junit',
      '<results>/junit.xml',
    ]);
    expect(result.exitCode).toBe(0);
    expect(stored.server).toMatchObject({ observed: 100, verdict: 'measured', bound: { limit: 'application', by: 'application' } });
    expect(stored.server.why).toMatch(/^measured, not judged \(the scenario states no expect: for it\): 100 accepted at most at once/);
    // The probe client is judged as ever: its port range, exactly.
    expect(stored.clients[0]).toMatchObject({ observed: 1000, verdict: 'pass' });
    expect(result.stdout).toMatch(/^server +1,000 +100 +application \(bound\) +- +- +measured$/m);
    expect(result.stdout).toMatch(/^redis-maxclients-changed: PASS \(.*\); measured, not judged \(no expect: for them\): server$/m);
    // JUnit: a test case skipped with what it did, not a pass and not a failure.
    const [suite] = parseJunit(await readFile(path.join(result.resultsDir, 'junit.xml'), 'utf8')).testsuite;
    expect([suite!['@_failures'], suite!['@_skipped']]).toEqual(['0', '1']);
    const serverCase = suite!.testcase.find((each) => each['@_name'].startsWith('server'));
    expect(serverCase?.skipped?.['@_message']).toMatch(/^measured, not judged/);
  });
});
