import { describe, expect, it } from 'vitest';
import { ASSUMED_ENVIRONMENT } from '../../orchestrator/predict/environment.ts';
import { connectionBytes, FILES_PER_CONTAINER, fileRoom, filesLine, memoryLine } from '../../orchestrator/predict/host-limits.ts';
import { predict } from '../../orchestrator/predict/predict.ts';
import { parseScenario } from '../../orchestrator/scenario/load-scenario.ts';

describe("the host's open files against what a run holds", () => {
  const env = { ...ASSUMED_ENVIRONMENT, hostFiles: { allocated: 1_116, max: 2_466_116 } };

  it('counts two files a connection on one host, less what the containers hold themselves, and says when they leave room', () => {
    const room = fileRoom(env, 3, 4_097)!;
    // Preflight's own probe containers are in what it read; the run's other two hold up to 52 files each.
    const least = 2_466_116 - 1_116 - 2 * FILES_PER_CONTAINER.max;
    const most = 2_466_116 - 1_116 - 2 * FILES_PER_CONTAINER.min;
    expect(room.held).toEqual({ min: Math.floor(least / 2), max: Math.floor((most + 4_097) / 2) });
    expect(room.accepted).toEqual({ min: Math.ceil((least - 4_097) / 2), max: Math.ceil(most / 2) });
    expect(filesLine(room, { min: 56_462, max: 56_462 })).toMatch(
      /^fs.file-max 2,466,116, 1,116 allocated at preflight, 0-104 more for the run's 3 containers themselves: room for 1,23\d,\d{3}-1,23\d,\d{3} connections at two files each .*: does not bind$/,
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
    const least = 40_000 - 2 * FILES_PER_CONTAINER.max;
    const most = 40_000 - 2 * FILES_PER_CONTAINER.min;
    expect(prediction.limit).toBe('file-max');
    expect(prediction.total).toEqual({ min: Math.floor(least / 2), max: Math.floor((most + 4_097) / 2) });
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

describe("the host's memory against what a run holds", () => {
  const slabBytes = { TCP: 2368, sock_inode_cache: 832, filp: 192, dentry: 192, eventpoll_epi: 128, nf_conntrack: 256, tw_sock_TCP: 256 };

  it('a held connection is both ends of slab objects and one conntrack entry; a TIME_WAIT socket its own and its entry', () => {
    expect(connectionBytes(slabBytes)).toEqual({ held: 2 * (2368 + 832 + 192 + 192 + 128) + 256, timeWait: 512 });
    expect(connectionBytes({ TCP: 2368 })).toBeNull();
  });

  it('says how many connections the available memory holds, and whether the clients could reach that first', () => {
    const env = { ...ASSUMED_ENVIRONMENT, hostMemory: { availableKb: 23_000_000, slabBytes } };
    const room = Math.floor((23_000_000 * 1024) / 7_680);
    expect(memoryLine(env, { min: 1_032_192, max: 1_032_192 })).toMatch(
      new RegExp(`holds about ${room.toLocaleString('en-US')}: does not bind$`),
    );
    expect(memoryLine(env, { min: room + 1, max: room + 1 })).toMatch(/OOM killer ends the process with the largest footprint/);
    expect(memoryLine({ ...env, network: 'overlay' }, { min: 1, max: 1 })).toBeNull();
  });
});
