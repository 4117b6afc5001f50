/**
 * The admin API, behind `Authorization: Bearer <admin token>`: tenants, devices (list,
 * detail, revoke) and alerts, filtered by tenant name or device.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { AdminDeviceListQuerySchema, AdminListQuerySchema, API_PATHS, DeviceIdSchema, type AlertList, type DeviceDetail, type DeviceList } from '../../shared/protocol.js';
import { ApiError } from '../api-error.js';
import { validate } from '../request-body.js';
import { alertView, deviceDetail, deviceView } from '../fleet-view.js';
import type { ServerContext } from '../server-context.js';

const DeviceParamsSchema = z.object({ id: DeviceIdSchema });

export function registerAdminRoutes(app: FastifyInstance, ctx: ServerContext): void {
  const requireAdmin = (req: FastifyRequest): void => {
    if (!ctx.adminAuth.checkBearer(req.headers.authorization)) {
      throw new ApiError(401, 'unauthorized', 'the admin API needs Authorization: Bearer <admin token>');
    }
  };

  app.get(API_PATHS.tenants, async (req) => {
    requireAdmin(req);
    const counts = new Map<string, number>();
    for (const d of await ctx.devices.list({ limit: 1_000_000 })) counts.set(d.tenant_id, (counts.get(d.tenant_id) ?? 0) + 1);
    return {
      tenants: (await ctx.tenants.listTenants()).map((t) => ({ id: t.id, name: t.name, createdAt: new Date(t.created_at).toISOString(), devices: counts.get(t.id) ?? 0 })),
    };
  });

  app.get(API_PATHS.devices, async (req): Promise<DeviceList> => {
    requireAdmin(req);
    const q = validate(AdminDeviceListQuerySchema, req.query);
    const now = ctx.now();
    return { devices: (await ctx.devices.list({ ...(q.tenant !== undefined ? { tenant: q.tenant } : {}), limit: q.limit })).map((r) => deviceView(r, now)) };
  });

  app.get(`${API_PATHS.devices}/:id`, async (req): Promise<DeviceDetail> => {
    requireAdmin(req);
    const { id } = validate(DeviceParamsSchema, req.params);
    const row = await ctx.devices.get(id);
    if (!row) throw new ApiError(404, 'not_found', 'no such device');
    return deviceDetail(row, ctx.now());
  });

  app.post(`${API_PATHS.devices}/:id/revoke`, async (req) => {
    requireAdmin(req);
    const { id } = validate(DeviceParamsSchema, req.params);
    const row = await ctx.devices.get(id);
    if (!row) throw new ApiError(404, 'not_found', 'no such device');
    await ctx.devices.revoke(id, ctx.now());
    ctx.log.warn('device revoked', { deviceId: id, tenant: row.tenant_name });
    return deviceView((await ctx.devices.get(id))!, ctx.now());
  });

  // Resolving a record flagged as a possible duplicate (docs/PROTOCOL.md, "Re-enrolment").
  const resolve = (action: 'replace' | 'keep') => async (req: FastifyRequest): Promise<DeviceDetail> => {
    requireAdmin(req);
    const { id } = validate(DeviceParamsSchema, req.params);
    const now = ctx.now();
    const out = await ctx.storage.transaction((tx) => (action === 'replace' ? tx.devices.replaceHolder(id, now) : tx.devices.keepSeparate(id)));
    if (!out.ok && out.reason === 'not-found') throw new ApiError(404, 'not_found', 'no such device');
    if (!out.ok && out.reason === 'not-flagged') throw new ApiError(409, 'conflict', 'this device is not flagged as a possible duplicate');
    if (!out.ok) throw new ApiError(409, 'conflict', 'the device this one may duplicate no longer holds the stable id; use keep');
    ctx.log.warn(action === 'replace' ? 'duplicate resolved: replaces the device it duplicated (now revoked)' : 'duplicate resolved: kept as a separate device', { deviceId: id });
    return deviceDetail((await ctx.devices.get(id))!, now);
  };
  app.post(`${API_PATHS.devices}/:id/replace`, resolve('replace'));
  app.post(`${API_PATHS.devices}/:id/keep`, resolve('keep'));

  app.get(API_PATHS.alerts, async (req): Promise<AlertList> => {
    requireAdmin(req);
    const q = validate(AdminListQuerySchema, req.query);
    return {
      alerts: (
        await ctx.alerts.list({ ...(q.tenant !== undefined ? { tenant: q.tenant } : {}), ...(q.deviceId !== undefined ? { deviceId: q.deviceId } : {}), limit: q.limit, offset: q.offset })
      ).map(alertView),
    };
  });
}
