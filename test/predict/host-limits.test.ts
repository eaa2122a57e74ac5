import { describe, expect, it } from 'vitest';
import { ASSUMED_ENVIRONMENT } from '../../orchestrator/predict/environment.ts';
import { FILES_PER_CONTAINER, fileRoom, filesLine } from '../../orchestrator/predict/host-limits.ts';
import { predict } from '../../orchestrator/predict/predict.ts';
import { parseScenario } from '../../orchestrator/scenario/load-scenario.ts';

describe("the host's open files against what a run holds", () => {
  const env = { ...ASSUMED_ENVIRONMENT, hostFiles: { allocated: 1_116, max: 2_466_116 } };

  it('counts two files a connection on one host, less what the containers hold themselves, and says when they leave room', () => {
    const room = fileRoom(env, 3, 4_097)!;
    const free = 2_466_116 - 1_116 - 3 * FILES_PER_CONTAINER;
    expect(room.held).toEqual({ min: Math.floor(free / 2), max: Math.floor((free + 4_097) / 2) });
    expect(room.held.min + room.accepted.max).toBe(free);
    expect(filesLine(room, { min: 56_462, max: 56_462 })).toMatch(
      /^fs.file-max 2,466,116, 1,116 allocated at preflight, about 48 for the run's 3 containers themselves: room for 1,23\d,\d{3}-1,23\d,\d{3} connections at two files each .*: does not bind$/,
    );
  });

  it('says nothing when the files were not read, or the ends are on different kernels (a swarm)', () => {
    expect(fileRoom(ASSUMED_ENVIRONMENT, 3, 4_097)).toBeNull();
    expect(fileRoom({ ...env, network: 'overlay' }, 3, 4_097)).toBeNull();
  });
});

describe('fs.file-max as the limit that binds', () => {
  const scenario = parseScenario(
    'name: few-files\nserver: { ports: [5000] }\nclients: { count: 2, mode: hold, ulimits: { nofile: 100000 } }\n',
    'few-files.yml',
    'few-files',
  );

  it('when the free files hold fewer connections than the clients would: ENFILE, at half the free files (plus the queue)', () => {
    const env = { ...ASSUMED_ENVIRONMENT, hostFiles: { allocated: 1_000, max: 41_000 }, conntrackMax: 262_144 };
    const prediction = predict(scenario, env);
    const free = 40_000 - 3 * FILES_PER_CONTAINER;
    expect(prediction.limit).toBe('file-max');
    expect(prediction.total).toEqual({ min: Math.floor(free / 2), max: Math.floor((free + 4_097) / 2) });
    expect(prediction.clients.map((client) => client.error)).toEqual([
      { errnos: ['ENFILE'], orNone: false },
      { errnos: ['ENFILE'], orNone: false },
    ]);
    expect(prediction.reasoning.join('\n')).toContain('to lift it, raise fs.file-max on the host');
  });

  it('conntrack binds first when its table is smaller than the files allow', () => {
    const env = { ...ASSUMED_ENVIRONMENT, hostFiles: { allocated: 1_000, max: 41_000 }, conntrackMax: 10_000 };
    expect(predict(scenario, env).limit).toBe('conntrack');
  });

  it('plenty of files: the clients own limits bind, and the plan says the files do not', () => {
    const env = { ...ASSUMED_ENVIRONMENT, hostFiles: { allocated: 1_000, max: 2_466_116 } };
    const prediction = predict(scenario, env);
    expect(prediction.limit).toBe('port-range');
    expect(prediction.reasoning.join('\n')).toMatch(/fs.file-max 2,466,116, .*: does not bind/);
  });
});
