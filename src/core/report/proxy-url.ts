/**
 * Proxy URLs may carry credentials (http://user:secret@proxy:3128); logs and
 * `vigil config show` print them through this.
 */

/** A proxy URL fit for a log line or a screen: the password (and a bare token user) replaced. */
export function redactProxyUrl(url: string): string {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return '(not a URL)';
  }
  // 'user:pw@host' parses as a URL whose scheme is "user:"; never echo such text.
  if (u.protocol !== 'http:' && u.protocol !== 'https:') return '(not a URL)';
  if (u.username === '' && u.password === '') return url;
  u.username = u.password ? u.username : '****';
  if (u.password) u.password = '****';
  return u.toString();
}
