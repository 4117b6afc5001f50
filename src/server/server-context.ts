/** What the route modules share: stores, services, auth, limits, clock and logger. */
import type { Logger } from '../core/logging/logger.js';
import type { Storage } from './database/storage.js';
import type { TenantStore } from './database/tenant-store.js';
import type { DeviceStore } from './database/device-store.js';
import type { AlertStore } from './database/alert-store.js';
import type { NonceStore } from './database/nonce-store.js';
import type { IngestService } from './ingest-service.js';
import type { PackStore } from './database/pack-store.js';
import type { FleetControlStore } from './database/fleet-control-store.js';
import type { FleetDirectives } from './fleet-directives.js';
import type { AlertTriageStore } from './database/alert-triage-store.js';
import type { AdminAuth } from './admin-auth.js';
import type { RateLimiter } from './rate-limiter.js';
import type { Notifier } from './notify/notifier.js';
import type { NotifyStore } from './database/notify-store.js';
import type { DeliveryWorker } from './notify/delivery-worker.js';

export interface ServerLimits {
  maxWireBodyBytes: number;
  maxDecodedBodyBytes: number;
  replayWindowSec: number;
}

export interface ServerContext {
  /** Every store over the database, and `transaction` for writes that go together. The store fields below are the same objects. */
  storage: Storage;
  tenants: TenantStore;
  devices: DeviceStore;
  alerts: AlertStore;
  nonces: NonceStore;
  ingest: IngestService;
  /** Fleet response: published packs, check-now requests, heartbeat overrides. */
  packs: PackStore;
  control: FleetControlStore;
  directives: FleetDirectives;
  triage: AlertTriageStore;
  adminAuth: AdminAuth;
  /** Per process (in memory): N server processes allow a device up to N times the rate. */
  deviceLimiter: RateLimiter;
  /** Per process (in memory). */
  loginLimiter: RateLimiter;
  /** Failed enrolments (a token that is not valid) per client address. Per process (in memory). */
  enrollFailureLimiter: RateLimiter;
  /** Successful enrolments per client address, and per enrolment token (keyed by its hash). Per process (in memory). */
  enrollAddressLimiter: RateLimiter;
  enrollTokenLimiter: RateLimiter;
  limits: ServerLimits;
  heartbeatIntervalSec: number;
  secureCookies: boolean;
  now: () => number;
  log: Logger;
  /** issue 14: notification channels, their queue and its worker. */
  notify: { notifier: Notifier; store: NotifyStore; worker: DeliveryWorker };
}
