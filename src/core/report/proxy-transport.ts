/**
 * The headless agent's transport for the `proxy` setting (src/core/config/schema.ts).
 *
 * Node's global fetch goes direct whatever the machine's proxy settings say, so the CLI
 * builds its transport from undici (the library Node's fetch is made of, pure JS) with a
 * dispatcher per setting:
 *
 * - `direct`: no proxy, even when HTTPS_PROXY is set in the environment.
 * - `system`: the proxy environment variables (HTTPS_PROXY / HTTP_PROXY / NO_PROXY, either
 *   case), which is what headless Linux and macOS services are configured with; none set
 *   means direct. The OS proxy settings and PAC (WinINET, macOS network preferences) are
 *   what the tray app follows through Electron's net.fetch; a headless agent on Windows
 *   that must use a proxy gets it as a URL.
 * - an http(s) URL: every request is tunnelled through that proxy with CONNECT (the
 *   server's TLS stays end to end); `user:password@` in the URL is sent as Basic
 *   proxy authorization.
 *
 * The tray app maps the same setting onto its Electron session (src/main/proxy-session.ts).
 */
import { EnvHttpProxyAgent, ProxyAgent, fetch as undiciFetch, type Dispatcher } from 'undici';
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
 * A transport for the plan. Throws only for a URL undici refuses (the schema admits
 * http(s) URLs only, so in practice never).
 */
export function createProxyTransport(plan: ProxyPlan): ProxyTransport {
  let dispatcher: Dispatcher | undefined;
  if (plan.kind === 'url') dispatcher = new ProxyAgent(plan.url);
  else if (plan.kind === 'env') {
    // Empty strings, not undefined: undici would otherwise read process.env itself, and the
    // plan (made from the environment the caller gave) is the whole truth.
    dispatcher = new EnvHttpProxyAgent({ httpsProxy: plan.httpsProxy, httpProxy: plan.httpProxy ?? '', noProxy: plan.noProxy ?? '' });
  }
  // Direct stays on Node's own fetch, the transport measured in bench/ingest.bench.ts.
  const fetch: FetchLike = !dispatcher
    ? (url, init) => globalThis.fetch(url, init)
    : (url, init) =>
    undiciFetch(url, {
      method: init.method,
      headers: init.headers,
      ...(init.body ? { body: init.body } : {}),
      ...(init.signal ? { signal: init.signal } : {}),
      dispatcher,
    });
  return {
    fetch,
    plan,
    close: async () => {
      await dispatcher?.close();
    },
  };
}
