import { describe, expect, it } from 'vitest';
import { ProbeLog } from '../../orchestrator/observe/probe-log.ts';
import { backlogText, listenersByPort } from '../../orchestrator/observe/kernel-view.ts';
import { readyEvent } from '../probe-fixtures.ts';

const ready = (role: 'server' | 'client') =>
  JSON.stringify(
    readyEvent({
      role,
      portRange: { low: 10000, high: 10999 },
      boundPorts: [80],
      fdBudget: -1,
      observed: [{ pid: 1, name: 'nginx', fds: 9, nofile: 20000 }],
    }),
  );
const observe = (role: 'server' | 'client', t: number, states: Record<string, number>, held: number, queue = 0, fds = 9) =>
  JSON.stringify({
    event: 'observe',
    role,
    t,
    ports: { '80': states },
    held,
    listeners: role === 'server' ? [{ port: 80, backlog: 511, queue }] : [],
    sockets: 1,
    processes: [
      { pid: 1, name: 'nginx', fds: 4, nofile: 20000 },
      { pid: 7, name: 'nginx', fds, nofile: 20000 },
    ],
  });

describe("an application's observer lines: the kernel's view", () => {
  it('a server counts what the application accepted: the sockets it holds, counted in the same dump as their states', () => {
    const log = new ProbeLog('server');
    log.addLine(ready('server'));
    log.addLine(observe('server', 250, { ESTABLISHED: 700 }, 500, 200, 507));
    // Under load the listener's queue is read before the connections that just joined it: ESTABLISHED less the
    // queue would say 623 accepted; the application holds 511.
    log.addLine(observe('server', 500, { ESTABLISHED: 1023, 'FIN-WAIT-2': 3 }, 511, 400, 518));
    const server = log.snapshots().server!;
    expect(log.observed()).toBe(true);
    expect(server.count).toBe(511);
    expect(server.kernel?.series).toMatchObject({ established: [700, 1023], held: [500, 511], queued: [200, 400] });
    expect(server.kernel).toMatchObject({
      role: 'server',
      peakEstablished: 1023,
      peakAccepted: 511,
      peakInUse: 1026,
      listeners: [{ port: 80, backlog: 511, peakQueue: 400 }],
      app: { processes: 2, peakFds: 518, nofile: 20000 },
      observations: 2,
    });
  });

  it('a client counts the local ports it holds for the server, in any state, at most at once; it finishes when it exits', () => {
    const log = new ProbeLog('wrk-1');
    log.addLine(ready('client'));
    log.addLine(observe('client', 250, { ESTABLISHED: 990, 'SYN-SENT': 4 }, 994));
    log.addLine(observe('client', 500, { ESTABLISHED: 999, 'TIME-WAIT': 1 }, 999));
    log.addLine(observe('client', 750, { ESTABLISHED: 10 }, 10));
    expect(log.finished()).toBe(false);
    log.applicationExited();
    const client = log.snapshots()['wrk-1']!;
    expect(client).toMatchObject({ count: 1000, finished: true });
    expect(client.kernel).toMatchObject({ peakEstablished: 999, peakInUse: 1000, states: { ESTABLISHED: 10 } });
    expect(client.workers[0]?.stoppedAtMs).toBe(750);
  });

  it("the probe's own lines carry no kernel view", () => {
    const log = new ProbeLog('client-1');
    log.addLine(JSON.stringify({ ...JSON.parse(ready('client')), observed: undefined }));
    expect(log.observed()).toBe(false);
    expect(log.snapshots()['client-1']?.kernel).toBeUndefined();
  });
});

describe('an application client that exits before its observer is heard', () => {
  it('is finished only once its observer has said what it saw (its ready line), so nothing it saw is lost', () => {
    const log = new ProbeLog('wrk-1');
    log.applicationExited();
    expect(log.finished()).toBe(false);
    log.addLine(ready('client'));
    expect(log.finished()).toBe(true);
  });
});

describe('listening sockets by port, as a person reads them', () => {
  it("a dual-stack application's two sockets on one port are one entry: its backlog, two sockets, their queues together", () => {
    const entries = listenersByPort([
      { port: 6379, backlog: 511, peakQueue: 3 },
      { port: 6379, backlog: 511, peakQueue: 2 },
      { port: 8080, backlog: 100, peakQueue: 101 },
    ]);
    expect(entries).toEqual([
      { port: 6379, sockets: 2, backlogs: [511], peakQueue: 5 },
      { port: 8080, sockets: 1, backlogs: [100], peakQueue: 101 },
    ]);
    expect(entries.map((entry) => backlogText(entry, String))).toEqual(['511 (2 sockets)', '100']);
  });
});
