import { describe, expect, it } from 'vitest';
import { ApplicationOutput } from '../../orchestrator/engine/swarm/application-tasks.ts';

describe("an application's task: its output and its observer's lines in one log", () => {
  const output = new ApplicationOutput(new Map([['wrk-1', 'registry:5000/portlab.invalid/wrk:4.1']]));

  it("keeps the application's own lines as its last lines and says its end when the observer's exit line comes", () => {
    expect(output.take('wrk-1', 'Running 3s test @ http://server/')).toBeUndefined();
    expect(
      output.take('wrk-1', '{"event":"observe","role":"client","t":5,"ports":{},"held":0,"listeners":[],"sockets":0,"processes":[]}'),
    ).toBeUndefined();
    expect(output.take('wrk-1', '  Socket errors: connect 1000, read 0, write 0, timeout 0')).toBeUndefined();
    expect(output.take('wrk-1', '{"event":"exit","role":"client","code":0,"signal":null,"t":3100}')).toEqual({
      image: 'registry:5000/portlab.invalid/wrk:4.1',
      exitCode: 0,
      lastLines: ['Running 3s test @ http://server/', 'Socket errors: connect 1000, read 0, write 0, timeout 0'],
    });
  });

  it('an application ended by a signal: 128 + its number, as a shell says it', () => {
    const killed = new ApplicationOutput(new Map([['server', 'nginx']]));
    expect(killed.take('server', '{"event":"exit","role":"server","code":null,"signal":9,"t":10}')).toMatchObject({ exitCode: 137 });
  });

  it("a probe's container is not an application's: its lines are left alone", () => {
    expect(output.runsApplication('client-1')).toBe(false);
    expect(output.take('client-1', '{"event":"exit","role":"client","code":0,"signal":null,"t":1}')).toBeUndefined();
  });
});
