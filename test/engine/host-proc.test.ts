import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { parseFileNr, parseMemAvailableKb, parseSlabBytes } from '../../orchestrator/engine/local/host-proc.ts';
import { runCli } from '../cli/run-cli.ts';

describe("the host's limits a dry run reads from this machine's /proc", () => {
  it('parses fs.file-nr, MemAvailable and the slab sizes of a connection as the kernel writes them', () => {
    expect(parseFileNr('401679\t0\t2466116\n')).toEqual({ allocated: 401679, max: 2466116 });
    expect(parseFileNr('')).toBeNull();
    expect(parseMemAvailableKb('MemTotal:       24600000 kB\nMemAvailable:   23509000 kB\n')).toBe(23509000);
    expect(parseMemAvailableKb('MemTotal: 1 kB\n')).toBeNull();
    const slabinfo = [
      'slabinfo - version: 2.1',
      '# name            <active_objs> <num_objs> <objsize> <objperslab> <pagesperslab> : tunables ...',
      'TCP                  120    130   2368   13    8 : tunables    0    0    0 : slabdata     10     10      0',
      'tw_sock_TCP           32     32    256   32    2 : tunables    0    0    0 : slabdata      1      1      0',
      'UDP                   40     40   1216   26    8 : tunables    0    0    0 : slabdata      2      2      0',
    ].join('\n');
    expect(parseSlabBytes(slabinfo)).toEqual({ TCP: 2368, tw_sock_TCP: 256 });
    expect(parseSlabBytes('slabinfo - version: 2.1\n')).toBeUndefined();
  });

  it("a dry run on the local engine says it read the host's limits, and predicts with them: file-max and memory beside conntrack", async () => {
    const fileMax = Number((await readFile('/proc/sys/fs/file-nr', 'utf8')).trim().split(/\s+/)[2]);
    const json = JSON.parse((await runCli(['one-million', '--dry-run', '--json'])).stdout);
    expect(json.hostLimits).toMatchObject({ source: 'read', where: "this machine's /proc, where the engine runs" });
    expect(json.hostLimits.files.max).toBe(fileMax);
    const text = (await runCli(['one-million', '--dry-run'])).stdout;
    expect(text.split('\n')[0]).toMatch(
      /^host limits read from this machine's \/proc, where the engine runs: nf_conntrack_max [\d,]+ \([\d,]+ in use\), fs\.file-max /,
    );
    const reasoning = json.plans[0].prediction.reasoning.join('\n');
    expect(reasoning).toContain(`fs.file-max ${fileMax.toLocaleString('en-US')}`);
    // Memory is predicted where the slab sizes can be read (root), and the dry run says so where they cannot.
    const slabReadable = await readFile('/proc/slabinfo', 'utf8').then(
      () => true,
      () => false,
    );
    if (slabReadable) expect(reasoning).toMatch(/kernel memory: about [\d,]+ bytes of slab a held connection/);
    else expect(text).toContain('slab sizes unreadable without root');
  });

  it('an engine elsewhere: the dry run says which limits it assumed, and predicts no file-max or memory', async () => {
    const result = await runCli(['one-million', '--dry-run'], { env: { DOCKER_HOST: 'tcp://192.0.2.1:2375' } });
    expect(result.exitCode).toBe(0);
    expect(result.stdout.split('\n')[0]).toBe(
      'host limits assumed (the Docker engine at tcp://192.0.2.1:2375 is not on this machine; its host is read when a run starts): nf_conntrack_max 262,144 (0 in use); fs.file-max and memory not known, so not predicted',
    );
    expect(result.stdout).not.toContain('fs.file-max 2');
  });
});
