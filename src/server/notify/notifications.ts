/** Wires the notification parts together for the server: store, notifier, worker. */
import type { Logger } from '../../core/logging/logger.js';
import type { Storage } from '../database/storage.js';
import { Notifier } from './notifier.js';
import { DeliveryPolicySchema, DeliveryWorker, type DeliveryPolicy } from './delivery-worker.js';
import { senderFor } from './senders/sender-for-channel.js';

export interface NotifyOptions {
  /** The fleet page as people reach it (links in messages). Default: http://127.0.0.1:8740. */
  publicUrl?: string | (() => string);
  burstWindowMs?: number;
  silentAfterIntervals?: number;
  policy?: Partial<DeliveryPolicy>;
}

export function createNotifications(storage: Storage, log: Logger, now: () => number, o: NotifyOptions = {}) {
  const store = storage.notify;
  const pub = o.publicUrl ?? 'http://127.0.0.1:8740';
  const notifier = new Notifier(storage, {
    publicUrl: typeof pub === 'function' ? pub : () => pub,
    ...(o.burstWindowMs !== undefined ? { burstWindowMs: o.burstWindowMs } : {}),
    ...(o.silentAfterIntervals !== undefined ? { silentAfterIntervals: o.silentAfterIntervals } : {}),
  });
  const worker = new DeliveryWorker({ storage, notifier, senderFor: (c) => senderFor(c.config), log, now, policy: DeliveryPolicySchema.parse(o.policy ?? {}) });
  return { store, notifier, worker };
}
