import http from 'node:http';
import { inspectionMetrics } from '../report/inspect-metrics.ts';
import type { Headroom } from '../predict/inspection-schema.ts';
import type { Inspected } from '../engine/local/inspect-container.ts';

/** An address `--serve` cannot listen on (taken, not this machine's, a port below 1024 without root): exit 2. */
export class ServeAddressError extends Error {
  override name = 'ServeAddressError';
}

export type ServeAddress = { host: string; port: number };

/** "127.0.0.1:9798", "[::1]:9798", ":9798" (every address), "9798" (the same): a host and a port from 1 to 65535. */
export function parseServeAddress(text: string): ServeAddress {
  const match = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]]*)):(\d+)$|^(\d+)$/.exec(text);
  const port = Number(match?.[3] ?? match?.[4]);
  if (!match || !Number.isInteger(port) || port < 1 || port > 65535)
    throw new Error(`--serve takes HOST:PORT, [IPV6]:PORT or :PORT (a port from 1 to 65535), found ${JSON.stringify(text)}`);
  return { host: match[1] ?? (match[2] || '::'), port };
}

const hostText = ({ host, port }: ServeAddress) => `${host.includes(':') ? `[${host}]` : host}:${port}`;

/**
 * Serves each look as Prometheus's text format at /metrics until `signal` aborts: a look per scrape (scrapes that
 * come while one is taken share it), so what Prometheus stores is what the kernel held when it asked. A look that
 * fails (the container stopped, the process ended) answers 503 with one line, said once on stderr too; the next
 * scrape tries again.
 */
export async function serveInspections(
  address: ServeAddress,
  take: () => Promise<{ inspected: Inspected; room: Headroom }>,
  top: number,
  signal: AbortSignal,
  onStatus: (message: string) => void,
): Promise<void> {
  let inFlight: Promise<string> | null = null;
  let lastFailure = '';
  const scrape = () =>
    (inFlight ??= (async () => {
      const started = performance.now();
      const { inspected, room } = await take();
      return inspectionMetrics({
        target: inspected.target,
        look: inspected.look,
        room,
        top,
        lookSeconds: (performance.now() - started) / 1000,
      });
    })().finally(() => (inFlight = null)));
  const server = http.createServer((request, response) => {
    const path = (request.url ?? '/').split('?')[0];
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      response.writeHead(405, { allow: 'GET, HEAD' }).end();
    } else if (path === '/metrics') {
      scrape().then(
        (text) => {
          lastFailure = '';
          response.writeHead(200, { 'content-type': 'text/plain; version=0.0.4; charset=utf-8' }).end(text);
        },
        (error: Error) => {
          if (error.message !== lastFailure) onStatus(`portlab inspect: a scrape's look failed: ${error.message}`);
          lastFailure = error.message;
          response.writeHead(503, { 'content-type': 'text/plain; charset=utf-8' }).end(`${error.message}\n`);
        },
      );
    } else if (path === '/') {
      response.writeHead(200, { 'content-type': 'text/plain; charset=utf-8' }).end('portlab inspect: the metrics are at /metrics\n');
    } else {
      response.writeHead(404).end();
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) => {
      const why =
        error.code === 'EADDRINUSE'
          ? 'the address is in use'
          : error.code === 'EADDRNOTAVAIL'
            ? 'the address is not one of this machine'
            : error.code === 'EACCES'
              ? 'a port below 1024 needs root'
              : error.message;
      reject(new ServeAddressError(`--serve cannot listen on ${hostText(address)}: ${why}`));
    });
    server.listen(address.port, address.host, resolve);
  });
  onStatus(`serving the metrics at http://${hostText(address)}/metrics (Ctrl-C stops)`);
  if (!signal.aborted) await new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
}
