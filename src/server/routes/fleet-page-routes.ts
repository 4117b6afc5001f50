/**
 * The fleet page (GET /) and its login (GET/POST /login, POST /logout). Forms post only to
 * this origin; a POST whose Origin header names another origin is refused.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { ApiError } from '../api-error.js';
import { clearedSessionCookie, sessionCookie } from '../admin-auth.js';
import { alertView, deviceView } from '../fleet-view.js';
import type { AlertRow } from '../database/alert-store.js';
import { renderFleetPage, renderLoginPage } from '../fleet-page.js';
import type { ServerContext } from '../server-context.js';
import { channelViews } from '../notify/channel-view.js';
import { renderNotifySection } from '../notify/fleet-page-section.js';

const ALERTS_PER_PAGE = 10;
/** Query of GET /: which tenant's alerts to page, and to which page (0 = newest). */
const FleetPageQuerySchema = z.object({
  alertsTenant: z.string().max(64).optional(),
  alertsPage: z.coerce.number().int().min(0).max(100_000).optional(),
  /** issue 14: set after "Send test" redirects back to the page. */
  tested: z.literal('1').optional(),
});

/** No Origin header (not a browser, or an old one) passes; SameSite=Strict covers the cookie. */
export function sameOrigin(req: FastifyRequest): boolean {
  const origin = req.headers.origin;
  if (origin === undefined) return true;
  try {
    // req.host is the Host header, or X-Forwarded-Host from a trusted proxy (--trust-proxy).
    return new URL(origin).host === req.host;
  } catch {
    return false;
  }
}

export function html(reply: FastifyReply, status: number, body: string): FastifyReply {
  return reply.code(status).type('text/html; charset=utf-8').send(body);
}

export function registerFleetPageRoutes(app: FastifyInstance, ctx: ServerContext): void {
  app.get('/', async (req, reply) => {
    if (!(await ctx.adminAuth.checkSession(req.headers.cookie))) return reply.redirect('/login', 303);
    const now = ctx.now();
    const devices = (await ctx.devices.list({ limit: 100_000 })).map((r) => deviceView(r, now));
    // Worst first within each customer: what needs the partner's attention is at the top.
    const rank = { compromised: 0, unknown: 1, attention: 2, ok: 3 } as const;
    devices.sort((a, b) => rank[a.status] - rank[b.status] || a.hostname.localeCompare(b.hostname));
    const tenantRows = await ctx.tenants.listTenants();
    const tenants = tenantRows.map((t) => ({ name: t.name, devices: devices.filter((d) => d.tenant.id === t.id) }));
    // Recent alerts per tenant, ALERTS_PER_PAGE each; ?alertsTenant=<id>&alertsPage=<n> pages one tenant.
    const q = FleetPageQuerySchema.safeParse(req.query);
    const paged = q.success ? q.data : {};
    const alertsByTenant = [];
    for (const t of tenantRows) {
      const page = paged.alertsTenant === t.id ? (paged.alertsPage ?? 0) : 0;
      const rows = await ctx.alerts.list({ tenantId: t.id, limit: ALERTS_PER_PAGE + 1, offset: page * ALERTS_PER_PAGE });
      alertsByTenant.push({ tenantId: t.id, name: t.name, alerts: rows.slice(0, ALERTS_PER_PAGE).flatMap(alertIfReadable), page, hasOlder: rows.length > ALERTS_PER_PAGE });
    }
    // issue 14: the notification channels section.
    const tested = (req.query as Record<string, unknown> | undefined)?.tested === '1';
    const notificationsHtml = renderNotifySection(channelViews(await ctx.notify.notifier.list(), await ctx.notify.store.stats()), now, tested);
    return html(reply, 200, renderFleetPage({ tenants, alertsByTenant, nowMs: now, notificationsHtml }));
  });

  app.get('/login', async (_req, reply) => html(reply, 200, renderLoginPage()));

  app.post('/login', async (req, reply) => {
    if (!sameOrigin(req)) throw new ApiError(403, 'unauthorized', 'cross-origin form post refused');
    const rate = ctx.loginLimiter.take(req.ip);
    if (!rate.allowed) return html(reply.header('retry-after', String(rate.retryAfterSec)), 429, renderLoginPage(`Too many attempts; wait ${rate.retryAfterSec} s.`));
    const token = typeof req.body === 'object' && req.body !== null ? (req.body as Record<string, unknown>).token : undefined;
    if (typeof token !== 'string' || !ctx.adminAuth.checkToken(token.trim())) {
      ctx.log.warn('fleet page sign-in refused', { ip: req.ip });
      return html(reply, 401, renderLoginPage('That is not the admin token.'));
    }
    const s = await ctx.adminAuth.newSession();
    return reply.header('set-cookie', sessionCookie(s.value, s.maxAgeSec, secure(req))).redirect('/', 303);
  });

  app.post('/logout', async (req, reply) => {
    if (!sameOrigin(req)) throw new ApiError(403, 'unauthorized', 'cross-origin form post refused');
    await ctx.adminAuth.endSession(req.headers.cookie);
    return reply.header('set-cookie', clearedSessionCookie(secure(req))).redirect('/login', 303);
  });

  /** Secure cookies when configured, or when a trusted proxy says the browser used https. */
  function secure(req: FastifyRequest): boolean {
    return ctx.secureCookies || req.protocol === 'https';
  }
}

/** A stored alert that no longer parses (written by another version) is left off the page. */
function alertIfReadable(r: AlertRow) {
  try {
    return [alertView(r)];
  } catch {
    return [];
  }
}
