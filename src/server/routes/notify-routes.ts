/**
 * Notification channels (issue 14), admin API under /v1/notify/channels (Bearer admin
 * token), and the fleet page's "send test" form (session cookie, same origin).
 *
 *   GET    /v1/notify/channels            channels with their delivery state (no secrets)
 *   POST   /v1/notify/channels            add one; a webhook's secret is in this answer only
 *   DELETE /v1/notify/channels/:id        remove it and its undelivered events
 *   POST   /v1/notify/channels/:id/test   queue a test event
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { ApiError } from '../api-error.js';
import { ChannelError } from '../notify/notifier.js';
import { channelViews } from '../notify/channel-view.js';
import type { ServerContext } from '../server-context.js';

export const NOTIFY_PATHS = { channels: '/v1/notify/channels', pageTest: '/notify/test' } as const;
const MAX_BODY = 64 * 1024;

export function registerNotifyRoutes(app: FastifyInstance, ctx: ServerContext): void {
  const { notifier, store, worker } = ctx.notify;
  const requireAdmin = (req: FastifyRequest): void => {
    if (!ctx.adminAuth.checkBearer(req.headers.authorization)) throw new ApiError(401, 'unauthorized', 'the admin API needs Authorization: Bearer <admin token>');
  };
  const channelParam = async (req: FastifyRequest): Promise<string> => {
    const id = (req.params as { id?: unknown }).id;
    const c = typeof id === 'string' ? await notifier.get(id) : undefined;
    if (!c) throw new ApiError(404, 'not_found', 'no such channel');
    return c.id;
  };

  app.get(NOTIFY_PATHS.channels, async (req) => {
    requireAdmin(req);
    return { channels: channelViews(await notifier.list(), await store.stats()) };
  });

  app.post(NOTIFY_PATHS.channels, async (req, reply) => {
    requireAdmin(req);
    const raw = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
    if (raw.length > MAX_BODY) throw new ApiError(413, 'payload_too_large', 'a channel is at most 64 KiB of JSON');
    let input: unknown;
    try {
      input = JSON.parse(raw.toString('utf8'));
    } catch {
      throw new ApiError(400, 'malformed_json', 'the body is not valid JSON');
    }
    try {
      const c = await notifier.add(input, ctx.now());
      ctx.log.info('notification channel added', { channel: c.name, type: c.config.type, tenant: c.tenantName });
      const view = channelViews([c], [])[0]!;
      return reply.code(201).send({ channel: view, ...(c.config.type === 'webhook' ? { secret: c.config.secret } : {}) });
    } catch (err) {
      if (err instanceof ChannelError) throw new ApiError(400, 'invalid_request', err.message);
      throw err;
    }
  });

  app.delete(`${NOTIFY_PATHS.channels}/:id`, async (req) => {
    requireAdmin(req);
    const id = await channelParam(req);
    await notifier.remove(id);
    ctx.log.info('notification channel removed', { channelId: id });
    return { removed: id };
  });

  app.post(`${NOTIFY_PATHS.channels}/:id/test`, async (req, reply) => {
    requireAdmin(req);
    const deliveryId = await notifier.queueTest(await channelParam(req), ctx.now());
    worker.kick();
    return reply.code(202).send({ deliveryId });
  });

  // The fleet page's "Send test" button: a plain form, so the page stays script-free.
  app.post(NOTIFY_PATHS.pageTest, async (req, reply) => {
    const origin = req.headers.origin;
    if (origin !== undefined) {
      let ok = false;
      try {
        ok = new URL(origin).host === req.host;
      } catch {
        ok = false;
      }
      if (!ok) throw new ApiError(403, 'unauthorized', 'cross-origin form post refused');
    }
    if (!(await ctx.adminAuth.checkSession(req.headers.cookie))) return reply.redirect('/login', 303);
    const body = typeof req.body === 'object' && req.body !== null ? (req.body as Record<string, unknown>) : {};
    const id = typeof body.channel === 'string' ? (await notifier.get(body.channel))?.id : undefined;
    if (!id) throw new ApiError(404, 'not_found', 'no such channel');
    await notifier.queueTest(id, ctx.now());
    worker.kick();
    return reply.redirect('/?tested=1#notifications', 303);
  });
}
