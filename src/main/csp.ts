/**
 * The status window's Content-Security-Policy, in one place.
 *
 * The app protocol handler sends it as a header with every response; the renderer's
 * index.html carries the same policy in a meta tag (a test checks they agree), so the
 * page is covered even if it were ever loaded some other way. `frame-ancestors` is only
 * honoured in a header (a meta tag with it makes Chromium print a warning), so the meta
 * copy leaves it out.
 *
 * The page needs no network at all (its data arrives over IPC), no inline script or
 * style, no eval, and builds its DOM with textContent, so Trusted Types can be required
 * with no policy allowed.
 */
export const CSP_DIRECTIVES: readonly string[] = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "font-src 'self'",
  "connect-src 'none'",
  "base-uri 'none'",
  "form-action 'none'",
  "require-trusted-types-for 'script'",
  "trusted-types 'none'",
  "frame-ancestors 'none'",
];

export const CSP_HEADER = CSP_DIRECTIVES.join('; ');

export const CSP_META = CSP_DIRECTIVES.filter((d) => !d.startsWith('frame-ancestors')).join('; ');
