/**
 * Packs over HTTP. Admin (Bearer token): GET /v1/packs (publications), POST /v1/packs
 * (publish: the body is the signed envelope file), POST /v1/packs/{id}/withdraw, and the
 * accepted signing keys under /v1/pack-keys. Device (signed like every device request):
 * GET /v1/packs/{id}/{version}, the envelope bytes exactly as published, with an ETag of
 * their SHA-256 (If-None-Match gives 304) and gzip when the device accepts it.
 */
import { gzipSync } from 'node:zlib';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { API_PATHS } from '../../shared/protocol.js';
import { FleetPackIdSchema, PackKeyAddRequestSchema, PackKeyIdSchema, PackPublishQuerySchema, PackWithdrawRequestSchema } from '../../shared/fleet-protocol.js';
import { TrustedPackKeySchema } from '../../core/pack/trusted-keys.js';
import { MAX_PACK_BYTES } from '../../core/pack/load.js';
import { ApiError } from '../api-error.js';
import { authenticateDevice } from '../device-auth.js';
import { parseJson, validate } from '../request-body.js';
import { publicationView, publishPack, refusalAsApiError, withdrawPack } from '../pack-publishing.js';
import type { ServerContext } from '../server-context.js';
import { packCoverage } from '../pack-coverage.js';

const PackParams = z.object({ id: FleetPackIdSchema });
const PackVersionParams = z.object({ id: FleetPackIdSchema, version: z.string().regex(/^\d{1,9}$/, 'a version is a decimal integer') });
const KeyParams = z.object({ keyId: PackKeyIdSchema });

/** Gzip of each served envelope, by SHA-256: a wave of a thousand devices compresses it once. */
class GzipCache {
  private readonly map = new Map<string, Buffer>();
  get(sha256: string, bytes: Buffer): Buffer {
    let z = this.map.get(sha256);
    if (!z) {
      z = gzipSync(bytes);
      if (this.map.size >= 64) this.map.delete(this.map.keys().next().value!);
      this.map.set(sha256, z);
    }
    return z;
  }
}

export function registerPackRoutes(app: FastifyInstance, ctx: ServerContext): void {
  const requireAdmin = (req: FastifyRequest): void => {
    if (!ctx.adminAuth.checkBearer(req.headers.authorization)) {
      throw new ApiError(401, 'unauthorized', 'the admin API needs Authorization: Bearer <admin token>');
    }
  };
  const gzip = new GzipCache();

  app.get(API_PATHS.packs, async (req) => {
    requireAdmin(req);
    return { packs: (await ctx.packs.list()).map(publicationView) };
  });

  app.get(API_PATHS.packCoverage, async (req) => {
    requireAdmin(req);
    return { coverage: await packCoverage({ packs: ctx.packs, devices: ctx.devices }, ctx.now()) };
  });

  app.post(API_PATHS.packs, { bodyLimit: MAX_PACK_BYTES + 1024 }, async (req, reply) => {
    requireAdmin(req);
    const q = validate(PackPublishQuerySchema, req.query);
    const bytes = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
    if (bytes.length === 0) throw new ApiError(400, 'malformed_json', 'the body must be the signed pack envelope (application/json)');
    let view;
    try {
      view = await ctx.storage.transaction((tx) => publishPack(tx, { bytes, tenant: q.tenant ?? null, by: q.by ?? 'admin API', nowMs: ctx.now() }));
    } catch (err) {
      refusalAsApiError(err);
    }
    ctx.log.warn('pack published', { packId: view.packId, version: view.version, tenant: view.tenant ?? '(every tenant)', signer: view.signerKeyId, by: view.publishedBy });
    return reply.code(201).send(view);
  });

  app.post(`${API_PATHS.packs}/:id/withdraw`, async (req) => {
    requireAdmin(req);
    const { id } = validate(PackParams, req.params);
    const body = Buffer.isBuffer(req.body) && req.body.length ? validate(PackWithdrawRequestSchema, parseJson(req.body)) : {};
    let scope: { tenantId: string | null } | undefined;
    if (body.tenant !== undefined) {
      const t = await ctx.tenants.tenantByName(body.tenant);
      if (!t) throw new ApiError(404, 'not_found', `no tenant named "${body.tenant}"`);
      scope = { tenantId: t.id };
    } else if (body.all) scope = { tenantId: null };
    const n = await withdrawPack({ storage: ctx.storage, notifier: ctx.notify.notifier }, { packId: id, by: body.by ?? 'admin API', nowMs: ctx.now(), ...(scope ? { scope } : {}) });
    if (n === 0) throw new ApiError(404, 'not_found', `no active publication of ${id}`);
    ctx.log.warn('pack withdrawn', { packId: id, publications: n });
    return { withdrawn: n, packs: (await ctx.packs.list()).filter((r) => r.pack_id === id).map(publicationView) };
  });

  app.get(API_PATHS.packKeys, async (req) => {
    requireAdmin(req);
    return { keys: (await ctx.packs.keys()).map((k) => ({ keyId: k.key_id, publicKey: k.public_key, addedAt: new Date(k.added_at).toISOString() })) };
  });

  app.post(API_PATHS.packKeys, async (req, reply) => {
    requireAdmin(req);
    const key = validate(PackKeyAddRequestSchema.pipe(TrustedPackKeySchema), parseJson(Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0)));
    await ctx.packs.addKey(key.keyId, key.publicKey, ctx.now());
    ctx.log.warn('pack key added', { keyId: key.keyId });
    return reply.code(201).send({ keyId: key.keyId, publicKey: key.publicKey });
  });

  app.post(`${API_PATHS.packKeys}/:keyId/remove`, async (req) => {
    requireAdmin(req);
    const { keyId } = validate(KeyParams, req.params);
    if (!(await ctx.packs.removeKey(keyId))) throw new ApiError(404, 'not_found', `no pack key ${keyId}`);
    ctx.log.warn('pack key removed', { keyId });
    return { removed: keyId };
  });

  // Device fetch. Signed like POST requests over an empty body; the nonce is claimed so a
  // captured request cannot be replayed within the window.
  app.get(`${API_PATHS.packs}/:id/:version`, async (req, reply: FastifyReply) => {
    const { id, version } = validate(PackVersionParams, req.params);
    const apiPath = `${API_PATHS.packs}/${id}/${version}`;
    const device = await authenticateDevice(
      { method: 'GET', path: apiPath, headers: req.headers, rawBody: Buffer.alloc(0), nowMs: ctx.now(), windowSec: ctx.limits.replayWindowSec },
      (d) => ctx.devices.authRecord(d),
    );
    const rate = ctx.deviceLimiter.take(device.id); // per process
    if (!rate.allowed) throw new ApiError(429, 'rate_limited', `too many requests from this device; retry in ${rate.retryAfterSec} s`, { retryAfterSec: rate.retryAfterSec });
    if (!(await ctx.nonces.claim(device.id, device.nonce, device.nonceExpiresAtMs))) throw new ApiError(401, 'replayed_request', 'this request was already received (same nonce)');
    const found = await ctx.packs.envelope(device.tenantId, id, Number(version));
    if (!found) throw new ApiError(404, 'not_found', `no pack ${id} v${version} for this device`);
    const etag = `"${found.sha256}"`;
    reply.header('etag', etag);
    if ((req.headers['if-none-match'] ?? '').split(',').map((s) => s.trim()).includes(etag)) return reply.code(304).send();
    reply.type('application/json');
    if (/\bgzip\b/.test(String(req.headers['accept-encoding'] ?? ''))) {
      reply.header('content-encoding', 'gzip');
      reply.header('vary', 'accept-encoding');
      return reply.send(gzip.get(found.sha256, found.envelope));
    }
    return reply.send(found.envelope);
  });
}
