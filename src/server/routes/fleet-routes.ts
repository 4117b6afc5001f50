/**
 * Check now and temporary heartbeat intervals in the admin API: POST/GET
 * /v1/scan-requests, POST/GET /v1/heartbeat-overrides. Thin over fleet-requests.ts.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { API_PATHS } from '../../shared/protocol.js';
import { HeartbeatOverrideRequestSchema, ScanRequestCreateSchema } from '../../shared/fleet-protocol.js';
import { ApiError } from '../api-error.js';
import { parseJson, validate } from '../request-body.js';
import { FleetRequestError, lowerHeartbeat, requestScan, scanRequestViews, type FleetRequestStores, type ScanTarget } from '../fleet-requests.js';
import type { ServerContext } from '../server-context.js';

function asApiError(err: unknown): never {
  if (err instanceof FleetRequestError) throw new ApiError(err.notFound ? 404 : 400, err.notFound ? 'not_found' : 'invalid_request', err.message);
  throw err;
}

export function registerFleetRoutes(app: FastifyInstance, ctx: ServerContext): void {
  const requireAdmin = (req: FastifyRequest): void => {
    if (!ctx.adminAuth.checkBearer(req.headers.authorization)) {
      throw new ApiError(401, 'unauthorized', 'the admin API needs Authorization: Bearer <admin token>');
    }
  };
  const stores: FleetRequestStores = { tenants: ctx.tenants, devices: ctx.devices, control: ctx.control };
  const body = (req: FastifyRequest): unknown => parseJson(Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0));

  app.get(API_PATHS.scanRequests, async (req) => {
    requireAdmin(req);
    return { scanRequests: await scanRequestViews(stores) };
  });

  app.post(API_PATHS.scanRequests, async (req, reply) => {
    requireAdmin(req);
    const r = validate(ScanRequestCreateSchema, body(req));
    const target: ScanTarget = r.deviceId !== undefined ? { deviceId: r.deviceId } : r.tenant !== undefined ? { tenant: r.tenant } : { all: true };
    try {
      const view = await requestScan(stores, target, r.by ?? 'admin API', ctx.now());
      ctx.log.info('scan requested', { requestId: view.requestId, scope: view.scope, targeted: view.targeted });
      return reply.code(201).send(view);
    } catch (err) {
      asApiError(err);
    }
  });

  app.get(API_PATHS.heartbeatOverrides, async (req) => {
    requireAdmin(req);
    return {
      overrides: (await ctx.control.activeOverrides(ctx.now())).map((o) => ({ tenant: o.tenant_name, intervalSec: o.interval_sec, until: new Date(o.until_at).toISOString(), setBy: o.set_by })),
    };
  });

  app.post(API_PATHS.heartbeatOverrides, async (req, reply) => {
    requireAdmin(req);
    const r = validate(HeartbeatOverrideRequestSchema, body(req));
    try {
      return reply.code(201).send(await lowerHeartbeat(stores, { tenant: r.tenant, intervalSec: r.intervalSec, forSec: r.forSec, by: r.by ?? 'admin API' }, ctx.now()));
    } catch (err) {
      asApiError(err);
    }
  });
}
