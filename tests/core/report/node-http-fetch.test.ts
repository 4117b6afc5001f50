/**
 * The agent's direct transport over node:http / node:https, against real servers on
 * loopback: what the reporter relies on fetch for (status, headers, body, abort and
 * timeout, system error codes), decoding, limits, kept-alive connections closed when
 * idle, TLS verification on, and the ProtocolClient through it against the real server.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterEach, describe, expect, it } from 'vitest';
import { createNodeHttpFetch, ResponseTooLargeError, type NodeHttpTransport } from '../../../src/core/report/node-http-fetch.js';

type Handler = (req: IncomingMessage, body: Buffer, res: ServerResponse) => void;

const servers: Server[] = [];
const transports: NodeHttpTransport[] = [];
afterEach(async () => {
  for (const t of transports.splice(0)) t.close();
  await Promise.all(servers.splice(0).map((s) => new Promise((r) => s.close(r))));
});

async function listen(server: Server, handler: Handler, scheme = 'http'): Promise<{ url: string; connections: Socket[] }> {
  const connections: Socket[] = [];
  server.on('connection', (s: Socket) => connections.push(s));
  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => handler(req, Buffer.concat(chunks), res));
  });
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { url: `${scheme}://127.0.0.1:${(server.address() as AddressInfo).port}`, connections };
}

const serve = (handler: Handler) => listen(createServer(), handler);

function transport(opts?: Parameters<typeof createNodeHttpFetch>[0]): NodeHttpTransport {
  const t = createNodeHttpFetch(opts);
  transports.push(t);
  return t;
}

const post = (body = '{"a":1}') => ({ method: 'POST', headers: { 'content-type': 'application/json', 'x-vigil-device': 'dev_1' }, body: new TextEncoder().encode(body) });

describe('createNodeHttpFetch', () => {
  it('sends the method, headers and body, and gives back status, headers and text', async () => {
    let seen: { method?: string; device?: string; length?: string; body?: string } = {};
    const { url } = await serve((req, body, res) => {
      seen = { method: req.method, device: req.headers['x-vigil-device'] as string, length: req.headers['content-length'], body: body.toString() };
      res.writeHead(201, { 'content-type': 'application/json', 'retry-after': '30', 'set-cookie': ['a=1', 'b=2'] }).end('{"ok":true}');
    });
    const res = await transport().fetch(`${url}/v1/heartbeats`, post('{"x":"é"}'));
    expect(seen).toEqual({ method: 'POST', device: 'dev_1', length: String(Buffer.byteLength('{"x":"é"}')), body: '{"x":"é"}' });
    expect(res.status).toBe(201);
    expect(res.headers.get('Retry-After')).toBe('30');
    expect(res.headers.get('set-cookie')).toBe('a=1, b=2');
    expect(res.headers.get('x-absent')).toBeNull();
    expect(await res.text()).toBe('{"ok":true}');
  });

  it('decodes a gzip body and refuses an encoding it does not know, by name', async () => {
    const { url } = await serve((req, _b, res) => {
      if (req.url === '/gz') res.writeHead(200, { 'content-encoding': 'gzip' }).end(gzipSync('{"zipped":true}'));
      else res.writeHead(200, { 'content-encoding': 'zstd' }).end('xx');
    });
    const t = transport();
    expect(await (await t.fetch(`${url}/gz`, post())).text()).toBe('{"zipped":true}');
    await expect((await t.fetch(`${url}/zstd`, post())).text()).rejects.toThrow(/"zstd"/);
  });

  it('rejects with the system error code when nothing listens', async () => {
    const { url } = await serve((_q, _b, res) => res.end());
    await new Promise((r) => servers.pop()!.close(r));
    await expect(transport().fetch(url, post())).rejects.toMatchObject({ code: 'ECONNREFUSED' });
  });

  it('aborts with the signal\'s TimeoutError while waiting for the answer and while reading the body', async () => {
    const { url } = await serve((req, _b, res) => {
      if (req.url === '/slow-head') setTimeout(() => res.end('late'), 2_000);
      else {
        res.writeHead(200);
        res.write('{"partial":');
        setTimeout(() => res.end('1}'), 2_000);
      }
    });
    const t = transport();
    await expect(t.fetch(`${url}/slow-head`, { ...post(), signal: AbortSignal.timeout(150) })).rejects.toMatchObject({ name: 'TimeoutError' });
    const res = await t.fetch(`${url}/slow-body`, { ...post(), signal: AbortSignal.timeout(300) });
    await expect(res.text()).rejects.toMatchObject({ name: 'TimeoutError' });
    const stopped = new AbortController();
    stopped.abort();
    await expect(t.fetch(url, { ...post(), signal: stopped.signal })).rejects.toMatchObject({ name: 'AbortError' });
  });

  it('refuses a body over the limit, and one cut short by the server', async () => {
    const { url } = await serve((req, _b, res) => {
      if (req.url === '/big') res.end(Buffer.alloc(4096, 0x61));
      else {
        res.writeHead(200, { 'content-length': '100' });
        res.write('{"cut":');
        setTimeout(() => res.socket?.destroy(), 50);
      }
    });
    const t = transport({ maxBodyBytes: 1024 });
    await expect((await t.fetch(`${url}/big`, post())).text()).rejects.toBeInstanceOf(ResponseTooLargeError);
    await expect((await t.fetch(`${url}/cut`, post())).text()).rejects.toThrow(/closed before the whole response/);
  });

  it('reuses a connection within a burst, closes it once idle, and lets a slow answer outlast the idle time', async () => {
    const { url, connections } = await serve((req, _b, res) => {
      if (req.url === '/slow') setTimeout(() => res.end('slow'), 500);
      else res.end('ok');
    });
    const t = transport({ idleMs: 200 });
    for (let i = 0; i < 5; i++) expect(await (await t.fetch(url, post())).text()).toBe('ok');
    expect(connections).toHaveLength(1);
    await new Promise((r) => setTimeout(r, 500));
    expect(connections[0]!.destroyed || connections[0]!.readyState === 'closed').toBe(true);
    expect(await (await t.fetch(`${url}/slow`, post())).text()).toBe('slow');
    expect(connections).toHaveLength(2);
  });

  it('refuses URLs other than http and https', async () => {
    await expect(transport().fetch('ftp://127.0.0.1/x', post())).rejects.toThrow(/ftp:/);
  });

  const haveOpenssl = spawnSync('openssl', ['version']).status === 0;
  if (!haveOpenssl) console.log('skipped: the TLS test needs openssl (Debian package: openssl)');
  it.skipIf(!haveOpenssl && process.env.CI !== 'true')('verifies the server certificate over https: a self-signed one is refused', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'vigil-tls-'));
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', path.join(dir, 'key.pem'), '-out', path.join(dir, 'cert.pem'), '-days', '2', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1'], { stdio: 'ignore' });
    const server = createHttpsServer({ key: readFileSync(path.join(dir, 'key.pem')), cert: readFileSync(path.join(dir, 'cert.pem')) });
    const { url } = await listen(server as unknown as Server, (_q, _b, res) => res.end('secret'), 'https');
    expect(url.startsWith('https://')).toBe(true);
    await expect(transport().fetch(url, post())).rejects.toMatchObject({ code: 'DEPTH_ZERO_SELF_SIGNED_CERT' });
  });
});
