/**
 * The fleet page's incident views and their forms (fleet-response-page.ts): GET /incidents,
 * POST /incidents/scan, POST /incidents/heartbeat, GET /devices/{id}, POST
 * /devices/{id}/scan, GET /alerts, POST /alerts/triage. Same session cookie and same-origin
 * check as the rest of the fleet page; forms redirect back (303) after acting.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { DeviceIdSchema, AlertIdSchema } from '../../shared/protocol.js';
import { ApiError } from '../api-error.js';
import { validate } from '../request-body.js';
import { deviceDetail } from '../fleet-view.js';
import { packCoverage } from '../pack-coverage.js';
import { FleetRequestError, lowerHeartbeat, requestScan, scanRequestViews, type FleetRequestStores } from '../fleet-requests.js';
import { triagedAlerts, type TriageFilter } from '../alert-triage.js';
import { renderAlertsPage, renderDevicePage, renderIncidentsPage } from '../fleet-response-page.js';
import { html, sameOrigin } from './fleet-page-routes.js';
import type { ServerContext } from '../server-context.js';

const Form = z.record(z.string(), z.string());
const by = (f: Record<string, string>) => (f.by?.trim() ? `${f.by.trim().slice(0, 200)} (fleet page)` : 'fleet page');

export function registerFleetResponsePageRoutes(app: FastifyInstance, ctx: ServerContext): void {
  const stores: FleetRequestStores = { tenants: ctx.tenants, devices: ctx.devices, control: ctx.control };
  const signedIn = (req: FastifyRequest) => ctx.adminAuth.checkSession(req.headers.cookie);
  const formOf = (req: FastifyRequest): Record<string, string> => {
    if (!sameOrigin(req)) throw new ApiError(403, 'unauthorized', 'cross-origin form post refused');
    return validate(Form, req.body ?? {});
  };

  app.get('/incidents', async (req, reply) => {
    if (!(await signedIn(req))) return reply.redirect('/login', 303);
    const q = validate(z.object({ notice: z.string().max(300).optional() }), req.query);
    const now = ctx.now();
    return html(
      reply,
      200,
      renderIncidentsPage({
        coverage: await packCoverage({ packs: ctx.packs, devices: ctx.devices }, now),
        tenants: (await ctx.tenants.listTenants()).map((t) => t.name),
        scanRequests: await scanRequestViews(stores, 10),
        overrides: (await ctx.control.activeOverrides(now)).map((o) => ({ tenant: o.tenant_name, intervalSec: o.interval_sec, until: new Date(o.until_at).toISOString(), setBy: o.set_by })),
        ...(q.notice ? { notice: q.notice } : {}),
        nowMs: now,
      }),
    );
  });

  app.post('/incidents/scan', async (req, reply) => {
    if (!(await signedIn(req))) return reply.redirect('/login', 303);
    const f = formOf(req);
    try {
      const v = await requestScan(stores, !f.scope || f.scope === '*' ? { all: true } : { tenant: f.scope }, by(f), ctx.now());
      return reply.redirect(`/incidents?notice=${encodeURIComponent(`Scan requested of ${v.targeted} device(s).`)}`, 303);
    } catch (err) {
      if (err instanceof FleetRequestError) return reply.redirect(`/incidents?notice=${encodeURIComponent(err.message)}`, 303);
      throw err;
    }
  });

  app.post('/incidents/heartbeat', async (req, reply) => {
    if (!(await signedIn(req))) return reply.redirect('/login', 303);
    const f = formOf(req);
    const interval = Number(f.interval);
    const forSec = Number(f.for);
    if (![15, 30].includes(interval) || ![3600, 7200, 28800].includes(forSec) || !f.tenant) throw new ApiError(400, 'invalid_request', 'choose a customer, an interval and a duration');
    try {
      const v = await lowerHeartbeat(stores, { tenant: f.tenant, intervalSec: interval, forSec, by: by(f) }, ctx.now());
      return reply.redirect(`/incidents?notice=${encodeURIComponent(`${v.tenant} heartbeats every ${v.intervalSec} s until ${v.until}.`)}`, 303);
    } catch (err) {
      if (err instanceof FleetRequestError) return reply.redirect(`/incidents?notice=${encodeURIComponent(err.message)}`, 303);
      throw err;
    }
  });

  app.get('/devices/:id', async (req, reply) => {
    if (!(await signedIn(req))) return reply.redirect('/login', 303);
    const { id } = validate(z.object({ id: DeviceIdSchema }), req.params);
    const q = validate(z.object({ notice: z.string().max(300).optional() }), req.query);
    const row = await ctx.devices.get(id);
    if (!row) throw new ApiError(404, 'not_found', 'no such device');
    const now = ctx.now();
    const alerts = await triagedAlerts({ alerts: ctx.alerts, triage: ctx.triage }, { state: 'all', deviceId: id, limit: 20 });
    return html(reply, 200, renderDevicePage({ device: deviceDetail(row, now), alerts, nowMs: now, ...(q.notice ? { notice: q.notice } : {}) }));
  });

  app.post('/devices/:id/scan', async (req, reply) => {
    if (!(await signedIn(req))) return reply.redirect('/login', 303);
    const { id } = validate(z.object({ id: DeviceIdSchema }), req.params);
    const f = formOf(req);
    try {
      await requestScan(stores, { deviceId: id }, by(f), ctx.now());
    } catch (err) {
      if (err instanceof FleetRequestError) throw new ApiError(404, 'not_found', err.message);
      throw err;
    }
    return reply.redirect(`/devices/${encodeURIComponent(id)}?notice=${encodeURIComponent('Scan requested: the device scans at its next heartbeat.')}`, 303);
  });

  app.get('/alerts', async (req, reply) => {
    if (!(await signedIn(req))) return reply.redirect('/login', 303);
    const q = validate(z.object({ state: z.enum(['open', 'acknowledged', 'resolved', 'unresolved', 'all']).default('unresolved') }).strict(), req.query);
    const now = ctx.now();
    return html(reply, 200, renderAlertsPage({ alerts: await triagedAlerts({ alerts: ctx.alerts, triage: ctx.triage }, { state: q.state as TriageFilter, limit: 200 }), filter: q.state as TriageFilter, nowMs: now }));
  });

  app.post('/alerts/triage', async (req, reply) => {
    if (!(await signedIn(req))) return reply.redirect('/login', 303);
    const f = formOf(req);
    const p = validate(z.object({ deviceId: DeviceIdSchema, alertId: AlertIdSchema, action: z.enum(['acknowledge', 'resolve']) }), f);
    if (!(await ctx.triage.set(p.deviceId, p.alertId, p.action === 'acknowledge' ? 'acknowledged' : 'resolved', by(f), (f.note ?? '').slice(0, 2000), ctx.now()))) {
      throw new ApiError(404, 'not_found', 'no such alert');
    }
    // Back to the page the form was on; only local paths.
    const back = /^\/(alerts(\?state=[a-z]+)?|devices\/dev_[A-Za-z0-9_-]{22})$/.test(f.back ?? '') ? f.back! : '/alerts';
    return reply.redirect(back, 303);
  });
}
