import { describe, expect, it } from 'vitest';
import { ASSUMED_ENVIRONMENT } from '../../orchestrator/predict/environment.ts';
import { filesLine } from '../../orchestrator/predict/host-limits.ts';

describe("the host's open files against what a run holds", () => {
  const env = { ...ASSUMED_ENVIRONMENT, hostFiles: { allocated: 1_116, max: 2_466_116 } };

  it('counts two files a connection on one host, and says when they leave room', () => {
    expect(filesLine(env, { min: 56_462, max: 56_462 })).toBe(
      "fs.file-max 2,466,116, 1,116 allocated at preflight: room for 1,232,500 connections at two files each (both ends are files of this host's kernel): does not bind",
    );
  });

  it('says when the clients could reach it first (ENFILE), not yet as a predicted count', () => {
    expect(filesLine(env, { min: 1_300_000, max: 1_300_000 })).toMatch(
      /room for 1,232,500 connections .*: the clients' 1,300,000 could reach it first, and socket\(\) or accept\(\) would fail with ENFILE/,
    );
  });

  it('says nothing when the files were not read, or the ends are on different kernels (a swarm)', () => {
    expect(filesLine(ASSUMED_ENVIRONMENT, { min: 1, max: 1 })).toBeNull();
    expect(filesLine({ ...env, network: 'overlay' }, { min: 1, max: 1 })).toBeNull();
  });
});
