import { describe, expect, it } from 'vitest';
import type { KernelView } from '../../orchestrator/observe/kernel-view.ts';
import type { ContainerObservation } from '../../orchestrator/observe/observation.ts';
import { ASSUMED_ENVIRONMENT } from '../../orchestrator/predict/environment.ts';
import { predict } from '../../orchestrator/predict/predict.ts';
import { parseScenario } from '../../orchestrator/scenario/load-scenario.ts';
import { clientBound, serverBound } from '../../orchestrator/verdict/application-bounds.ts';
import { totalBehindFullQueue } from '../../orchestrator/verdict/judge-applications.ts';
import { judge } from '../../orchestrator/verdict/judge.ts';
import { ProbeLog } from '../../orchestrator/observe/probe-log.ts';
import type { ReadyEvent } from '../../orchestrator/observe/probe-events.ts';
import { readyEvent } from '../probe-fixtures.ts';

const view = (overrides: Partial<KernelView>): KernelView => ({
  role: 'server',
  states: {},
  peakStates: {},
  peakEstablished: 0,
  peakInUse: 0,
  peakAccepted: 0,
  listeners: [{ port: 80, backlog: 511, peakQueue: 0 }],
  app: { processes: 1, peakFds: 10, nofile: 20000 },
  observations: 4,
  series: { t: [], established: [], held: [], queued: [], closing: [], timeWait: [], fds: [] },
  ...overrides,
});

describe('what bound an application server, from the kernel', () => {
  it('its descriptors: all of its nofile in use is the kernel limit server-nofile', () => {
    const bound = serverBound(view({ peakAccepted: 1017, app: { processes: 1, peakFds: 1024, nofile: 1024 } }), 'port-range');
    expect(bound).toMatchObject({ limit: 'server-nofile', by: 'kernel' });
    expect(bound.evidence).toContain('1,024 descriptors, all its nofile 1,024');
  });

  /** A series whose last look has `queued` in the accept queue. */
  const endingWith = (queued: number) => ({
    t: [1, 2],
    established: [0, 0],
    held: [0, 0],
    queued: [0, queued],
    closing: [0, 0],
    timeWait: [0, 0],
    fds: [0, 0],
  });

  it('an accept queue full to the end with descriptors free: it stopped accepting (its own limit), the kernel queued the rest', () => {
    const bound = serverBound(
      view({
        peakAccepted: 512,
        listeners: [{ port: 80, backlog: 511, peakQueue: 512 }],
        app: { processes: 2, peakFds: 520, nofile: 20000 },
        series: endingWith(512),
      }),
      'port-range',
    );
    expect(bound).toEqual({
      limit: 'application',
      by: 'application',
      evidence:
        "the server accepted 512 and then stopped accepting while 19,480 descriptors were free (nofile 20000); the kernel queued 512 more (backlog 80: 511, the listening socket's own) and then dropped SYNs: clients timed out",
    });
  });

  it('a queue that filled and drained again was a pause, not a stop: the connections it closed name its limit', () => {
    // nginx at worker_connections 512 (measured): it stopped accepting for a moment, the queue reached 512, then it
    // took the queue and closed what it had no room for; the probe client got every one of its ports.
    const paused = view({
      peakAccepted: 485,
      listeners: [{ port: 80, backlog: 511, peakQueue: 512 }],
      peakStates: { ESTABLISHED: 485, 'FIN-WAIT-2': 1536 },
      app: { processes: 2, peakFds: 471, nofile: 20000 },
      series: endingWith(0),
    });
    const bound = serverBound(paused, 'port-range', 2000);
    expect(bound).toMatchObject({ limit: 'application', by: 'application' });
    expect(bound.evidence).toContain('closed 1,536 it had accepted');
    expect(totalBehindFullQueue({ server: { kernel: paused } as unknown as ContainerObservation }, [])).toBeNull();
  });

  it('read from the whole run: a queue full until the clients themselves ended (the connections went with it) was a stop', () => {
    // haproxy maxconn 100 against wrk -c500 -d3s (measured): the queue stayed full while wrk ran; when wrk stopped on
    // its own clock, its connections went and the queue with them. A last look alone would see an empty queue.
    const series = {
      t: [1, 2, 3, 4],
      established: [0, 201, 201, 0],
      held: [0, 100, 100, 0],
      queued: [0, 101, 101, 0],
      closing: [0, 0, 0, 0],
      timeWait: [0, 0, 0, 0],
      fds: [0, 0, 0, 0],
    };
    const ended = view({ peakAccepted: 100, listeners: [{ port: 8080, backlog: 100, peakQueue: 101 }], series });
    expect(serverBound(ended, 'port-range')).toMatchObject({ limit: 'application', by: 'application' });
    expect(serverBound(ended, 'port-range').evidence).toContain('the server accepted 100 and then stopped accepting');
    // Seen in CI: wrk had begun closing at the last full look (ESTABLISHED 70, the queued ones waiting in CLOSE-WAIT,
    // 55 still held), and the next look found nothing: the same stop.
    const closing = view({
      peakAccepted: 100,
      listeners: [{ port: 8080, backlog: 100, peakQueue: 101 }],
      series: {
        ...series,
        t: [1, 2, 3, 4, 5],
        established: [0, 201, 201, 70, 0],
        held: [0, 100, 100, 55, 0],
        queued: [0, 101, 101, 101, 0],
        closing: [0, 0, 0, 0, 0],
        timeWait: [0, 0, 0, 0, 0],
        fds: [0, 0, 0, 0, 0],
      },
    });
    expect(serverBound(closing, 'port-range')).toMatchObject({ limit: 'application', by: 'application' });
    // The same queue drained by the server taking it (its connections stayed): a pause, not a stop.
    const taken = view({
      peakAccepted: 201,
      listeners: [{ port: 8080, backlog: 100, peakQueue: 101 }],
      series: { ...series, established: [0, 201, 201, 201], held: [0, 100, 100, 201] },
    });
    expect(serverBound(taken, 'port-range')).toMatchObject({ limit: 'port-range', by: 'kernel' });
  });

  it('an application client whose connects waited in SYN-SENT behind a server that stopped: the server held it back', () => {
    const waiting = view({ role: 'client', peakInUse: 500, peakEstablished: 201, peakStates: { ESTABLISHED: 201, 'SYN-SENT': 299 } });
    const [wrk] = predict(
      parseScenario(
        'server: { image: portlab.invalid/haproxy:2.6, ports: [8080] }\nclients: { name: wrk, image: portlab.invalid/wrk:4.1, sysctls: { net.ipv4.ip_local_port_range: "10000 10999" } }\n',
        't.yml',
        't',
      ),
      ASSUMED_ENVIRONMENT,
    ).clients;
    const bound = clientBound(waiting, wrk!, 1000, undefined, true);
    expect(bound).toMatchObject({ limit: 'application', by: 'application' });
    expect(bound.evidence).toContain('299 of them connects waiting in SYN-SENT: the server had stopped accepting');
    // Without a stopped server the same count is its own.
    expect(clientBound(waiting, wrk!, 1000).evidence).toContain("its own limit (a load tool's connection count, say)");
  });

  it('connections it closed itself with descriptors free: its own connection limit', () => {
    const bound = serverBound(
      view({ peakAccepted: 100, peakStates: { ESTABLISHED: 100, 'FIN-WAIT-2': 900 }, app: { processes: 1, peakFds: 108, nofile: 20000 } }),
      'port-range',
    );
    expect(bound).toMatchObject({ limit: 'application', by: 'application' });
    expect(bound.evidence).toContain('closed 900 it had accepted');
  });

  it('a server that closes past a descriptor limit it set itself, its queue empty: its own limit, not server-nofile', () => {
    // memcached 1.6 with -c 100 (measured): it sets its nofile to 100, accepts every connection and closes each past
    // its room; its queue stayed empty.
    const memcached = view({
      peakAccepted: 75,
      peakStates: { ESTABLISHED: 75, 'FIN-WAIT-2': 925 },
      listeners: [{ port: 11211, backlog: 1024, peakQueue: 0 }],
      app: { processes: 1, peakFds: 99, nofile: 100 },
    });
    const bound = serverBound(memcached, 'port-range', 1000);
    expect(bound).toMatchObject({ limit: 'application', by: 'application' });
    expect(bound.evidence).toContain(
      'closed 925 it had accepted (its side in FIN-WAIT-2), with its accept queue never full (0 queued at most at a look',
    );
    expect(bound.evidence).toContain('99 descriptors of its nofile 100');
    // A look that caught a handshake waiting a moment (the host busy) says the same: the queue never filled.
    const caught = serverBound({ ...memcached, listeners: [{ port: 11211, backlog: 1024, peakQueue: 1 }] }, 'port-range', 1000);
    expect(caught).toMatchObject({ limit: 'application', by: 'application' });
    expect(caught.evidence).toContain('with its accept queue never full (1 queued at most at a look');
  });

  it("all of its nofile in use: a claim about the queue carries the queue's numbers", () => {
    const queued = view({
      peakAccepted: 996,
      listeners: [{ port: 80, backlog: 4096, peakQueue: 4097 }],
      app: { processes: 1, peakFds: 1000, nofile: 1000 },
    });
    expect(serverBound(queued, 'port-range').evidence).toContain('the kernel queued 4,097 more (backlog 80: 4,096)');
    const empty = view({ peakAccepted: 996, app: { processes: 1, peakFds: 1000, nofile: 1000 } });
    expect(serverBound(empty, 'port-range')).toMatchObject({ limit: 'server-nofile', by: 'kernel' });
    expect(serverBound(empty, 'port-range').evidence).toContain('nothing waited in its accept queue (0 at every look');
  });

  it('clients holding more than the server has, none closing there: it reset them (its own limit)', () => {
    const bound = serverBound(view({ peakAccepted: 50, peakEstablished: 50, peakStates: { ESTABLISHED: 50 } }), 'port-range', 1000);
    expect(bound).toMatchObject({ limit: 'application', by: 'application' });
    expect(bound.evidence).toContain("the clients hold 1,000 connections but the server's side had 50 at most");
  });

  it("none of these: it took every connection, and the clients' own limit bound", () => {
    expect(serverBound(view({ peakAccepted: 1000, peakStates: { ESTABLISHED: 1000 } }), 'port-range')).toMatchObject({
      limit: 'port-range',
      by: 'kernel',
    });
  });
});

describe('what bound an application client, from the kernel', () => {
  const scenario = parseScenario(
    'server: { image: portlab.invalid/nginx:1.22, ports: [80] }\nclients: { name: wrk, image: portlab.invalid/wrk:4.1, sysctls: { net.ipv4.ip_local_port_range: "10000 10999" } }\n',
    't.yml',
    't',
  );
  const [prediction] = predict(scenario, ASSUMED_ENVIRONMENT).clients;

  it('is predicted from the kernel alone: the port range, 1,000 ports for the one destination', () => {
    expect(prediction).toMatchObject({ connections: { min: 1000, max: 1000 }, limit: 'port-range', error: { errnos: ['EADDRNOTAVAIL'] } });
    expect(prediction!.reasoning[0]).toContain('wrk-1 runs portlab.invalid/wrk:4.1');
  });

  it('every port in use (ESTABLISHED or TIME_WAIT alike): the port range bound, exactly', () => {
    const bound = clientBound(
      view({ role: 'client', peakInUse: 1000, peakEstablished: 999, peakStates: { ESTABLISHED: 999, 'TIME-WAIT': 1 } }),
      prediction!,
      1000,
    );
    expect(bound).toMatchObject({ limit: 'port-range', by: 'kernel' });
    expect(bound.evidence).toContain('1,000 sockets to the server at once (999 ESTABLISHED at most, 1 TIME-WAIT)');
  });

  it('fewer seen, but it exited saying the errno the port range stops it with: the port range bound, through TIME_WAIT', () => {
    // redis-benchmark -k 0 from 1,000 ports (measured): a new connection per request, closed by the benchmark first;
    // the looks saw 998 ports in TIME-WAIT at most, and it exited 1 with EADDRNOTAVAIL's words.
    const churned = view({ role: 'client', peakInUse: 998, peakEstablished: 10, peakStates: { ESTABLISHED: 10, 'TIME-WAIT': 998 } });
    const end = {
      image: 'portlab.invalid/redis-benchmark:7.0',
      exitCode: 1,
      lastLines: ['Could not connect to Redis at server:6379: Cannot assign requested address'],
    };
    const bound = clientBound(churned, prediction!, 1000, end);
    expect(bound).toMatchObject({ limit: 'port-range', by: 'kernel' });
    expect(bound.evidence).toContain(
      'exited with code 1 saying "Could not connect to Redis at server:6379: Cannot assign requested address" (EADDRNOTAVAIL',
    );
    expect(bound.evidence).toContain('998 TIME-WAIT');
    expect(bound.evidence).toContain('a TIME-WAIT is a connection it closed first');
    // A look that caught every port: the kernel's view says it, and the exit's words stand beside it.
    const caught = clientBound({ ...churned, peakInUse: 1000, peakStates: { ESTABLISHED: 11, 'TIME-WAIT': 1000 } }, prediction!, 1000, end);
    expect(caught).toMatchObject({ limit: 'port-range', by: 'kernel' });
    expect(caught.evidence).toContain("the kernel's view: 1,000 sockets to the server at once");
    expect(caught.evidence).toContain(
      'and it exited with code 1 saying "Could not connect to Redis at server:6379: Cannot assign requested address" (EADDRNOTAVAIL)',
    );
    // The same count with an exit that names no errno of the limit is the application's own.
    const quiet = clientBound(churned, prediction!, 1000, { ...end, lastLines: ['done: 5000 requests'] });
    expect(quiet).toMatchObject({ limit: 'application', by: 'application' });
  });

  it('fewer: the application held back (a load tool asked for fewer connections)', () => {
    expect(clientBound(view({ role: 'client', peakInUse: 500, peakEstablished: 500 }), prediction!, 1000)).toMatchObject({
      limit: 'application',
      by: 'application',
    });
  });
});

describe('a run against an application server that stopped accepting', () => {
  const scenario = parseScenario(
    'server: { image: my-server:1, ports: [80] }\nclients: { count: 1, connectTimeout: 2s, sysctls: { net.ipv4.ip_local_port_range: "10000 11999" } }\n',
    't.yml',
    't',
  );
  const prediction = predict(scenario, ASSUMED_ENVIRONMENT);
  const ready = (role: 'server' | 'client', extra: Partial<ReadyEvent> = {}) =>
    readyEvent({ role, t: 1, portRange: { low: 10000, high: 11999 }, fdBudget: -1, ...extra });
  const server = new ProbeLog('server');
  server.addLine(JSON.stringify(ready('server', { observed: [{ pid: 1, name: 'app', fds: 40, nofile: 20000 }] })));
  server.addLine(
    JSON.stringify({
      event: 'observe',
      role: 'server',
      t: 900,
      ports: { '80': { ESTABLISHED: 612, 'SYN-RECV': 0 } },
      held: 100,
      listeners: [{ port: 80, backlog: 511, queue: 512 }],
      sockets: 613,
      processes: [{ pid: 1, name: 'app', fds: 110, nofile: 20000 }],
    }),
  );
  const client = new ProbeLog('client-1');
  client.addLine(JSON.stringify(ready('client')));
  client.addLine(JSON.stringify({ event: 'done', role: 'client', worker: 0, count: 612, errno: 'ETIMEDOUT', reason: 'error', t: 2500 }));
  const judgement = judge(prediction, { ...server.snapshots(), ...client.snapshots() }, 0);

  it('names the application: it accepted 100, the kernel queued 512 more, clients timed out; with no expect:, measured', () => {
    expect(judgement.server).toMatchObject({ observed: 100, verdict: 'measured', bound: { limit: 'application', by: 'application' } });
    expect(judgement.server.why).toMatch(/^measured, not judged \(the scenario states no expect: for it\): 100 accepted at most at once/);
    expect(judgement.server.bound?.evidence).toBe(
      "the server accepted 100 and then stopped accepting while 19,890 descriptors were free (nofile 20000); the kernel queued 512 more (backlog 80: 511, the listening socket's own) and then dropped SYNs: clients timed out",
    );
  });

  it('passes the probe client that stopped below its own limit with ETIMEDOUT: the server bound first', () => {
    expect(judgement.clients[0]).toMatchObject({
      observed: 612,
      observedError: 'ETIMEDOUT',
      verdict: 'pass',
      bound: { limit: 'application' },
    });
    expect(judgement.verdict).toBe('pass');
    // The kernel's view makes the clients' total exact: what the server accepted plus what the kernel queued.
    expect(judgement.total).toMatchObject({ allowed: { min: 612, max: 612 }, observed: 612, verdict: 'pass' });
    expect(judgement.total.why).toBe(
      "612 = 100 accepted + 512 queued by the kernel, which the kernel's view makes exact (every further SYN is dropped)",
    );
  });

  it('fails a count past the kernel: an application server cannot accept more than the clients can make', () => {
    const past = new ProbeLog('server');
    past.addLine(JSON.stringify(ready('server', { observed: [] })));
    past.addLine(
      JSON.stringify({
        event: 'observe',
        role: 'server',
        t: 9,
        ports: { '80': { ESTABLISHED: 2500 } },
        held: 2500,
        listeners: [],
        sockets: 1,
        processes: [],
      }),
    );
    expect(judge(prediction, { ...past.snapshots(), ...client.snapshots() }, 0).server.verdict).toBe('fail');
  });

  /** The same run judged against what a scenario of the same software states it holds. */
  const judgedWith = (expect: string, clients = client) => {
    const stated = parseScenario(
      `server: { image: my-server:1, ports: [80], expect: ${expect} }\nclients: { count: 1, connectTimeout: 2s, sysctls: { net.ipv4.ip_local_port_range: "10000 11999" } }\n`,
      't.yml',
      't',
    );
    return judge(predict(stated, ASSUMED_ENVIRONMENT), { ...server.snapshots(), ...clients.snapshots() }, 0);
  };

  it('holds as stated: the server passes, and the total follows from it and the queue by the kernel rule (backlog + 1)', () => {
    const stated = judgedWith('{ holds: 100, bound: application }');
    expect(stated.server).toMatchObject({ observed: 100, allowed: { min: 100, max: 100 }, verdict: 'pass' });
    expect(stated.server.why).toMatch(/^100 accepted at most at once, as expected \(expect\.holds 100\); application bound, as expected; /);
    expect(stated.total).toMatchObject({
      predicted: { min: 612, max: 612 },
      allowed: { min: 612, max: 612 },
      observed: 612,
      verdict: 'pass',
    });
    expect(stated.total.why).toContain('612 = 100 held (expect.holds) + 512 the kernel queues (backlog + 1 per full listening socket)');
    expect(stated.verdict).toBe('pass');
  });

  it('a wrong expectation fails, naming both numbers; the total it implies fails too', () => {
    const wrong = judgedWith('{ holds: 80 }');
    expect(wrong.server.verdict).toBe('fail');
    expect(wrong.server.why).toMatch(/^100 accepted at most at once, but the scenario expects 80 \(expect\.holds\)/);
    expect(wrong.total).toMatchObject({ allowed: { min: 592, max: 592 }, observed: 612, verdict: 'fail' });
    expect(wrong.verdict).toBe('fail');
    // An interval that holds the count passes; the limit it expects to bind is judged too.
    expect(judgedWith('{ holds: { atLeast: 90, atMost: 110 } }').server.verdict).toBe('pass');
    const bound = judgedWith('{ holds: 100, bound: port-range }').server;
    expect([bound.verdict, bound.why]).toEqual([
      'fail',
      expect.stringContaining('application bound, but the scenario expects port-range (expect.bound)'),
    ]);
  });

  it('a probe client held back by the full queue must time out: any other stop below its own limit fails', () => {
    const refused = new ProbeLog('client-1');
    refused.addLine(JSON.stringify(ready('client')));
    refused.addLine(
      JSON.stringify({ event: 'done', role: 'client', worker: 0, count: 612, errno: 'ECONNREFUSED', reason: 'error', t: 2500 }),
    );
    const judged = judgedWith('{ holds: 100 }', refused).clients[0]!;
    expect(judged).toMatchObject({ verdict: 'fail', predictedError: { errnos: ['ETIMEDOUT'] } });
    expect(judged.why).toContain('stopped with ECONNREFUSED; behind a full accept queue its next connect() times out (ETIMEDOUT)');
  });
});
