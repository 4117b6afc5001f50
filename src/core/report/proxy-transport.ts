/**
 * The headless agent's transport for the `proxy` setting (src/core/config/schema.ts).
 *
 * Node ignores the machine's proxy settings, so the CLI builds its transport per setting:
 *
 * - `direct`: node:http / node:https (node-http-fetch.ts), even when HTTPS_PROXY is set
 *   in the environment.
 * - `system`: undici with the proxy environment variables (HTTPS_PROXY / HTTP_PROXY /
 *   NO_PROXY, either case), which is what headless Linux and macOS services are
 *   configured with; none set means direct. The OS proxy settings and PAC (WinINET, macOS
 *   network preferences) are what the tray app follows through Electron's net.fetch; a
 *   headless agent on Windows that must use a proxy gets it as a URL.
 * - an http(s) URL: undici with a proxy dispatcher; every request is tunnelled through
 *   that proxy with CONNECT (the server's TLS stays end to end); `user:password@` in the
 *   URL is sent as Basic proxy authorization.
 *
 * undici (the library Node's fetch is made of, pure JS) loads only when a proxy is used.
 *
 * The tray app maps the same setting onto its Electron session (src/main/proxy-session.ts).
 */
import type { Dispatcher } from 'undici';
import { createNodeHttpFetch } from './node-http-fetch.js';
import type { ProxySetting } from '../config/schema.js';
import type { FetchLike } from './transport.js';
import { redactProxyUrl } from './proxy-url.js';

export type ProxyPlan =
  | { kind: 'direct' }
  /** From the environment; `httpsProxy` is the one used for https (the agent speaks https in production). */
  | { kind: 'env'; httpsProxy: string; httpProxy: string | undefined; noProxy: string | undefined }
  | { kind: 'url'; url: string };

function envValue(env: NodeJS.ProcessEnv, name: string): string | undefined {
  const v = env[name] ?? env[name.toLowerCase()];
  return v === undefined || v.trim() === '' ? undefined : v.trim();
}

/** What a proxy setting means for the headless agent, given its environment. Pure. */
export function planProxy(setting: ProxySetting, env: NodeJS.ProcessEnv): ProxyPlan {
  if (setting === 'direct') return { kind: 'direct' };
  if (setting !== 'system') return { kind: 'url', url: setting };
  const httpsProxy = envValue(env, 'HTTPS_PROXY') ?? envValue(env, 'HTTP_PROXY');
  if (httpsProxy === undefined) return { kind: 'direct' };
  return { kind: 'env', httpsProxy, httpProxy: envValue(env, 'HTTP_PROXY'), noProxy: envValue(env, 'NO_PROXY') };
}

/** How the plan reads in a log line (credentials redacted). */
export function describeProxyPlan(plan: ProxyPlan): string {
  switch (plan.kind) {
    case 'direct':
      return 'direct';
    case 'env':
      return `environment proxy ${redactProxyUrl(plan.httpsProxy)}${plan.noProxy ? ` (NO_PROXY ${plan.noProxy})` : ''}`;
    case 'url':
      return `proxy ${redactProxyUrl(plan.url)}`;
  }
}

export interface ProxyTransport {
  fetch: FetchLike;
  plan: ProxyPlan;
  /** Closes the proxy connections (the agent's stop). */
  close(): Promise<void>;
}

/**
 * A transport for the plan. undici (about 1 MB of code, a few MB of heap) loads only when
 * a proxy is configured, at the first request: an agent that goes direct never loads it.
 * A URL undici refuses (the schema admits http(s) URLs only, so in practice never)
 * rejects that request.
 */
export function createProxyTransport(plan: ProxyPlan): ProxyTransport {
  // Direct: node:http, not Node's global fetch, whose WebAssembly HTTP parser keeps the
  // agent about 20 MB larger (node-http-fetch.ts).
  if (plan.kind === 'direct') {
    const direct = createNodeHttpFetch();
    return { fetch: direct.fetch, plan, close: async () => direct.close() };
  }
  let proxied: Promise<{ dispatcher: Dispatcher; fetch: typeof import('undici').fetch }> | undefined;
  const load = () =>
    (proxied ??= import('undici').then((undici) => ({
      fetch: undici.fetch,
      dispatcher:
        plan.kind === 'url'
          ? new undici.ProxyAgent(plan.url)
          : // Empty strings, not undefined: undici would otherwise read process.env itself,
            // and the plan (made from the environment the caller gave) is the whole truth.
            new undici.EnvHttpProxyAgent({ httpsProxy: plan.httpsProxy, httpProxy: plan.httpProxy ?? '', noProxy: plan.noProxy ?? '' }),
    })));
  const fetch: FetchLike = async (url, init) => {
    const { dispatcher, fetch: undiciFetch } = await load();
    return undiciFetch(url, {
      method: init.method,
      headers: init.headers,
      ...(init.body ? { body: init.body } : {}),
      ...(init.signal ? { signal: init.signal } : {}),
      dispatcher,
    });
  };
  return {
    fetch,
    plan,
    close: async () => {
      // Nothing to close when no request was ever made.
      if (proxied) await (await proxied.catch(() => undefined))?.dispatcher.close();
    },
  };
}
