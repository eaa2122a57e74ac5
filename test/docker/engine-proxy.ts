import { mkdtemp } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

/** An HTTP request line as the Docker client sends it: `POST /v1.41/images/create?fromImage=... HTTP/1.1`. */
const REQUEST_LINE = /^(GET|HEAD|POST|PUT|DELETE) (\S+) HTTP\/1\.[01]\r?$/gm;

/**
 * A Unix socket in front of the Docker socket, as DOCKER_HOST for portlab: `requests` logs every API call that went
 * through it (method and path: an engine that would log a pull); `cut()` closes it and every connection through it,
 * as if the engine went away; with `blackHole` it accepts connections and never answers, as a hung daemon does.
 */
export async function engineProxy(options: { blackHole?: boolean } = {}) {
  const socketPath = path.join(await mkdtemp(path.join(os.tmpdir(), 'portlab-proxy-')), 'docker.sock');
  const open = new Set<net.Socket>();
  const requests: string[] = [];
  const server = net.createServer((client) => {
    open.add(client);
    client.on('close', () => open.delete(client));
    client.on('error', () => client.destroy());
    if (options.blackHole) return;
    const upstream = net.connect('/var/run/docker.sock');
    open.add(upstream);
    upstream.on('close', () => open.delete(upstream));
    upstream.on('error', () => client.destroy());
    client.on('data', (chunk: Buffer) => {
      for (const [, method, target] of chunk.toString('latin1').matchAll(REQUEST_LINE)) requests.push(`${method} ${target}`);
    });
    client.pipe(upstream).pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(socketPath, resolve));
  return {
    dockerHost: `unix://${socketPath}`,
    requests,
    cut: async () => {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const socket of open) socket.destroy();
      });
    },
  };
}
