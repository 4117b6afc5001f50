/**
 * Standard Webhooks (https://www.standardwebhooks.com/, spec v1): JSON POST with
 * `webhook-id` (the stable delivery id: the same on every retry, so receivers drop
 * repeats), `webhook-timestamp` (Unix seconds of this attempt) and `webhook-signature`
 * `v1,<base64 HMAC-SHA256 over "id.timestamp.body">`, keyed with the base64-decoded part of
 * the `whsec_` secret. Receivers verify with the specification's libraries.
 */
import { createHmac } from 'node:crypto';
import type { WebhookConfig } from '../channel-config.js';
import type { NotifyEvent } from '../events.js';
import { postJson, type Sender } from './sender.js';

export function webhookSignature(secret: string, id: string, timestampSec: number, body: string): string {
  const key = Buffer.from(secret.replace(/^whsec_/, ''), 'base64');
  return 'v1,' + createHmac('sha256', key).update(`${id}.${timestampSec}.${body}`).digest('base64');
}

export function webhookSender(c: WebhookConfig, now: () => number = Date.now): Sender {
  if (!c.secret) throw new Error('a webhook channel needs its secret');
  const secret = c.secret;
  return {
    async send(ev: NotifyEvent, deliveryId: string, timeoutMs: number) {
      const body = JSON.stringify(ev);
      const ts = Math.floor(now() / 1000);
      await postJson(c.url, body, { 'webhook-id': deliveryId, 'webhook-timestamp': String(ts), 'webhook-signature': webhookSignature(secret, deliveryId, ts, body) }, timeoutMs);
    },
  };
}
