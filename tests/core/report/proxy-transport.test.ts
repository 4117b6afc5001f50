/**
 * The headless agent's transport honours the `proxy` setting: through a real forward proxy
 * on loopback (CONNECT tunnel, Basic credentials), from the environment for `system`, and
 * never through a proxy for `direct`.
 */
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { createProxyTransport, describeProxyPlan, planProxy, type ProxyTransport } from '../../../src/core/report/proxy-transport.js';
import { redactProxyUrl } from '../../../src/core/report/proxy-url.js';
import { startConnectProxy, type ConnectProxy } from '../../helpers/connect-proxy.js';

describe('planProxy', () => {
  it('direct ignores the environment', () => {
    expect(planProxy('direct', { HTTPS_PROXY: 'http://proxy:3128' })).toEqual({ kind: 'direct' });
  });
  it('system takes HTTPS_PROXY, then HTTP_PROXY, either case, with NO_PROXY', () => {
    expect(planProxy('system', { https_proxy: 'http://p:1', NO_PROXY: 'localhost,.corp' })).toEqual({ kind: 'env', httpsProxy: 'http://p:1', httpProxy: undefined, noProxy: 'localhost,.corp' });
    expect(planProxy('system', { HTTP_PROXY: 'http://p:2' })).toEqual({ kind: 'env', httpsProxy: 'http://p:2', httpProxy: 'http://p:2', noProxy: undefined });
  });
  it('system without proxy variables (or with blank ones) is direct', () => {
    expect(planProxy('system', {})).toEqual({ kind: 'direct' });
    expect(planProxy('system', { HTTPS_PROXY: '  ' })).toEqual({ kind: 'direct' });
  });
  it('a URL is used as given', () => {
    expect(planProxy('http://proxy.corp:8080', { HTTPS_PROXY: 'http://other:1' })).toEqual({ kind: 'url', url: 'http://proxy.corp:8080' });
  });
});

describe('redactProxyUrl', () => {
  it('replaces the password, keeps the user, host and port', () => {
    expect(redactProxyUrl('http://svc-vigil:hunter2@proxy.corp:3128')).toBe('http://svc-vigil:****@proxy.corp:3128/');
    expect(describeProxyPlan({ kind: 'url', url: 'http://a:b@p:1' })).toBe('proxy http://a:****@p:1/');
  });
  it('replaces a user that is a bare token', () => {
    expect(redactProxyUrl('https://tok3n@proxy:443')).toBe('https://****@proxy/');
  });
  it('leaves a URL without credentials alone and refuses to echo what is not a URL', () => {
    expect(redactProxyUrl('http://proxy:3128')).toBe('http://proxy:3128');
    expect(redactProxyUrl('user:pw@@ nonsense')).toBe('(not a URL)');
  });
});

describe('createProxyTransport on loopback', () => {
  let target: http.Server;
  let targetUrl: string;
  let proxy: ConnectProxy | undefined;
  let transport: ProxyTransport | undefined;
  const hits: string[] = [];

  async function startTarget(): Promise<void> {
    target = http.createServer((req, res) => {
      hits.push(`${req.method} ${req.url}`);
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}');
    });
    await new Promise<void>((r) => target.listen(0, '127.0.0.1', r));
    targetUrl = `http://127.0.0.1:${(target.address() as AddressInfo).port}`;
  }

  afterEach(async () => {
    await transport?.close();
    await proxy?.close();
    await new Promise<void>((r) => (target ? target.close(() => r()) : r()));
    transport = undefined;
    proxy = undefined;
    hits.length = 0;
  });

  const post = (t: ProxyTransport) => t.fetch(`${targetUrl}/v1/heartbeats`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: new TextEncoder().encode('{}') });

  it('a proxy URL with credentials: the request is tunnelled with Basic proxy authorization', async () => {
    await startTarget();
    proxy = await startConnectProxy({ credentials: { user: 'svc-vigil', password: 'hunter2' } });
    transport = createProxyTransport(planProxy(`http://svc-vigil:hunter2@127.0.0.1:${proxy.port}`, {}));
    const res = await post(transport);
    expect(res.status).toBe(200);
    expect(await res.text()).toBe('{"ok":true}');
    expect(hits).toEqual(['POST /v1/heartbeats']);
    expect(proxy.seen).toEqual([{ method: 'CONNECT', target: new URL(targetUrl).host, proxyAuthorization: `Basic ${Buffer.from('svc-vigil:hunter2').toString('base64')}` }]);
  });

  it('a proxy that refuses the credentials: the request fails and never reaches the server', async () => {
    await startTarget();
    proxy = await startConnectProxy({ credentials: { user: 'svc-vigil', password: 'hunter2' } });
    transport = createProxyTransport(planProxy(`http://127.0.0.1:${proxy.port}`, {}));
    await expect(post(transport)).rejects.toThrow();
    expect(hits).toEqual([]);
    expect(proxy.seen[0]).toMatchObject({ method: 'CONNECT', proxyAuthorization: undefined });
  });

  it('system: HTTP_PROXY from the given environment is used; NO_PROXY exempts the host', async () => {
    await startTarget();
    proxy = await startConnectProxy();
    transport = createProxyTransport(planProxy('system', { HTTP_PROXY: proxy.url }));
    expect((await post(transport)).status).toBe(200);
    expect(proxy.seen).toHaveLength(1);
    await transport.close();

    transport = createProxyTransport(planProxy('system', { HTTP_PROXY: proxy.url, NO_PROXY: '127.0.0.1' }));
    expect((await post(transport)).status).toBe(200);
    expect(proxy.seen).toHaveLength(1);
    expect(hits).toHaveLength(2);
  });

  it('direct: goes straight to the server even with a proxy in the environment', async () => {
    await startTarget();
    proxy = await startConnectProxy();
    transport = createProxyTransport(planProxy('direct', { HTTP_PROXY: proxy.url, HTTPS_PROXY: proxy.url }));
    expect((await post(transport)).status).toBe(200);
    expect(proxy.seen).toEqual([]);
    expect(hits).toEqual(['POST /v1/heartbeats']);
  });

  it('a proxy that is down: the request fails (the reporter backs off), nothing hangs', async () => {
    await startTarget();
    proxy = await startConnectProxy();
    const deadUrl = proxy.url;
    await proxy.close();
    proxy = undefined;
    transport = createProxyTransport(planProxy(deadUrl, {}));
    await expect(post(transport)).rejects.toThrow();
    expect(hits).toEqual([]);
  });
});
