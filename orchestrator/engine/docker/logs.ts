import { PassThrough } from 'node:stream';
import { EngineError } from '../errors.ts';
import { debug, type ClientContext } from './call.ts';

/** Log streams: a container's from its start, a service's from every task on every node. */
export class Logs {
  constructor(private readonly context: ClientContext) {}

  /**
   * Follows a container's output from its start, calling `onLine` with each complete stdout line; resolves when the
   * container's output ends (it exited). stderr lines go to `onStderr`.
   */
  async followContainer(
    id: string,
    name: string,
    onLine: (line: string) => void,
    onStderr: (line: string) => void = () => {},
    detach?: AbortSignal,
  ): Promise<void> {
    let stream: NodeJS.ReadableStream;
    try {
      stream = await this.context.api.getContainer(id).logs({ follow: true, stdout: true, stderr: true, timestamps: false });
    } catch (error) {
      throw new EngineError(`following the logs of ${name}`, { cause: error });
    }
    const stdout = new PassThrough();
    const stderr = new PassThrough();
    this.context.api.modem.demuxStream(stream, stdout, stderr);
    stdout.on('data', lineSplitter(onLine));
    stderr.on('data', lineSplitter(onStderr));
    await new Promise<void>((resolve, reject) => {
      stream.on('end', resolve);
      stream.on('close', resolve);
      // Detached (a kept run goes on without portlab): the stream is let go of, the container is left running.
      const letGo = () => {
        (stream as NodeJS.ReadableStream & { destroy?: () => void }).destroy?.();
        resolve();
      };
      if (detach?.aborted) letGo();
      detach?.addEventListener('abort', letGo, { once: true });
      stream.on('error', (error) => reject(new EngineError(`reading the logs of ${name}`, { cause: error })));
    });
  }

  /**
   * Follows a service's output through the swarm's log API, from every task on every node: `onLine(taskId, line)`
   * for each complete stdout line. Returns a function that stops following. The stream does not end when a task
   * does: the swarm's task states tell that.
   */
  async followService(id: string, name: string, onLine: (task: string, line: string) => void): Promise<() => void> {
    const abort = new AbortController();
    let stream: NodeJS.ReadableStream;
    try {
      stream = await this.context.api
        .getService(id)
        .logs({ follow: true, stdout: true, stderr: false, details: true, abortSignal: abort.signal });
    } catch (error) {
      throw new EngineError(`following the logs of service ${name}`, { cause: error });
    }
    const stdout = new PassThrough();
    this.context.api.modem.demuxStream(stream, stdout, new PassThrough());
    stdout.on(
      'data',
      lineSplitter((line) => {
        const parsed = taskLine(line);
        if (parsed) onLine(parsed.task, parsed.text);
      }),
    );
    stream.on('error', (error) => debug('log stream of service %s: %s', name, error));
    return () => {
      abort.abort();
      (stream as NodeJS.ReadableStream & { destroy?: () => void }).destroy?.();
    };
  }

  /** What a finished service printed on stdout, per task (its lines, in order). */
  async serviceOutput(id: string, name: string): Promise<Map<string, string[]>> {
    return this.context.call(
      `the output of service ${name}`,
      async (abortSignal) => {
        const raw = await this.context.api.getService(id).logs({ follow: false, stdout: true, stderr: false, details: true, abortSignal });
        const byTask = new Map<string, string[]>();
        for (const line of demuxBuffer(Buffer.from(raw)).split('\n')) {
          const parsed = taskLine(line);
          if (parsed) byTask.set(parsed.task, [...(byTask.get(parsed.task) ?? []), parsed.text]);
        }
        return byTask;
      },
      (error) => {
        throw new EngineError(`reading the output of service ${name}`, { cause: error });
      },
    );
  }
}

/** Cuts a stream's chunks into complete lines (the last, partial one waits for the next chunk); empty lines are dropped. */
function lineSplitter(sink: (line: string) => void): (chunk: Buffer) => void {
  let rest = '';
  return (chunk) => {
    rest += chunk.toString('utf8');
    const parts = rest.split('\n');
    rest = parts.pop() ?? '';
    for (const part of parts) if (part) sink(part);
  };
}

/**
 * A line of a service's logs with details: "<attributes> <text>", the attributes naming the task
 * (com.docker.swarm.node.id=...,...task.id=<id>).
 */
export function taskLine(line: string): { task: string; text: string } | null {
  const space = line.indexOf(' ');
  if (space < 0) return null;
  const task = /com\.docker\.swarm\.task\.id=([a-z0-9]+)/.exec(line.slice(0, space))?.[1];
  const text = line.slice(space + 1);
  return task && text ? { task, text } : null;
}

/** Non-follow logs of a container without a TTY come as one multiplexed buffer: 8-byte frame headers. */
export function demuxBuffer(buffer: Buffer): string {
  let out = '';
  for (let at = 0; at + 8 <= buffer.length;) {
    const size = buffer.readUInt32BE(at + 4);
    if (buffer[at] === 1) out += buffer.subarray(at + 8, at + 8 + size).toString('utf8');
    at += 8 + size;
  }
  return out;
}
