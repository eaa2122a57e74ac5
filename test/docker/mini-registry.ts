import { createHash, randomUUID } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * The smallest Docker registry (distribution API v2) a daemon pushes to and pulls from: blobs and manifests kept
 * in memory, no auth. Docker treats 127.0.0.0/8 as an insecure registry, so plain HTTP on a loopback port works.
 * `pushed` lists the manifests it received, as "<name>:<reference>".
 */
export async function startMiniRegistry() {
  const blobs = new Map<string, Buffer>();
  const manifests = new Map<string, { body: Buffer; type: string; digest: string }>();
  const uploads = new Map<string, Buffer[]>();
  const pushed: string[] = [];
  const digestOf = (data: Buffer) => `sha256:${createHash('sha256').update(data).digest('hex')}`;

  const server = http.createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const body = Buffer.concat(chunks);
      const url = new URL(request.url ?? '/', 'http://registry');
      const send = (status: number, headers: Record<string, string> = {}, data?: Buffer) => {
        response.writeHead(status, {
          'Docker-Distribution-API-Version': 'registry/2.0',
          'Content-Length': String(data?.length ?? 0),
          ...headers,
        });
        response.end(request.method === 'HEAD' ? undefined : data);
      };
      if (url.pathname === '/v2/' || url.pathname === '/v2') return send(200, { 'Content-Type': 'application/json' }, Buffer.from('{}'));
      const upload = /^\/v2\/(.+)\/blobs\/uploads\/([^/]*)$/.exec(url.pathname);
      if (upload) {
        const [, name, id] = upload;
        if (request.method === 'POST') {
          const fresh = randomUUID();
          uploads.set(fresh, []);
          return send(202, { Location: `/v2/${name}/blobs/uploads/${fresh}`, 'Docker-Upload-UUID': fresh, Range: '0-0' });
        }
        const parts = uploads.get(id!);
        if (!parts) return send(404);
        parts.push(body);
        if (request.method === 'PATCH') {
          const size = parts.reduce((sum, part) => sum + part.length, 0);
          return send(202, { Location: `/v2/${name}/blobs/uploads/${id}`, 'Docker-Upload-UUID': id!, Range: `0-${Math.max(0, size - 1)}` });
        }
        if (request.method === 'PUT') {
          const data = Buffer.concat(parts);
          const digest = url.searchParams.get('digest') ?? digestOf(data);
          blobs.set(digest, data);
          uploads.delete(id!);
          return send(201, { Location: `/v2/${name}/blobs/${digest}`, 'Docker-Content-Digest': digest });
        }
      }
      const blob = /^\/v2\/(.+)\/blobs\/(sha256:[0-9a-f]+)$/.exec(url.pathname);
      if (blob) {
        const data = blobs.get(blob[2]!);
        return data ? send(200, { 'Docker-Content-Digest': blob[2]!, 'Content-Type': 'application/octet-stream' }, data) : send(404);
      }
      const manifest = /^\/v2\/(.+)\/manifests\/([^/]+)$/.exec(url.pathname);
      if (manifest) {
        const [, name, reference] = manifest;
        if (request.method === 'PUT') {
          const digest = digestOf(body);
          const stored = {
            body,
            type: String(request.headers['content-type'] ?? 'application/vnd.docker.distribution.manifest.v2+json'),
            digest,
          };
          manifests.set(`${name}:${reference}`, stored);
          manifests.set(`${name}:${digest}`, stored);
          pushed.push(`${name}:${reference}`);
          return send(201, { Location: `/v2/${name}/manifests/${digest}`, 'Docker-Content-Digest': digest });
        }
        const stored = manifests.get(`${name}:${reference}`);
        return stored ? send(200, { 'Content-Type': stored.type, 'Docker-Content-Digest': stored.digest }, stored.body) : send(404);
      }
      return send(404);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    address: `127.0.0.1:${(server.address() as AddressInfo).port}`,
    pushed,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
