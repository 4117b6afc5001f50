import { getEventListeners } from 'node:events';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gunzipSync } from 'node:zlib';
import { afterEach, describe, expect, it } from 'vitest';
import { failureAction, ProtocolClient } from '../../../src/core/report/protocol-client.js';
import { checkTimestamp } from '../../../src/core/report/hmac-auth.js';
import type { FetchLike } from '../../../src/core/report/transport.js';
import { createNodeHttpFetch } from '../../../src/core/report/node-http-fetch.js';
import { connectionAlert, heartbeatFor } from '../../server/helpers/sample-reports.js';

const CRED = { deviceId: 'dev_AAAAAAAAAAAAAAAAAAAAAA', deviceSecret: 'BwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwc' };
const fetchLike: FetchLike = (url, init) => fetch(url, init);

type Handler = (req: IncomingMessage, body: Buffer, res: ServerResponse) => void;
const servers: Array<{ close(): void }> = [];
afterEach(() => {
  for (const s of servers.splice(0)) s.close();
});

/** A real HTTP server on loopback whose answers the test scripts. */
async function scripted(handler: Handler): Promise<URL> {
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => handler(req, Buffer.concat(chunks), res));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  servers.push({
    close: () => {
      server.closeAllConnections();
      server.close();
    },
  });
  return new URL(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
}

const json = (res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) => {
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(JSON.stringify(body));
};

describe('ProtocolClient', () => {
  it('signs requests, gzips large bodies, and parses a valid answer', async () => {
    let seen: { headers: IncomingMessage['headers']; body: unknown } | undefined;
    const url = await scripted((req, body, res) => {
      const raw = req.headers['content-encoding'] === 'gzip' ? gunzipSync(body) : body;
      seen = { headers: req.headers, body: JSON.parse(raw.toString()) };
      json(res, 200, { stored: [connectionAlert(1).alertId], duplicates: [connectionAlert(2).alertId] });
    });
    const client = new ProtocolClient({ serverUrl: url, fetch: fetchLike });
    const alerts = Array.from({ length: 10 }, (_, i) => connectionAlert(i + 1)); // about 8 KB of JSON
    const r = await client.alerts(CRED, { deviceId: CRED.deviceId, alerts });
    expect(r).toEqual({ ok: true, value: { stored: [alerts[0]!.alertId], duplicates: [alerts[1]!.alertId] } });
    expect(seen!.headers['content-encoding']).toBe('gzip');
    expect(seen!.headers['x-vigil-device']).toBe(CRED.deviceId);
    expect(seen!.headers['x-vigil-signature']).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(seen!.body).toEqual({ deviceId: CRED.deviceId, alerts });
  });

  it('turns protocol errors, proxy pages and bad answers into values', async () => {
    const answers: Array<(res: ServerResponse) => void> = [
      (res) => json(res, 429, { error: { code: 'rate_limited', message: 'slow down', retryAfterSec: 7 } }, { 'retry-after': '7' }),
      (res) => json(res, 401, { error: { code: 'revoked_device', message: 'revoked' } }),
      (res) => {
        res.writeHead(404, { 'content-type': 'text/html' });
        res.end('<html>Not Found</html>');
      },
      (res) => json(res, 200, { ok: true, heartbeatIntervalSec: 'sixty' }),
      (res) => {
        res.writeHead(502);
        res.end();
      },
    ];
    let i = 0;
    const url = await scripted((_req, _body, res) => answers[i++]!(res));
    const client = new ProtocolClient({ serverUrl: url, fetch: fetchLike });
    const hb = heartbeatFor(CRED.deviceId);
    const r1 = await client.heartbeat(CRED, hb);
    expect(r1).toMatchObject({ ok: false, kind: 'http', status: 429, code: 'rate_limited', retryAfterMs: 7000 });
    expect(!r1.ok && failureAction(r1)).toBe('retry');
    const r2 = await client.heartbeat(CRED, hb);
    expect(r2).toMatchObject({ ok: false, code: 'revoked_device' });
    expect(!r2.ok && failureAction(r2)).toBe('blocked');
    const r3 = await client.heartbeat(CRED, hb);
    expect(r3).toMatchObject({ ok: false, status: 404, message: expect.stringMatching(/proxy/) });
    expect(!r3.ok && r3.code).toBeUndefined();
    const r4 = await client.heartbeat(CRED, hb);
    expect(r4).toMatchObject({ ok: false, kind: 'bad-response', status: 200 });
    expect(!r4.ok && failureAction(r4)).toBe('retry');
    const r5 = await client.heartbeat(CRED, hb);
    expect(r5).toMatchObject({ ok: false, kind: 'http', status: 502 });
    expect(!r5.ok && failureAction(r5)).toBe('retry');
  });

  it('reports an unreachable server and a timeout as network failures', async () => {
    const url = await scripted(() => {}); // never answers
    const slow = new ProtocolClient({ serverUrl: url, fetch: fetchLike, timeoutMs: 200 });
    expect(await slow.heartbeat(CRED, heartbeatFor(CRED.deviceId))).toMatchObject({ ok: false, kind: 'timeout' });
    const closed = await scripted(() => {});
    servers.pop()!.close();
    await new Promise((r) => setTimeout(r, 50));
    const down = new ProtocolClient({ serverUrl: closed, fetch: fetchLike });
    const r = await down.enroll({ protocol: 1, enrollToken: 'vigil_enroll_xxxxxxxxxxxxxxxx', stableId: 'abcdefgh', stableIdSource: 'generated', host: { hostname: 'pc', platform: 'linux' }, agentVersion: '0.1.0' });
    expect(r).toMatchObject({ ok: false, kind: 'network', message: expect.stringMatching(/ECONNREFUSED/) });
    expect(JSON.stringify(r)).not.toContain('vigil_enroll_');
  });

  it('corrects its clock from the Date header after stale_timestamp and retries once', async () => {
    const serverNow = Date.parse('2026-11-20T12:00:00Z');
    const agentNow = serverNow - 3600_000; // the endpoint's clock is an hour behind
    const seen: string[] = [];
    const url = await scripted((req, _body, res) => {
      const ts = String(req.headers['x-vigil-timestamp']);
      seen.push(ts);
      const dateHeader = { date: new Date(serverNow).toUTCString() };
      if (checkTimestamp(ts, serverNow, 300) !== 'ok') return json(res, 401, { error: { code: 'stale_timestamp', message: 'stale' } }, dateHeader);
      json(res, 200, { ok: true, heartbeatIntervalSec: 60, serverTime: new Date(serverNow).toISOString() }, dateHeader);
    });
    const client = new ProtocolClient({ serverUrl: url, fetch: fetchLike, now: () => agentNow });
    const r = await client.heartbeat(CRED, heartbeatFor(CRED.deviceId));
    expect(r.ok).toBe(true);
    expect(seen).toEqual([String(agentNow / 1000), String(serverNow / 1000)]);
    expect(client.clockOffset).toBe(3600_000);
  });

  it("keeps nothing per request on the agent's long-lived signal (issue 11: the running agent's growth)", async () => {
    const url = await scripted((_req, _body, res) => json(res, 200, { ok: true, heartbeatIntervalSec: 10, serverTime: new Date().toISOString() }));
    const transport = createNodeHttpFetch();
    const agent = new AbortController();
    const client = new ProtocolClient({ serverUrl: url, fetch: transport.fetch, signal: agent.signal });
    try {
      for (let i = 0; i < 50; i++) expect((await client.heartbeat(CRED, heartbeatFor(CRED.deviceId))).ok).toBe(true);
    } finally {
      transport.close();
    }
    expect(getEventListeners(agent.signal, 'abort')).toHaveLength(0);
    // Node 20 keeps a WeakRef per AbortSignal.any() call in the source signal, for as long
    // as that signal lives (the agent's: the whole process); the agent must not make them.
    const dependants = Object.getOwnPropertySymbols(agent.signal).find((s) => s.description === 'kDependantSignals');
    if (dependants !== undefined) expect((agent.signal as unknown as Record<symbol, Set<unknown> | undefined>)[dependants]?.size ?? 0).toBe(0);
  });
});
