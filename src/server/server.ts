/**
 * The reference partner backend: fastify over SQLite or PostgreSQL (database/storage.ts). `buildServer`
 * returns the fastify instance (not listening), so tests use `inject` or listen on a
 * loopback port, and `vigil server start` listens on the address it was given.
 */
import Fastify, { type FastifyError, type FastifyInstance } from 'fastify';
import { API_PATHS, PROTOCOL_LIMITS } from '../shared/protocol.js';
import { silentLogger, type Logger } from '../core/logging/logger.js';
import type { Storage } from './database/storage.js';
import { IngestService } from './ingest-service.js';
import { FleetDirectives } from './fleet-directives.js';
import { registerPackRoutes } from './routes/pack-routes.js';
import { registerFleetRoutes } from './routes/fleet-routes.js';
import { registerAlertTriageRoutes } from './routes/alert-triage-routes.js';
import { registerFleetResponsePageRoutes } from './routes/fleet-response-page-routes.js';
import { AdminAuth } from './admin-auth.js';
import { RateLimiter, type RatePolicy } from './rate-limiter.js';
import { ApiError } from './api-error.js';
import { FLEET_PAGE_CSP } from './fleet-page.js';
import type { ServerContext, ServerLimits } from './server-context.js';
import { registerIngestRoutes } from './routes/ingest-routes.js';
import { registerAdminRoutes } from './routes/admin-routes.js';
import { registerFleetPageRoutes } from './routes/fleet-page-routes.js';
import { createNotifications, type NotifyOptions } from './notify/notifications.js';
import { registerNotifyRoutes } from './routes/notify-routes.js';

export interface ServerOptions {
  /** The stores over SQLite or PostgreSQL (database/open-storage.ts); the caller closes it after the server. */
  storage: Storage;
  /** SHA-256 of the admin token. */
  adminTokenHash: Buffer;
  logger?: Logger;
  /** The heartbeat interval devices are told to use. */
  heartbeatIntervalSec?: number;
  /** Per-device limit on authenticated requests. */
  deviceRateLimit?: RatePolicy;
  /** Per-address limit on failed enrolments. */
  enrollFailureRateLimit?: RatePolicy;
  /** Budgets for successful enrolments, per client address and per enrolment token. */
  enrollSuccessRateLimit?: { perAddress?: RatePolicy; perToken?: RatePolicy };
  limits?: Partial<ServerLimits>;
  /** Per-device alert quota, counted in alerts (not requests). */
  alertQuota?: RatePolicy;
  /** Alerts received longer ago than this are deleted (hourly, and at start). */
  alertRetentionDays?: number;
  /** Mark cookies Secure (set when the server is reached over https, e.g. behind a TLS proxy). */
  secureCookies?: boolean;
  /**
   * Addresses (IPs or CIDRs) of reverse proxies whose X-Forwarded-For and X-Forwarded-Proto
   * are believed: the client address then comes from X-Forwarded-For (login rate limit,
   * logs), and a request the proxy received over https gets Secure cookies. Default: none.
   */
  trustProxy?: readonly string[];
  /** Serve https directly (otherwise put a TLS reverse proxy in front). */
  https?: { key: Buffer; cert: Buffer };
  now?: () => number;
  /** issue 14: notification tuning (public URL for links, burst window, delivery policy). */
  notify?: NotifyOptions;
}

export const DEFAULT_DEVICE_RATE_LIMIT: RatePolicy = { capacity: 60, refillPerSec: 1 };
/**
 * Failed enrolments per client address: 30, then one per 10 s. Only failures count, so a
 * customer site enrolling hundreds of PCs from one NAT address is never slowed; a client
 * trying tokens (or a PC with a wrong one in a tight loop) is.
 */
export const DEFAULT_ENROLL_FAILURE_RATE_LIMIT: RatePolicy = { capacity: 30, refillPerSec: 0.1 };

/**
 * Successful enrolments per client address: 1,000 at once, then one per 2 s (1,800 an
 * hour), so a customer site behind one NAT address enrolling every PC from its RMM in one
 * go is never slowed, while a holder of a leaked token cannot create devices without end.
 */
export const DEFAULT_ENROLL_ADDRESS_RATE_LIMIT: RatePolicy = { capacity: 1000, refillPerSec: 0.5 };
/** Successful enrolments per token, across all addresses: 5,000 at once, then one per second. */
export const DEFAULT_ENROLL_TOKEN_RATE_LIMIT: RatePolicy = { capacity: 5000, refillPerSec: 1 };

/**
 * Alerts per device: 500 at once, then 500 an hour. A compromised PC raises a handful of
 * scan alerts and one per C2 connection the watcher sees (beacons come minutes apart), so
 * only a runaway or hostile device meets it; its excess is refused by id and counted.
 */
export const DEFAULT_ALERT_QUOTA: RatePolicy = { capacity: 500, refillPerSec: 500 / 3600 };
export const DEFAULT_ALERT_RETENTION_DAYS = 365;

export async function buildServer(opts: ServerOptions): Promise<FastifyInstance> {
  const now = opts.now ?? Date.now;
  const log = opts.logger ?? silentLogger;
  const limits: ServerLimits = {
    maxWireBodyBytes: opts.limits?.maxWireBodyBytes ?? PROTOCOL_LIMITS.maxWireBodyBytes,
    maxDecodedBodyBytes: opts.limits?.maxDecodedBodyBytes ?? PROTOCOL_LIMITS.maxDecodedBodyBytes,
    replayWindowSec: opts.limits?.replayWindowSec ?? PROTOCOL_LIMITS.replayWindowSec,
  };
  const heartbeatIntervalSec = opts.heartbeatIntervalSec ?? 60;
  const storage = opts.storage;
  const { tenants, devices, alerts, nonces, packs, control, sessions } = storage;
  const notify = createNotifications(storage, log, now, opts.notify); // issue 14
  const ctx: ServerContext = {
    storage,
    tenants,
    devices,
    alerts,
    nonces,
    ingest: new IngestService({ storage, notify: notify.notifier }, () => heartbeatIntervalSec, limits.replayWindowSec, opts.alertQuota ?? DEFAULT_ALERT_QUOTA),
    packs,
    control,
    directives: new FleetDirectives({ packs, control }, () => heartbeatIntervalSec),
    triage: storage.triage,
    adminAuth: new AdminAuth(opts.adminTokenHash, sessions, now),
    deviceLimiter: new RateLimiter(opts.deviceRateLimit ?? DEFAULT_DEVICE_RATE_LIMIT, now),
    loginLimiter: new RateLimiter({ capacity: 10, refillPerSec: 0.2 }, now), // per process, like the other in-memory limiters
    enrollFailureLimiter: new RateLimiter(opts.enrollFailureRateLimit ?? DEFAULT_ENROLL_FAILURE_RATE_LIMIT, now),
    enrollAddressLimiter: new RateLimiter(opts.enrollSuccessRateLimit?.perAddress ?? DEFAULT_ENROLL_ADDRESS_RATE_LIMIT, now),
    enrollTokenLimiter: new RateLimiter(opts.enrollSuccessRateLimit?.perToken ?? DEFAULT_ENROLL_TOKEN_RATE_LIMIT, now),
    limits,
    heartbeatIntervalSec,
    secureCookies: opts.secureCookies ?? opts.https !== undefined,
    now,
    log,
    notify,
  };

  const trustProxy = opts.trustProxy && opts.trustProxy.length > 0 ? [...opts.trustProxy] : false;
  // requestTimeout: a client that opens a request and never finishes it (slowloris, or an
  // agent aborted mid-upload) must not hold a connection, nor block close(), for ever.
  const base = { logger: false, bodyLimit: limits.maxWireBodyBytes, trustProxy, return503OnClosing: true, requestTimeout: 30_000 } as const;
  const app: FastifyInstance = opts.https ? (Fastify({ ...base, https: opts.https }) as unknown as FastifyInstance) : Fastify(base);

  // Ingest bodies stay raw bytes: the signature covers them as sent, and they are inflated
  // and parsed only after the request is authenticated.
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'buffer' }, (_req, body, done) => done(null, body));
  app.removeContentTypeParser('text/plain');
  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string', bodyLimit: 4096 }, (_req, body, done) => {
    done(null, Object.fromEntries(new URLSearchParams(body as string)));
  });

  app.addHook('onSend', async (_req, reply, payload) => {
    reply.header('x-content-type-options', 'nosniff');
    reply.header('cache-control', 'no-store');
    // same-origin, not no-referrer: with no-referrer browsers send "Origin: null" on form posts.
    reply.header('referrer-policy', 'same-origin');
    const type = String(reply.getHeader('content-type') ?? '');
    if (type.startsWith('text/html')) {
      reply.header('content-security-policy', FLEET_PAGE_CSP);
      reply.header('x-frame-options', 'DENY');
    }
    return payload;
  });

  app.setErrorHandler((err: FastifyError | ApiError, req, reply) => {
    const apiErr = toApiError(err);
    // The path only: a query string may carry a secret (someone sending ?token=...).
    const url = pathOf(req.url);
    if (apiErr.statusCode >= 500) log.error('request failed', { method: req.method, url, error: err });
    else if (apiErr.code !== 'rate_limited') {
      log.info('request refused', { method: req.method, url, status: apiErr.statusCode, code: apiErr.code, device: req.headers['x-vigil-device'] });
    }
    if (apiErr.extra.retryAfterSec !== undefined) reply.header('retry-after', String(apiErr.extra.retryAfterSec));
    if (apiErr.code === 'unauthorized' && req.url.startsWith('/v1/')) reply.header('www-authenticate', 'Bearer realm="vigil-admin"');
    return reply.code(apiErr.statusCode).type('application/json; charset=utf-8').send(apiErr.body());
  });

  app.setNotFoundHandler((req, reply) => {
    const e = new ApiError(404, 'not_found', `no route ${req.method} ${pathOf(req.url)}`);
    return reply.code(404).send(e.body());
  });

  // Liveness: the process answers. Readiness (for a load balancer's health check): it can
  // also reach its database within 2 s; a process that cannot is taken out of rotation
  // instead of failing every device request it is sent.
  app.get(API_PATHS.healthz, async () => ({ ok: true }));
  app.get('/readyz', async (_req, reply) => {
    const problem = await databaseReachable(ctx.storage, 2000);
    if (problem) {
      log.warn('not ready: the database cannot be reached', { problem });
      return reply.code(503).send({ ok: false, database: 'unreachable' });
    }
    return { ok: true, database: 'ok' };
  });
  registerIngestRoutes(app, ctx);
  registerAdminRoutes(app, ctx);
  registerFleetPageRoutes(app, ctx);
  registerNotifyRoutes(app, ctx); // issue 14
  registerPackRoutes(app, ctx);
  registerFleetRoutes(app, ctx);
  registerAlertTriageRoutes(app, ctx);
  registerFleetResponsePageRoutes(app, ctx);

  // Forget request nonces once their timestamps have left the replay window, and expired sessions.
  const purge = setInterval(() => {
    void (async () => {
      try {
        const n = await nonces.purge(now());
        if (n) log.debug('purged request nonces', { count: n });
        await sessions.purge(now());
      } catch (err) {
        log.error('nonce purge failed', { error: err });
      }
    })();
  }, 60_000);
  purge.unref();
  app.addHook('onClose', async () => clearInterval(purge));
  // issue 14: the delivery worker runs while the server does.
  app.addHook('onReady', async () => notify.worker.start());
  app.addHook('onClose', async () => notify.worker.stop());

  // Alert retention: at start, then hourly.
  const retentionMs = (opts.alertRetentionDays ?? DEFAULT_ALERT_RETENTION_DAYS) * 86_400_000;
  const applyRetention = async (): Promise<void> => {
    try {
      const n = await alerts.purgeReceivedBefore(now() - retentionMs);
      if (n) log.info('deleted alerts past the retention period', { count: n, days: opts.alertRetentionDays ?? DEFAULT_ALERT_RETENTION_DAYS });
    } catch (err) {
      log.error('alert retention failed', { error: err });
    }
  };
  await applyRetention();
  const retention = setInterval(() => void applyRetention(), 3_600_000);
  retention.unref();
  app.addHook('onClose', async () => clearInterval(retention));

  return app;
}

/** Undefined when `SELECT 1` answers within `timeoutMs`; otherwise what went wrong (never the URL). */
async function databaseReachable(storage: Storage, timeoutMs: number): Promise<string | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<string>((resolve) => (timer = setTimeout(() => resolve(`no answer within ${timeoutMs} ms`), timeoutMs)));
  try {
    return await Promise.race([storage.database.get('SELECT 1 AS one').then(() => undefined), timeout]);
  } catch (err) {
    return (err as Error).message.slice(0, 300);
  } finally {
    clearTimeout(timer);
  }
}

/** A request URL without its query string or fragment, cut to 200 characters: what logs and errors may show. */
export function pathOf(url: string): string {
  return url.split(/[?#]/, 1)[0]!.slice(0, 200);
}

function toApiError(err: FastifyError | ApiError): ApiError {
  if (err instanceof ApiError) return err;
  switch (err.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new ApiError(413, 'payload_too_large', 'the request body is too large');
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return new ApiError(415, 'unsupported_media_type', 'send the body as application/json');
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
      return new ApiError(400, 'malformed_json', 'the body is not valid JSON');
    default: {
      const status = err.statusCode ?? 500;
      if (status >= 400 && status < 500) return new ApiError(status, 'invalid_request', err.message.slice(0, 300));
      return new ApiError(500, 'internal_error', 'the server failed to handle this request; it was logged');
    }
  }
}
