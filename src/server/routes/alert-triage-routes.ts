/**
 * Alert triage in the admin API: GET /v1/alert-triage?state=unresolved|open|acknowledged|
 * resolved|all, POST /v1/alerts/{deviceId}/{alertId}/acknowledge and .../resolve with
 * `{ by, note }`.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { AlertIdSchema, DeviceIdSchema } from '../../shared/protocol.js';
import { AlertTriageQuerySchema, AlertTriageRequestSchema } from '../../shared/fleet-protocol.js';
import { ApiError } from '../api-error.js';
import { parseJson, validate } from '../request-body.js';
import { triagedAlerts } from '../alert-triage.js';
import type { ServerContext } from '../server-context.js';

const Params = z.object({ deviceId: DeviceIdSchema, alertId: AlertIdSchema, action: z.enum(['acknowledge', 'resolve']) });

export function registerAlertTriageRoutes(app: FastifyInstance, ctx: ServerContext): void {
  const requireAdmin = (req: FastifyRequest): void => {
    if (!ctx.adminAuth.checkBearer(req.headers.authorization)) throw new ApiError(401, 'unauthorized', 'the admin API needs Authorization: Bearer <admin token>');
  };

  app.get('/v1/alert-triage', async (req) => {
    requireAdmin(req);
    const q = validate(AlertTriageQuerySchema, req.query);
    return { alerts: (await triagedAlerts({ alerts: ctx.alerts, triage: ctx.triage }, q)).map((t) => ({ ...t.alert, triage: t.triage })) };
  });

  app.post('/v1/alerts/:deviceId/:alertId/:action', async (req) => {
    requireAdmin(req);
    const p = validate(Params, req.params);
    const body = Buffer.isBuffer(req.body) && req.body.length ? validate(AlertTriageRequestSchema, parseJson(req.body)) : {};
    const state = p.action === 'acknowledge' ? 'acknowledged' : 'resolved';
    if (!(await ctx.triage.set(p.deviceId, p.alertId, state, body.by ?? 'admin API', body.note ?? '', ctx.now()))) throw new ApiError(404, 'not_found', 'no such alert');
    return { deviceId: p.deviceId, alertId: p.alertId, triage: { state, by: body.by ?? 'admin API', note: body.note ?? '', at: new Date(ctx.now()).toISOString() } };
  });
}
