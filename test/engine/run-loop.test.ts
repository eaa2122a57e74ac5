import { afterEach, describe, expect, it, vi } from 'vitest';
import { EngineError, NofileRefusedError, nofileRefusal } from '../../orchestrator/engine/errors.ts';
import { runExperiment } from '../../orchestrator/engine/run-loop.ts';
import type { ContainerSink, Deployment, RunOptions } from '../../orchestrator/engine/run-record.ts';
import { KEEP_RUN, KEEP_STOPPED, REMOVE_RUN } from '../../orchestrator/engine/run-owner.ts';
import { readyEvent } from '../probe-fixtures.ts';

const line = (event: Record<string, unknown>) => JSON.stringify(event);
const serverReady = line(readyEvent({ role: 'server', t: 1 }));
const clientReady = line(readyEvent({ role: 'client', t: 0 }));
const progress = (role: string, count: number, t: number) => line({ event: 'progress', role, worker: 0, count, t });
const done = (role: string, count: number, errno: string, t: number) =>
  line({ event: 'done', role, worker: 0, count, errno, reason: errno === 'none' ? 'signal' : 'error', t });

type Script = {
  /** What the client prints once it has its go; by default it fills 1,000 ports and stops with EADDRNOTAVAIL. */
  client?: (sink: ContainerSink) => void;
  /** The engine's answer to a ping. */
  answers?: () => boolean;
  /** What removal does. */
  remove?: () => Promise<void>;
};

/**
 * A deployment with no engine behind it: a server and one client whose probes print what the script says, as a
 * real deployment passes their lines to the loop. Records the calls the loop made, in order.
 */
class FakeDeployment implements Deployment {
  readonly containers = { server: 'server', clients: ['client-1'] };
  waitsForGo = (): boolean => true;
  runsApplication = (): boolean => false;
  readonly calls: string[] = [];
  private sink: ContainerSink | undefined;
  private accepted = 0;

  constructor(private readonly script: Script = {}) {}

  async startServer(sink: ContainerSink) {
    this.calls.push('startServer');
    this.sink = sink;
    sink.created('server');
    setTimeout(() => sink.line('server', serverReady), 5);
  }

  async prepareClients(sink: ContainerSink) {
    this.calls.push('prepareClients');
    sink.created('client-1');
    sink.line('client-1', line({ event: 'waiting', role: 'client', t: 0 }));
  }

  async startClients(sink: ContainerSink) {
    this.calls.push('startClients');
    const client = this.script.client ?? ((to: ContainerSink) => this.fill(to, 1000));
    setTimeout(() => client(sink), 5);
  }

  /** The client holds `count` connections and the server accepts them all. */
  fill(sink: ContainerSink, count: number) {
    sink.line('client-1', clientReady);
    sink.line('client-1', progress('client', count / 2, 10));
    this.accepted = count;
    sink.line('server', progress('server', count, 20));
    sink.line('client-1', done('client', count, 'EADDRNOTAVAIL', 30));
  }

  readonly staysUp = true;

  detach() {
    this.calls.push('detach');
  }

  async signalServer(keep = false) {
    this.calls.push(keep ? 'signalServer(keep)' : 'signalServer');
    setTimeout(() => this.sink?.line('server', done('server', this.accepted, 'none', 40)), 5);
  }

  async stopAll() {
    this.calls.push('stopAll');
  }

  async remove() {
    this.calls.push('remove');
    await this.script.remove?.();
  }

  async settle() {}

  async ping() {
    return this.script.answers?.() ?? true;
  }

  describe() {
    return 'the fake engine';
  }

  nodes() {
    return {};
  }
}

const options = (overrides: Partial<RunOptions> = {}): RunOptions => ({
  runId: 'test',
  owner: { host: 'test', pid: 1, started: '1' },
  limitMs: 60_000,
  afterRun: REMOVE_RUN,
  signal: new AbortController().signal,
  onProgress: () => {},
  now: () => Date.now(),
  ...overrides,
});

describe('the run loop, driven by a deployment with no engine', () => {
  it('ready, progress, done: the clients finish, the server is stopped first, then everything is removed', async () => {
    const deployment = new FakeDeployment();
    const { record, removed } = await runExperiment(deployment, options());
    expect(record.endReason).toBe('clients-done');
    expect(record.failedBecause).toBeNull();
    expect(record.observations['client-1']).toMatchObject({ count: 1000, error: 'EADDRNOTAVAIL', finished: true });
    expect(record.observations.server?.count).toBe(1000);
    expect((await removed).cleanupErrors).toEqual([]);
    expect(deployment.calls).toEqual(['prepareClients', 'startServer', 'startClients', 'signalServer', 'remove']);
    const { timeline } = await removed;
    expect(Object.values(timeline).every((at) => at !== null)).toBe(true);
  });

  it('--keep: the server prints its counts and holds on (SIGUSR2), nothing is stopped or removed, the containers are let go', async () => {
    const deployment = new FakeDeployment();
    const { record, removed } = await runExperiment(deployment, options({ afterRun: KEEP_RUN }));
    expect(record.endReason).toBe('clients-done');
    expect(record.observations.server?.count).toBe(1000);
    await removed;
    expect(deployment.calls).toEqual(['prepareClients', 'startServer', 'startClients', 'signalServer(keep)', 'detach']);
  });

  it("a sweep's --keep: the server ends as in any run, every container is stopped and kept, none removed", async () => {
    const deployment = new FakeDeployment();
    const { removed } = await runExperiment(deployment, options({ afterRun: KEEP_STOPPED }));
    await removed;
    expect(deployment.calls).toEqual(['prepareClients', 'startServer', 'startClients', 'signalServer', 'stopAll', 'detach']);
  });

  it('a container that dies mid-run: failed, typed as exited, naming it; what was counted is kept', async () => {
    const deployment = new FakeDeployment({
      client: (sink) => {
        sink.line('client-1', clientReady);
        sink.line('client-1', progress('client', 400, 10));
        sink.exited('client-1', { kind: 'exited', why: 'exit code 137' });
      },
    });
    const { record } = await runExperiment(deployment, options());
    expect(record.endReason).toBe('failed');
    expect(record.failedBecause).toEqual({
      kind: 'exited',
      container: 'client-1',
      cause: 'container client-1 exited while the run was going on (exit code 137)',
    });
    expect(record.failure).toBe(record.failedBecause?.cause);
    expect(record.observations['client-1']?.count).toBe(400);
    expect(deployment.calls).toContain('stopAll');
  });

  it('a client stopped by a signal portlab did not send (docker stop, the engine stopping): failed, not judged as a limit', async () => {
    const deployment = new FakeDeployment({
      client: (sink) => {
        sink.line('client-1', clientReady);
        sink.line('client-1', progress('client', 700, 10));
        sink.line('client-1', done('client', 708, 'none', 20));
      },
    });
    const { record } = await runExperiment(deployment, options());
    expect(record.endReason).toBe('failed');
    expect(record.failedBecause).toEqual({
      kind: 'stopped-outside',
      container: 'client-1',
      cause:
        'container client-1 was stopped from outside the run while it was going on (a signal portlab did not send: docker stop, or its engine stopping)',
    });
    expect(record.observations['client-1']?.count).toBe(708);
  });

  it("a probe that reports a fatal error: failed, typed as the probe's", async () => {
    const deployment = new FakeDeployment({
      client: (sink) => sink.line('client-1', line({ event: 'fatal', message: 'cannot resolve server', errno: 'EAI_AGAIN', t: 1 })),
    });
    const { record } = await runExperiment(deployment, options());
    expect(record.failedBecause).toMatchObject({ kind: 'probe-failed', container: 'client-1' });
    expect(record.failure).toMatch(/^the probe in client-1 failed: cannot resolve server/);
  });

  it('a lost engine: a log stream that ends while the engine does not answer is the engine lost, not the container', async () => {
    let answering = true;
    const deployment = new FakeDeployment({
      answers: () => answering,
      client: (sink) => {
        sink.line('client-1', clientReady);
        answering = false;
        sink.exited('client-1');
      },
    });
    const { record } = await runExperiment(deployment, options());
    expect(record.failedBecause).toEqual({
      kind: 'lost-engine',
      container: null,
      cause: 'lost the fake engine: the log stream of client-1 ended and the engine does not answer',
    });
  });

  it('an engine call that fails once the engine has gone says the engine was lost, with the call', async () => {
    const deployment = new FakeDeployment({ answers: () => false });
    deployment.startClients = async () => {
      throw new EngineError('signalling container client-1', { cause: new Error('socket hang up') });
    };
    const { record } = await runExperiment(deployment, options());
    expect(record.failedBecause).toEqual({
      kind: 'lost-engine',
      container: null,
      cause: 'lost the fake engine: signalling container client-1: socket hang up',
    });
  });

  // runc's words, as Docker 20.10 passes them on (the daemon's hard nofile is below what the container asked for).
  const RUNC_REFUSAL =
    'OCI runtime create failed: container_linux.go:380: starting container process caused: process_linux.go:545: container init caused: error setting rlimit type 7: operation not permitted: unknown';

  it("runc's nofile refusal is typed where it enters: a container the engine would not start, or a swarm task that ended with it", async () => {
    const refusedStart = new FakeDeployment();
    refusedStart.startClients = async () => {
      throw new NofileRefusedError('starting container client-1', { cause: { json: { message: RUNC_REFUSAL } } });
    };
    const started = await runExperiment(refusedStart, options());
    expect(started.record.failedBecause).toEqual({
      kind: 'nofile-refused',
      container: null,
      cause: `starting container client-1: ${RUNC_REFUSAL}`,
    });

    // A swarm's task ends with Docker's words, which the backend reads (nofileRefusal) and passes on typed.
    expect(nofileRefusal(RUNC_REFUSAL)).toBe(true);
    expect(nofileRefusal('task failed, exit code 137')).toBe(false);
    const refusedTask = new FakeDeployment({ client: (sink) => sink.exited('client-1', { kind: 'nofile-refused', why: RUNC_REFUSAL }) });
    const ended = await runExperiment(refusedTask, options());
    expect(ended.record.failedBecause).toMatchObject({ kind: 'nofile-refused', container: 'client-1' });
    expect(ended.record.failure).toContain(RUNC_REFUSAL);
  });

  it('a container whose node was lost ends the run as a lost node, naming it', async () => {
    const why = "its node lab-2 (abc) is down: the swarm's manager lost its engine";
    const lost = new FakeDeployment({ client: (sink) => sink.exited('client-1', { kind: 'lost-node', why }) });
    const { record } = await runExperiment(lost, options());
    expect(record.failedBecause).toMatchObject({ kind: 'lost-node', container: 'client-1' });
    expect(record.failure).toContain(why);
  });

  it('Ctrl-C: interrupted, whatever step the run was at, and still removed', async () => {
    const abort = new AbortController();
    const deployment = new FakeDeployment({
      client: (sink) => {
        sink.line('client-1', clientReady);
        sink.line('client-1', progress('client', 10, 5));
        abort.abort();
      },
    });
    const { record, removed } = await runExperiment(deployment, options({ signal: abort.signal }));
    expect(record.endReason).toBe('interrupted');
    expect(record.failedBecause).toEqual({ kind: 'interrupted', container: null, cause: 'interrupted' });
    expect(record.observations['client-1']?.count).toBe(10);
    await removed;
    expect(deployment.calls.at(-1)).toBe('remove');
  });

  it("a removal that fails: the run and what it measured stand, the failure is the record's cleanup error", async () => {
    const deployment = new FakeDeployment({
      remove: async () => {
        throw new EngineError('cleanup left something behind: portlab-x was still listed 10 s after its removal');
      },
    });
    const { record, removed } = await runExperiment(deployment, options());
    expect(record.endReason).toBe('clients-done');
    const after = await removed;
    expect(after.cleanupErrors).toEqual(['cleanup left something behind: portlab-x was still listed 10 s after its removal']);
    expect(after.observations['client-1']?.count).toBe(1000);
    expect(after.timeline.removed).not.toBeNull();
  });

  describe('on a clock the test holds (fake timers: the loop reads Date.now and sleeps on setTimeout)', () => {
    afterEach(() => {
      vi.useRealTimers();
    });

    /** Moves the clock 10 ms at a time until the run is over: no real time passes, so no load can make it race. */
    async function onHeldClock<T>(run: () => Promise<T>): Promise<T> {
      vi.useFakeTimers();
      let over = false;
      const running = run().finally(() => {
        over = true;
      });
      while (!over) await vi.advanceTimersByTimeAsync(10);
      return running;
    }

    it('the time limit: a client still going is stopped, its last lines read, and the run ends as duration', async () => {
      const deployment = new FakeDeployment({
        client: (sink) => {
          sink.line('client-1', clientReady);
          sink.line('client-1', progress('client', 300, 10));
        },
      });
      const { record } = await onHeldClock(() => runExperiment(deployment, options({ limitMs: 300 })));
      expect(record.endReason).toBe('duration');
      expect(record.failedBecause).toBeNull();
      expect(deployment.calls).toContain('stopAll');
      expect(record.observations['client-1']?.count).toBe(300);
      expect(record.endedAt.getTime() - record.startedAt.getTime()).toBeGreaterThanOrEqual(300);
    });

    it('a hold with no duration of its own is not cut while counts move, and ends as stalled once nothing moves', async () => {
      let timer: NodeJS.Timeout | undefined;
      const moving = new FakeDeployment({
        client: (sink) => {
          sink.line('client-1', clientReady);
          let count = 0;
          // Moves every 50 ms for 600 ms (longer than the stall limit), then stops as a client whose ports ran out does.
          timer = setInterval(() => {
            count += 10;
            sink.line('client-1', progress('client', count, count));
            if (count === 120) {
              clearInterval(timer);
              sink.line('client-1', done('client', count, 'EADDRNOTAVAIL', count));
            }
          }, 50);
        },
      });
      // The server never reports what it accepted: once the client is done only the server's settle ends the run.
      const finished = await onHeldClock(() => runExperiment(moving, options({ limitMs: Number.POSITIVE_INFINITY, stallLimitMs: 400 })));
      expect(finished.record.endReason).toBe('clients-done');
      expect(finished.record.observations['client-1']?.count).toBe(120);

      const stuck = new FakeDeployment({
        client: (sink) => {
          sink.line('client-1', clientReady);
          sink.line('client-1', progress('client', 30, 10));
        },
      });
      const { record } = await onHeldClock(() => runExperiment(stuck, options({ limitMs: Number.POSITIVE_INFINITY, stallLimitMs: 300 })));
      expect(record.endReason).toBe('stalled');
      expect(record.failedBecause).toBeNull();
      expect(record.observations['client-1']?.count).toBe(30);
      expect(stuck.calls).toContain('stopAll');
      // It waited out the stall limit from the last move, and no more than a look (250 ms) past it.
      const waited = record.timeline.clientsDone! - record.timeline.clientsStarted!;
      expect(waited).toBeGreaterThan(300);
      expect(waited).toBeLessThan(300 + 250 + 50);
    });
  });
});
