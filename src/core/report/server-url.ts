/**
 * Which partner-backend addresses the agent will talk to. Reports carry what is installed
 * and compromised on a customer's PC, and the device credential signs every request, so
 * plain http is refused unless the server is on this machine (loopback) or an explicit
 * test flag allows it.
 */
export type ServerUrlCheck = { ok: true; url: URL } | { ok: false; reason: string };

export function isLoopbackHost(hostname: string): boolean {
  const h = hostname.toLowerCase().replace(/^\[|\]$/g, '');
  if (h === 'localhost' || h.endsWith('.localhost')) return true;
  if (h === '::1' || h === '0:0:0:0:0:0:0:1') return true;
  if (/^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h)) return true;
  if (/^::ffff:127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h)) return true;
  return false;
}

export function checkServerUrl(text: string, opts: { allowInsecureHttp?: boolean } = {}): ServerUrlCheck {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return { ok: false, reason: `"${text}" is not a URL` };
  }
  if (url.username || url.password) return { ok: false, reason: 'the server URL must not contain a user name or password' };
  if (url.search || url.hash) return { ok: false, reason: 'the server URL must not have a query or fragment' };
  if (url.protocol === 'https:') return { ok: true, url };
  if (url.protocol === 'http:') {
    if (isLoopbackHost(url.hostname) || opts.allowInsecureHttp) return { ok: true, url };
    return { ok: false, reason: `plain http is only allowed to a loopback address, not ${url.hostname}: use https` };
  }
  return { ok: false, reason: `unsupported scheme ${url.protocol.replace(/:$/, '')}: use https` };
}

/** Joins the server URL (which may have a path prefix) and an API path such as /v1/enroll. */
export function endpointUrl(base: URL, apiPath: string): URL {
  const prefix = base.pathname.replace(/\/+$/, '');
  const u = new URL(base.href);
  u.pathname = `${prefix}${apiPath}`;
  return u;
}
