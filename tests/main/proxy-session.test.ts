/** The proxy setting as the tray app applies it to Electron's session. */
import { describe, expect, it } from 'vitest';
import type { ProxyConfig } from 'electron';
import { applyProxySetting, proxyConfigFor, proxyHasCredentials } from '../../src/main/proxy-session.js';
import { memoryLogger, type LogEntry } from './memory-logger.js';

describe('proxyConfigFor', () => {
  it('maps system, direct and a URL (path and credentials dropped) to the session modes', () => {
    expect(proxyConfigFor('system')).toEqual({ mode: 'system' });
    expect(proxyConfigFor('direct')).toEqual({ mode: 'direct' });
    expect(proxyConfigFor('http://proxy.corp:8080/some/path')).toEqual({ mode: 'fixed_servers', proxyRules: 'http://proxy.corp:8080' });
    expect(proxyConfigFor('https://[2001:db8::1]:443')).toEqual({ mode: 'fixed_servers', proxyRules: 'https://[2001:db8::1]' });
  });
  it('tells a URL with credentials apart', () => {
    expect(proxyHasCredentials('http://u:p@proxy:1')).toBe(true);
    expect(proxyHasCredentials('http://u@proxy:1')).toBe(true);
    expect(proxyHasCredentials('http://proxy:1')).toBe(false);
    expect(proxyHasCredentials('system')).toBe(false);
  });
});

describe('applyProxySetting', () => {
  const session = (fails = false) => {
    const calls: ProxyConfig[] = [];
    return {
      calls,
      setProxy: async (c: ProxyConfig) => {
        calls.push(c);
        if (fails) throw new Error('invalid proxy rules');
      },
    };
  };

  it('sets the session and keeps net.fetch (no replacement transport)', async () => {
    const s = session();
    const log: LogEntry[] = [];
    const applied = await applyProxySetting(s, 'direct', memoryLogger(log));
    expect(s.calls).toEqual([{ mode: 'direct' }]);
    expect(applied.fetch).toBeUndefined();
    expect(log).toEqual([expect.objectContaining({ level: 'info', msg: 'reporting transport', fields: { via: 'direct' } })]);
  });

  it('a session that refuses the rules: warns, stays on the system proxy, does not throw', async () => {
    const s = session(true);
    const log: LogEntry[] = [];
    const applied = await applyProxySetting(s, 'http://proxy.corp:8080', memoryLogger(log));
    expect(applied).toMatchObject({ description: 'system (the proxy setting was refused)' });
    expect(applied.fetch).toBeUndefined();
    expect(log).toEqual([expect.objectContaining({ level: 'warn', fields: expect.objectContaining({ proxy: 'http://proxy.corp:8080', error: 'invalid proxy rules' }) })]);
  });

  it('a URL with credentials: the session is left alone and a replacement transport is given', async () => {
    const s = session();
    const applied = await applyProxySetting(s, 'http://svc:pw@proxy.corp:8080', memoryLogger([]));
    expect(s.calls).toEqual([]);
    expect(typeof applied.fetch).toBe('function');
    expect(applied.description).toBe('proxy http://svc:****@proxy.corp:8080/ with credentials (Node transport)');
    await applied.close();
  });
});
