/**
 * POST /v1/enroll, /v1/heartbeats, /v1/alerts. Device requests are authenticated on their
 * raw bytes first, then rate-limited per device, then inflated, parsed and validated; the
 * write and the nonce claim share one transaction. Enrolment is unauthenticated: its
 * failures are limited per client address.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import {
  AlertsRequestSchema,
  API_PATHS,
  AUTH_HEADERS,
  EnrollRequestSchema,
  HeartbeatSchema,
  type AlertsResponse,
  type HeartbeatResponse,
} from '../../shared/protocol.js';
import { ApiError } from '../api-error.js';
import { authenticateDevice, type AuthenticatedDevice } from '../device-auth.js';
import { readBody } from '../request-body.js';
import { hashToken } from '../secret-tokens.js';
import type { TakeResult } from '../rate-limiter.js';
import type { ServerContext } from '../server-context.js';

function contentEncoding(req: FastifyRequest): string | undefined {
  const v = req.headers['content-encoding'];
  return Array.isArray(v) ? v[0] : v;
}

/** Decoded bytes read of an enrolment request (a real one is under 1 KB). */
const ENROLL_BODY_BYTES = 16 * 1024;

function refuseOverBudget(r: TakeResult, where: string): void {
  if (!r.allowed) {
    throw new ApiError(429, 'rate_limited', `too many enrolments ${where}; retry in ${r.retryAfterSec} s (ask the partner if a site needs more)`, { retryAfterSec: r.retryAfterSec });
  }
}

export function registerIngestRoutes(app: FastifyInstance, ctx: ServerContext): void {
  const authenticateRaw = (req: FastifyRequest, path: string): Promise<AuthenticatedDevice> => {
    const raw = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
    return authenticateDevice(
      { method: req.method, path, headers: req.headers, rawBody: raw, nowMs: ctx.now(), windowSec: ctx.limits.replayWindowSec },
      (id) => ctx.devices.authRecord(id),
    );
  };
  const authenticate = async (req: FastifyRequest, path: string): Promise<AuthenticatedDevice> => {
    const device = await authenticateRaw(req, path);
    // Per process (in memory): behind a load balancer each process counts on its own.
    const rate = ctx.deviceLimiter.take(device.id);
    if (!rate.allowed) {
      throw new ApiError(429, 'rate_limited', `too many requests from this device; retry in ${rate.retryAfterSec} s`, { retryAfterSec: rate.retryAfterSec });
    }
    return device;
  };

  app.post(API_PATHS.enroll, async (req, reply) => {
    // An address over its failed-enrolment budget (a PC looping on a wrong token, or someone
    // trying tokens) gets 429 for anything but an enrolment with a valid token: one bad PC
    // behind a site's NAT must not lock out the others. Its bodies are read only up to
    // ENROLL_BODY_BYTES (an enrolment is under 1 KB), so a locked-out address costs little.
    // The enrolment budgets (failures and successes, per address and per token) are per process (in memory).
    const gate = ctx.enrollFailureLimiter.check(req.ip);
    const lockedOut = (): ApiError =>
      new ApiError(429, 'rate_limited', `too many failed enrolments from this address; retry in ${gate.allowed ? 1 : gate.retryAfterSec} s (enrolments with a valid token still pass)`, {
        retryAfterSec: gate.allowed ? 1 : gate.retryAfterSec,
      });
    refuseOverBudget(ctx.enrollAddressLimiter.check(req.ip), 'from this address');
    let res;
    let body;
    let tokenKey = '';
    try {
      // Signed with a device credential: proof that the caller is the device re-enrolling
      // (docs/PROTOCOL.md, "Re-enrolment"); verified on the raw bytes before parsing.
      const proof = req.headers[AUTH_HEADERS.device] !== undefined ? await authenticateRaw(req, API_PATHS.enroll) : undefined;
      body = readBody(EnrollRequestSchema, req.body, contentEncoding(req), Math.min(ENROLL_BODY_BYTES, ctx.limits.maxDecodedBodyBytes));
      if (!gate.allowed && !(await ctx.tenants.checkToken(body.enrollToken, ctx.now())).ok) throw lockedOut();
      tokenKey = hashToken(body.enrollToken).toString('hex');
      refuseOverBudget(ctx.enrollTokenLimiter.check(tokenKey), 'with this token');
      res = await ctx.ingest.enrol(body, ctx.now(), proof);
    } catch (e) {
      // Refused enrolments count (the error handler logs them); server faults and budget refusals do not.
      if (e instanceof ApiError && e.statusCode < 500 && e.code !== 'rate_limited') {
        if (!gate.allowed) throw lockedOut();
        ctx.enrollFailureLimiter.take(req.ip);
      }
      throw e;
    }
    // Successful enrolments spend the budgets (docs/SERVER.md, "Limits and rate limits").
    ctx.enrollAddressLimiter.take(req.ip);
    ctx.enrollTokenLimiter.take(tokenKey);
    ctx.log.info('device enrolled', { deviceId: res.deviceId, tenant: res.tenant.name, hostname: body.host.hostname, reenrolled: res.reenrolled });
    const flagged = (await ctx.devices.get(res.deviceId))?.duplicate_of;
    if (flagged) ctx.log.warn('enrolment under a stable id another device holds: new record flagged as a possible duplicate', { deviceId: res.deviceId, duplicateOf: flagged, tenant: res.tenant.name });
    return reply.code(res.reenrolled ? 200 : 201).send(res);
  });

  app.post(API_PATHS.heartbeats, async (req): Promise<HeartbeatResponse> => {
    const device = await authenticate(req, API_PATHS.heartbeats);
    const hb = readBody(HeartbeatSchema, req.body, contentEncoding(req), ctx.limits.maxDecodedBodyBytes);
    if (hb.deviceId !== device.id) throw new ApiError(403, 'device_mismatch', 'the body names another device than the credential');
    const r = await ctx.ingest.heartbeat(device, hb, ctx.now());
    // Fleet response (fleet-directives.ts): interval, packs to run, a check-now request.
    return {
      ok: true,
      serverTime: new Date(ctx.now()).toISOString(),
      ...(await ctx.directives.afterHeartbeat({ id: device.id, tenantId: device.tenantId }, hb, ctx.now())),
      heartbeatSeq: r.shownSeq,
      refusedAlerts: await ctx.devices.refusedAlerts(device.id),
    };
  });

  app.post(API_PATHS.alerts, async (req): Promise<AlertsResponse> => {
    const device = await authenticate(req, API_PATHS.alerts);
    const body = readBody(AlertsRequestSchema, req.body, contentEncoding(req), ctx.limits.maxDecodedBodyBytes);
    if (body.deviceId !== device.id) throw new ApiError(403, 'device_mismatch', 'the body names another device than the credential');
    const res = await ctx.ingest.storeAlerts(device, body.alerts, ctx.now());
    if (res.stored.length) ctx.log.warn('alerts received', { deviceId: device.id, stored: res.stored.length, duplicates: res.duplicates.length });
    if (res.refused) ctx.log.warn('alerts refused over the device quota', { deviceId: device.id, refused: res.refused.length });
    return res;
  });
}
