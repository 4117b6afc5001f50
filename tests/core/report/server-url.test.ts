import { describe, expect, it } from 'vitest';
import { checkServerUrl, endpointUrl, isLoopbackHost } from '../../../src/core/report/server-url.js';

describe('checkServerUrl', () => {
  it('accepts https anywhere and http only to loopback', () => {
    for (const u of ['https://vigil.partner.example', 'https://10.0.0.5:8443/vigil', 'http://127.0.0.1:8740', 'http://localhost:1', 'http://[::1]:8740', 'http://127.8.9.10']) {
      expect(checkServerUrl(u).ok, u).toBe(true);
    }
    for (const u of ['http://vigil.partner.example', 'http://10.0.0.5', 'http://127.0.0.1.nip.io', 'http://[::2]', 'http://localhost.example.com']) {
      const r = checkServerUrl(u);
      expect(r.ok, u).toBe(false);
      if (!r.ok) expect(r.reason).toMatch(/https/);
    }
  });

  it('allows plain http elsewhere only with the explicit test flag', () => {
    expect(checkServerUrl('http://10.0.0.5', { allowInsecureHttp: true }).ok).toBe(true);
  });

  it('refuses other schemes, credentials in the URL, queries and non-URLs', () => {
    for (const u of ['ftp://x', 'file:///etc/passwd', 'https://user:pw@x', 'https://x/?a=1', 'https://x/#f', 'not a url', '']) {
      expect(checkServerUrl(u).ok, u).toBe(false);
    }
  });

  it('knows loopback names', () => {
    expect(isLoopbackHost('LOCALHOST')).toBe(true);
    expect(isLoopbackHost('[::1]')).toBe(true);
    expect(isLoopbackHost('::ffff:127.0.0.1')).toBe(true);
    expect(isLoopbackHost('128.0.0.1')).toBe(false);
  });

  it('joins API paths under a path prefix', () => {
    expect(endpointUrl(new URL('https://x/vigil/'), '/v1/enroll').href).toBe('https://x/vigil/v1/enroll');
    expect(endpointUrl(new URL('https://x'), '/v1/enroll').href).toBe('https://x/v1/enroll');
  });
});
