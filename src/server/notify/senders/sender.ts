/**
 * What a channel's sender does: deliver one event, carrying its stable delivery id, within
 * a deadline. A failure throws `DeliveryError` with a message safe to store and show (no
 * URL, no secret).
 */
import type { NotifyEvent } from '../events.js';

export interface Sender {
  send(ev: NotifyEvent, deliveryId: string, timeoutMs: number): Promise<void>;
  /** Releases pooled connections (e-mail transport). */
  close?(): void;
}

export class DeliveryError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DeliveryError';
  }
}

/** POSTs JSON; any 2xx is delivered. The URL never appears in the error (it may hold a token). */
export async function postJson(url: string, body: string, headers: Record<string, string>, timeoutMs: number): Promise<void> {
  let res: Response;
  try {
    res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', 'user-agent': 'Vigil-Notify/1', ...headers }, body, signal: AbortSignal.timeout(timeoutMs), redirect: 'error' });
  } catch (err) {
    const e = err as Error & { cause?: { code?: string } };
    if (e.name === 'TimeoutError' || e.name === 'AbortError') throw new DeliveryError(`no answer within ${timeoutMs} ms`);
    throw new DeliveryError(`request failed: ${e.cause?.code ?? e.name}`);
  }
  // Drain (bounded) so the connection can be reused; the body is not needed.
  await res.arrayBuffer().catch(() => undefined);
  if (res.status < 200 || res.status > 299) throw new DeliveryError(`the receiver answered HTTP ${res.status}`);
}
