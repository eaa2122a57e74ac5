import { describe, expect, it } from 'vitest';
import { ContainerLog } from '../../orchestrator/observe/observation.ts';
import { MAX_SERIES_POINTS } from '../../orchestrator/observe/series.ts';
import { ProbeLog } from '../../orchestrator/observe/probe-log.ts';
import { parseProbeLine } from '../../orchestrator/observe/probe-events.ts';

const READY_CLIENT =
  '{"event":"ready","role":"client","t":10,"nofile":{"soft":20000,"hard":20000},"fdsOpen":3,"portRange":{"low":40000,"high":40999},' +
  '"boundPorts":[42007],"reservedPorts":"","somaxconn":4096,"sysctls":{"net.ipv4.tcp_tw_reuse":"2","net.ipv4.tcp_timestamps":"1",' +
  '"net.ipv4.tcp_fin_timeout":"60"},"processes":2,"fdBudget":100000,"server":"172.18.0.2","targets":2}';

const line = (event: Record<string, unknown>) => JSON.stringify(event);

describe('parseProbeLine', () => {
  it('reads a ready line exactly as the probe prints it', () => {
    const parsed = parseProbeLine(READY_CLIENT);
    expect(parsed.ok).toBe(true);
    if (parsed.ok && parsed.event.event === 'ready') {
      expect(parsed.event.boundPorts).toEqual([42007]);
      expect(parsed.event.portRange).toEqual({ low: 40000, high: 40999 });
    }
  });

  it('keeps lines that are not probe events without guessing at them', () => {
    expect(parseProbeLine('Segmentation fault')).toEqual({ ok: false, line: 'Segmentation fault', reason: 'not JSON' });
    expect(parseProbeLine('{"event":"hello"}')).toMatchObject({ ok: false, line: '{"event":"hello"}' });
    expect(parseProbeLine('{"event":"done","worker":0}')).toMatchObject({ ok: false });
  });
});

describe('ContainerLog', () => {
  it('sums the workers of a client and takes the errno they stopped with', () => {
    const log = new ContainerLog('client-1');
    log.addLine(READY_CLIENT);
    log.addLine(line({ event: 'worker', role: 'client', worker: 0, pid: 7, budget: 19997, t: 11 }));
    log.addLine(line({ event: 'worker', role: 'client', worker: 1, pid: 8, budget: 19997, t: 11 }));
    log.addLine(line({ event: 'progress', role: 'client', worker: 0, count: 500, t: 1011 }));
    expect(log.snapshot()).toMatchObject({ count: 500, finished: false, error: null });
    log.addLine(line({ event: 'done', role: 'client', worker: 1, count: 1127, errno: 'EADDRNOTAVAIL', reason: 'error', t: 1121 }));
    log.addLine(line({ event: 'done', role: 'client', worker: 0, count: 872, errno: 'EADDRNOTAVAIL', reason: 'error', t: 1122 }));
    expect(log.snapshot()).toMatchObject({
      name: 'client-1',
      count: 1999,
      finished: true,
      error: 'EADDRNOTAVAIL',
      errors: { EADDRNOTAVAIL: 2 },
      workers: [
        { worker: 0, budget: 19997, count: 872, errno: 'EADDRNOTAVAIL', stoppedAtMs: 1122 },
        { worker: 1, budget: 19997, count: 1127, errno: 'EADDRNOTAVAIL', stoppedAtMs: 1121 },
      ],
    });
  });

  it('workers taking turns: a hand-off is not the end, the last worker decides the count and the errno', () => {
    const log = new ContainerLog('client-1');
    log.addLine(READY_CLIENT.replace('"targets":2}', '"targets":2,"handoff":true}'));
    log.addLine(line({ event: 'worker', role: 'client', worker: 0, pid: 7, budget: 19997, t: 11 }));
    log.addLine(line({ event: 'done', role: 'client', worker: 0, count: 19997, errno: 'EMFILE', reason: 'handoff', t: 5000 }));
    expect(log.snapshot()).toMatchObject({ finished: false, error: null, count: 19997 });
    log.addLine(line({ event: 'worker', role: 'client', worker: 1, pid: 8, budget: 19997, t: 5001 }));
    expect(log.snapshot().finished).toBe(false);
    log.addLine(line({ event: 'done', role: 'client', worker: 1, count: 8234, errno: 'EADDRNOTAVAIL', reason: 'error', t: 9000 }));
    // Worker 1 ran out of ports: later workers never start, and the container is done.
    expect(log.snapshot()).toMatchObject({ finished: true, error: 'EADDRNOTAVAIL', count: 28231, errors: { EMFILE: 1, EADDRNOTAVAIL: 1 } });
  });

  it('workers taking turns: the last worker running out of descriptors is the nofile limit', () => {
    const log = new ContainerLog('client-1');
    log.addLine(READY_CLIENT.replace('"targets":2}', '"targets":2,"handoff":true}'));
    log.addLine(line({ event: 'done', role: 'client', worker: 0, count: 19997, errno: 'EMFILE', reason: 'handoff', t: 5000 }));
    log.addLine(line({ event: 'done', role: 'client', worker: 1, count: 10000, errno: 'EMFILE', reason: 'error', t: 7000 }));
    expect(log.snapshot()).toMatchObject({ finished: true, error: 'EMFILE', count: 29997 });
  });

  it('is not finished until every worker the probe announced has stopped', () => {
    const log = new ContainerLog('client-1');
    log.addLine(READY_CLIENT);
    log.addLine(line({ event: 'done', role: 'client', worker: 0, count: 10, errno: 'EADDRNOTAVAIL', t: 5 }));
    expect(log.snapshot().finished).toBe(false);
  });

  it('breaks a tie between errnos in favour of the worker that stopped last', () => {
    const log = new ContainerLog('client-1');
    log.addLine(READY_CLIENT);
    log.addLine(line({ event: 'done', role: 'client', worker: 0, count: 19997, errno: 'EMFILE', t: 5 }));
    log.addLine(line({ event: 'done', role: 'client', worker: 1, count: 3, errno: 'EADDRNOTAVAIL', t: 6 }));
    expect(log.snapshot().error).toBe('EADDRNOTAVAIL');
  });

  it('a server worker that ran out of descriptors keeps the EMFILE of its limit line through its final done', () => {
    const log = new ContainerLog('server');
    log.addLine(line({ event: 'limit', role: 'server', worker: 0, count: 996, errno: 'EMFILE', t: 900 }));
    log.addLine(line({ event: 'done', role: 'server', worker: 0, count: 996, errno: 'EMFILE', t: 9000 }));
    log.addLine(line({ event: 'done', role: 'server', worker: 1, count: 50, errno: 'none', t: 9001 }));
    const snapshot = log.snapshot();
    expect(snapshot.count).toBe(1046);
    expect(snapshot.workers[0]).toEqual({ worker: 0, budget: null, count: 996, errno: 'EMFILE', stoppedAtMs: 900 });
    expect(snapshot.workers[1]).toEqual({ worker: 1, budget: null, count: 50, errno: null, stoppedAtMs: null });
    expect(snapshot.error).toBe('EMFILE');
  });

  it('records fatal lines and keeps up to 20 unparsed ones', () => {
    const log = new ContainerLog('client-1');
    log.addLine(line({ event: 'fatal', message: "cannot resolve the server's name", errno: 'EHOSTUNREACH', t: 2029 }));
    for (let index = 0; index < 25; index += 1) log.addLine(`noise ${index}`);
    const snapshot = log.snapshot();
    expect(snapshot.fatal).toEqual(["cannot resolve the server's name (EHOSTUNREACH)"]);
    expect(snapshot.unparsed).toHaveLength(20);
    expect(snapshot.unparsed[0]).toBe('noise 0');
  });
});

describe('ProbeLog', () => {
  it("keeps a phased client's phases apart and is finished when the last phase is", () => {
    const log = new ProbeLog('client-1');
    log.addLine(READY_CLIENT.replace('"processes":2', '"processes":1').replace('"targets":2}', '"targets":2,"phases":2}'));
    log.addLine(line({ event: 'worker', role: 'client', worker: 0, pid: 7, budget: 19997, t: 11 }));
    log.addLine(
      line({
        event: 'done',
        role: 'client',
        worker: 0,
        count: 1000,
        errno: 'EADDRNOTAVAIL',
        reason: 'error',
        timeWait: 1000,
        t: 2195,
        phase: 1,
      }),
    );
    expect(log.finished()).toBe(false);
    log.addLine(
      line({
        event: 'done',
        role: 'client',
        worker: 0,
        count: 1000,
        errno: 'EADDRNOTAVAIL',
        reason: 'error',
        timeWait: 1000,
        t: 2434,
        phase: 2,
      }),
    );
    expect(log.finished()).toBe(true);
    const snapshots = log.snapshots();
    expect(Object.keys(snapshots)).toEqual(['client-1', 'client-1/phase-1', 'client-1/phase-2']);
    expect(snapshots['client-1/phase-2']).toMatchObject({ count: 1000, error: 'EADDRNOTAVAIL', finished: true, timeWait: 1000 });
    expect(snapshots['client-1/phase-2']?.ready?.portRange).toEqual({ low: 40000, high: 40999 });
    expect(log.counted().map((observation) => observation.count)).toEqual([1000, 1000]);
  });

  it("without phases it is the container's own log", () => {
    const log = new ProbeLog('client-1');
    log.addLine(READY_CLIENT);
    log.addLine(line({ event: 'done', role: 'client', worker: 0, count: 10, errno: 'EADDRNOTAVAIL', t: 5 }));
    log.addLine(line({ event: 'done', role: 'client', worker: 1, count: 12, errno: 'EADDRNOTAVAIL', t: 6 }));
    expect(log.finished()).toBe(true);
    expect(Object.keys(log.snapshots())).toEqual(['client-1']);
    expect(log.counted()[0]?.count).toBe(22);
  });
});

describe('a long run in memory', () => {
  it('keeps at most a few times the points a result stores, and stores the same last count and span', () => {
    const log = new ContainerLog('client-1');
    log.addLine(READY_CLIENT);
    log.addLine(line({ event: 'worker', role: 'client', worker: 0, pid: 7, budget: 19997, t: 11 }));
    // An hour of reports every 10 ms.
    for (let t = 20; t <= 3_600_000; t += 10)
      log.addLine(line({ event: 'progress', role: 'client', worker: 0, count: Math.floor(t / 100), t }));
    const held = (log as unknown as { points: unknown[] }).points;
    const series = log.series();
    expect(series.t.length).toBeLessThanOrEqual(MAX_SERIES_POINTS);
    expect(series.t.at(-1)).toBe(3_600_000);
    expect(series.count.at(-1)).toBe(36_000);
    expect(series.t[0]).toBeLessThanOrEqual(20);
    expect(held.length).toBeLessThanOrEqual(4 * MAX_SERIES_POINTS + 1);
  });
});
