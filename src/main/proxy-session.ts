/**
 * The `proxy` setting in the tray app (src/core/config/schema.ts), applied to Electron's
 * default session before the agent's first request:
 *
 * - `system` (the default): the session's system mode; net.fetch follows the OS proxy
 *   settings and PAC, and answers NTLM/Kerberos proxy challenges with the user's logon.
 * - `direct`: the session's direct mode; net.fetch goes straight to the server.
 * - an http(s) URL: fixed_servers mode with that proxy. Chromium takes no credentials in
 *   proxy rules, and net.fetch cancels a proxy's Basic challenge (it has no `login`
 *   handler), so a URL that carries `user:password@` is served by the headless agent's
 *   transport instead (src/core/report/proxy-transport.ts: undici through the proxy). That
 *   transport trusts Node's CA list, not the OS certificate store: said in docs/DEPLOY.md.
 *
 * Never throws: a session that refuses the setting leaves the system proxy in place and
 * says so in the log.
 */
import type { ProxyConfig } from 'electron';
import type { ProxySetting } from '../core/config/schema.js';
import type { Logger } from '../core/logging/logger.js';
import { createProxyTransport, planProxy } from '../core/report/proxy-transport.js';
import { redactProxyUrl } from '../core/report/proxy-url.js';
import type { FetchLike } from '../core/report/transport.js';

/** The session's proxy configuration for a setting. Pure. */
export function proxyConfigFor(setting: ProxySetting): ProxyConfig {
  if (setting === 'system') return { mode: 'system' };
  if (setting === 'direct') return { mode: 'direct' };
  const u = new URL(setting);
  // Chromium's proxy-uri: scheme://host:port, without credentials or a path.
  return { mode: 'fixed_servers', proxyRules: `${u.protocol}//${u.host}` };
}

/** Whether the proxy URL carries credentials (which Chromium's proxy rules cannot). */
export function proxyHasCredentials(setting: ProxySetting): boolean {
  if (setting === 'system' || setting === 'direct') return false;
  const u = new URL(setting);
  return u.username !== '' || u.password !== '';
}

export interface ProxySessionLike {
  setProxy(config: ProxyConfig): Promise<void>;
}

export interface AppliedProxy {
  /** How the setting was applied, for the log (credentials redacted). */
  description: string;
  /** A transport that replaces net.fetch (a proxy URL with credentials), else undefined. */
  fetch?: FetchLike;
  close(): Promise<void>;
}

export async function applyProxySetting(session: ProxySessionLike, setting: ProxySetting, logger: Logger): Promise<AppliedProxy> {
  const noop = async () => {};
  if (proxyHasCredentials(setting)) {
    // The session stays on system mode; only the agent's own requests use the proxy.
    const transport = createProxyTransport(planProxy(setting, {}));
    const description = `proxy ${redactProxyUrl(setting)} with credentials (Node transport)`;
    logger.info('reporting transport', { via: description });
    return { description, fetch: transport.fetch, close: () => transport.close() };
  }
  const config = proxyConfigFor(setting);
  try {
    await session.setProxy(config);
  } catch (e) {
    logger.warn('the proxy setting could not be applied; using the system proxy', { proxy: setting === 'direct' || setting === 'system' ? setting : redactProxyUrl(setting), error: e instanceof Error ? e.message : String(e) });
    return { description: 'system (the proxy setting was refused)', close: noop };
  }
  const description = setting === 'system' || setting === 'direct' ? setting : `proxy ${config.proxyRules}`;
  logger.info('reporting transport', { via: description });
  return { description, close: noop };
}
