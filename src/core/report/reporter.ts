/**
 * Delivers the outbox to the partner backend: enrols when there is no credential, sends the
 * pending heartbeat, then the pending alerts in batches, and retries with backoff when the
 * backend or the network is down. One delivery pass runs at a time.
 *
 * Decisions per failure come from `failureAction` (protocol-client.ts):
 * retry with backoff; enrol again (the server forgot or rotated this credential); give up on
 * one request that can never succeed (alerts are counted as rejected, never silently lost);
 * or wait long because the agent is blocked (revoked, token refused) and say so in status.
 */
import type { Logger } from '../logging/logger.js';
import { silentLogger } from '../logging/logger.js';
import { PROTOCOL_LIMITS, type Alert, type EnrollRequest, type Heartbeat, type HeartbeatResponse, type TenantRef } from '../../shared/protocol.js';
import { backoffDelayMs, DEFAULT_BACKOFF, type BackoffPolicy } from './backoff.js';
import type { CredentialStore, StoredCredential } from './credential-store.js';
import type { Outbox } from './outbox.js';
import { failureAction, type FailureAction, type ProtocolClient, type ReportFailure } from './protocol-client.js';

export type EnrolmentState = 'enrolled' | 'not-enrolled' | 'blocked';

export interface ReporterStatus {
  enrolment: EnrolmentState;
  deviceId: string | null;
  tenant: TenantRef | null;
  lastAttemptAt: string | null;
  /** The last time a request to the backend succeeded. */
  lastSuccessAt: string | null;
  /** The last failure, in words without secrets; null after a success. */
  lastError: string | null;
  /** When blocked: why, and what would unblock it. */
  blockedReason: string | null;
  nextAttemptAt: string | null;
  /** The heartbeat interval the server asked for, if it did. */
  serverHeartbeatIntervalSec: number | null;
}

export interface FlushOutcome {
  ok: boolean;
  failure?: ReportFailure & { action: FailureAction };
  sentAlerts: number;
  heartbeatSent: boolean;
}

export interface ReporterOptions {
  client: ProtocolClient;
  outbox: Outbox;
  credentials: CredentialStore;
  /** The enrolment request, or undefined when no enrolment token is configured. */
  enrolmentRequest: () => Promise<EnrollRequest | undefined>;
  logger?: Logger;
  backoff?: BackoffPolicy;
  random?: () => number;
  now?: () => Date;
  /** Alerts per request (at most the protocol's limit). */
  batchSize?: number;
  /** Every accepted heartbeat's response (its directives: packs, check now), for the fleet module. */
  onHeartbeatResponse?: (res: HeartbeatResponse, cred: StoredCredential) => void;
}

export class Reporter {
  private credential: StoredCredential | undefined;
  private credentialLoaded = false;
  private running: Promise<FlushOutcome> | undefined;
  private again = false;
  private retryTimer: NodeJS.Timeout | undefined;
  private attempt = 0;
  private stopped = false;
  private readonly listeners = new Set<() => void>();
  private readonly log: Logger;
  private readonly now: () => Date;
  private readonly batchSize: number;
  private readonly st: ReporterStatus = {
    enrolment: 'not-enrolled',
    deviceId: null,
    tenant: null,
    lastAttemptAt: null,
    lastSuccessAt: null,
    lastError: null,
    blockedReason: null,
    nextAttemptAt: null,
    serverHeartbeatIntervalSec: null,
  };

  constructor(private readonly opts: ReporterOptions) {
    this.log = opts.logger ?? silentLogger;
    this.now = opts.now ?? (() => new Date());
    this.batchSize = Math.min(opts.batchSize ?? PROTOCOL_LIMITS.maxAlertsPerRequest, PROTOCOL_LIMITS.maxAlertsPerRequest);
  }

  status(): ReporterStatus {
    return { ...this.st };
  }

  /** Called whenever status() may have changed. Returns an unsubscribe function. */
  onChange(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Something new to send: deliver soon, unless waiting out a backoff. */
  trigger(): void {
    if (this.stopped || this.retryTimer) return;
    void this.kick();
  }

  /** Deliver now, ignoring any backoff, and resolve with the outcome of a full pass. */
  async flushNow(): Promise<FlushOutcome> {
    this.clearRetry();
    if (this.running) await this.running;
    return this.kick();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.clearRetry();
    if (this.running) await this.running.catch(() => undefined);
  }

  // -------------------------------------------------------------------------------------

  private emit(): void {
    for (const l of this.listeners) {
      try {
        l();
      } catch (err) {
        this.log.warn('status listener failed', { error: err });
      }
    }
  }

  private clearRetry(): void {
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    this.st.nextAttemptAt = null;
  }

  private kick(): Promise<FlushOutcome> {
    if (this.running) {
      this.again = true;
      return this.running;
    }
    const run = (async () => {
      let out: FlushOutcome;
      do {
        this.again = false;
        out = await this.pass();
        this.settle(out);
      } while (this.again && out.ok && !this.stopped);
      return out;
    })();
    this.running = run.finally(() => (this.running = undefined));
    return this.running;
  }

  private settle(out: FlushOutcome): void {
    if (out.ok) {
      this.attempt = 0;
      this.st.lastError = null;
      this.st.blockedReason = null;
      this.emit();
      return;
    }
    const f = out.failure!;
    this.st.lastError = f.message;
    const delay =
      f.action === 'blocked'
        ? (this.opts.backoff ?? DEFAULT_BACKOFF).capMs
        : backoffDelayMs(this.attempt++, this.opts.backoff, this.opts.random, f.retryAfterMs);
    if (f.action === 'blocked') {
      this.st.blockedReason = f.message;
      if (this.st.enrolment !== 'enrolled') this.st.enrolment = 'blocked';
    }
    this.log.warn('report delivery failed', { kind: f.kind, status: f.status, code: f.code, action: f.action, retryInMs: delay, message: f.message });
    if (!this.stopped) {
      this.st.nextAttemptAt = new Date(this.now().getTime() + delay).toISOString();
      this.retryTimer = setTimeout(() => {
        this.retryTimer = undefined;
        this.st.nextAttemptAt = null;
        void this.kick();
      }, delay);
      this.retryTimer.unref?.();
    }
    this.emit();
  }

  private fail(failure: ReportFailure, sentAlerts: number, heartbeatSent: boolean): FlushOutcome {
    return { ok: false, failure: { ...failure, action: failureAction(failure) }, sentAlerts, heartbeatSent };
  }

  private succeeded(): void {
    this.st.lastSuccessAt = this.now().toISOString();
  }

  private async currentCredential(): Promise<StoredCredential | undefined> {
    const server = this.opts.client.serverUrl.href;
    if (!this.credentialLoaded) {
      this.credentialLoaded = true;
      const loaded = await this.opts.credentials.load();
      if (loaded.state === 'present' && loaded.credential.serverUrl === server) this.adopt(loaded.credential);
      else if (loaded.state === 'invalid' || loaded.state === 'sealed') this.log.warn('stored device credential is unusable; enrolling again', { problem: loaded.problem });
    }
    return this.credential?.serverUrl === server ? this.credential : undefined;
  }

  private adopt(c: StoredCredential | undefined): void {
    this.credential = c;
    this.st.enrolment = c ? 'enrolled' : 'not-enrolled';
    this.st.deviceId = c?.deviceId ?? null;
    this.st.tenant = c?.tenant ?? null;
  }

  private async enrol(): Promise<{ ok: true; credential: StoredCredential } | { ok: false; failure: ReportFailure }> {
    const req = await this.opts.enrolmentRequest();
    if (!req) {
      return { ok: false, failure: { ok: false, kind: 'http', status: 401, code: 'missing_credentials', message: 'not enrolled and no enrolment token is configured (set enrollToken)' } };
    }
    const res = await this.opts.client.enroll(req);
    if (!res.ok) return { ok: false, failure: res };
    this.succeeded();
    const credential: StoredCredential = {
      version: 1,
      serverUrl: this.opts.client.serverUrl.href,
      deviceId: res.value.deviceId,
      deviceSecret: res.value.deviceSecret,
      tenant: res.value.tenant,
      enrolledAt: this.now().toISOString(),
    };
    try {
      await this.opts.credentials.save(credential);
    } catch (err) {
      // Keep reporting with the credential in memory; the next start enrols again.
      this.log.error('cannot store the device credential', { error: (err as NodeJS.ErrnoException).code ?? (err as Error).message });
    }
    this.log.info('enrolled', { deviceId: credential.deviceId, tenant: credential.tenant.name, reenrolled: res.value.reenrolled });
    // With the credential, in the same tick: the state never shows the server's interval
    // without the device id it was given for.
    this.st.serverHeartbeatIntervalSec = res.value.heartbeatIntervalSec;
    this.adopt(credential);
    return { ok: true, credential };
  }

  private async pass(): Promise<FlushOutcome> {
    this.st.lastAttemptAt = this.now().toISOString();
    let sentAlerts = 0;
    let heartbeatSent = false;
    let reenrolled = false;
    for (;;) {
      let cred = await this.currentCredential();
      if (!cred) {
        const e = await this.enrol();
        if (!e.ok) return this.fail(e.failure, sentAlerts, heartbeatSent);
        cred = e.credential;
      }
      const step = await this.deliver(cred);
      sentAlerts += step.sentAlerts;
      heartbeatSent ||= step.heartbeatSent;
      if (step.ok) return { ok: true, sentAlerts, heartbeatSent };
      const failure = step.failure!;
      if (failureAction(failure) === 'reenroll' && !reenrolled) {
        // The server no longer accepts this credential: forget it and enrol once more.
        reenrolled = true;
        this.log.warn('device credential refused; enrolling again', { code: failure.code });
        this.adopt(undefined);
        await this.opts.credentials.clear().catch(() => undefined);
        continue;
      }
      return this.fail(failure, sentAlerts, heartbeatSent);
    }
  }

  /**
   * Order: the oldest batch of alerts (the urgent part), then the heartbeat (so its backlog
   * figure is current, and a long backlog under a rate limit never starves it), then the
   * rest of the alerts.
   */
  private async deliver(cred: StoredCredential): Promise<{ ok: boolean; failure?: ReportFailure; sentAlerts: number; heartbeatSent: boolean }> {
    let sentAlerts = 0;
    let heartbeatSent = false;
    const first = await this.sendAlertBatches(cred, 1);
    sentAlerts += first.sent;
    if (first.failure) return { ok: false, failure: first.failure, sentAlerts, heartbeatSent };
    const hb = await this.sendHeartbeat(cred);
    heartbeatSent = hb.sent;
    if (hb.failure) return { ok: false, failure: hb.failure, sentAlerts, heartbeatSent };
    const rest = await this.sendAlertBatches(cred, Infinity);
    sentAlerts += rest.sent;
    if (rest.failure) return { ok: false, failure: rest.failure, sentAlerts, heartbeatSent };
    return { ok: true, sentAlerts, heartbeatSent };
  }

  private async sendHeartbeat(cred: StoredCredential): Promise<{ sent: boolean; failure?: ReportFailure }> {
    const { client, outbox } = this.opts;
    const draft = outbox.pendingHeartbeat();
    if (!draft) return { sent: false };
    const stats = outbox.stats();
    const hb: Heartbeat = {
      ...draft,
      deviceId: cred.deviceId,
      outbox: { pendingAlerts: stats.pendingAlerts, droppedAlerts: stats.droppedAlerts, rejectedAlerts: stats.rejectedAlerts, oldestPendingAt: stats.oldestPendingAt },
    };
    const res = await client.heartbeat(cred, hb);
    if (res.ok) {
      this.succeeded();
      this.st.serverHeartbeatIntervalSec = res.value.heartbeatIntervalSec;
      await outbox.heartbeatDelivered(draft.sentAt);
      if (typeof res.value.heartbeatSeq === 'number') await outbox.adoptServerSeq(res.value.heartbeatSeq);
      try {
        this.opts.onHeartbeatResponse?.(res.value, cred);
      } catch (err) {
        this.log.error('the heartbeat response handler failed', { error: err });
      }
      return { sent: true };
    }
    if (failureAction(res) === 'give-up-request') {
      // A newer heartbeat replaces this one at the next interval; retrying it cannot help.
      this.log.error('heartbeat refused by the server', { code: res.code, message: res.message });
      await outbox.heartbeatDelivered(draft.sentAt);
      return { sent: false };
    }
    return { sent: false, failure: res };
  }

  private async sendAlertBatches(cred: StoredCredential, maxBatches: number): Promise<{ sent: number; failure?: ReportFailure }> {
    let sent = 0;
    for (let n = 0; n < maxBatches; n++) {
      const batch = this.opts.outbox.nextAlerts(this.batchSize);
      if (batch.length === 0) break;
      const r = await this.sendAlerts(cred, batch);
      sent += r.sent;
      if (r.failure) return { sent, failure: r.failure };
    }
    return { sent };
  }

  private async sendAlerts(cred: StoredCredential, batch: Alert[]): Promise<{ sent: number; failure?: ReportFailure }> {
    const { client, outbox } = this.opts;
    const res = await client.alerts(cred, { deviceId: cred.deviceId, alerts: batch });
    if (res.ok) {
      this.succeeded();
      const sentIds = new Set(batch.map((a) => a.alertId));
      const confirmed = [...res.value.stored, ...res.value.duplicates].filter((id) => sentIds.has(id));
      await outbox.markDelivered(confirmed);
      const refused = (res.value.refused ?? []).filter((id) => sentIds.has(id));
      if (refused.length > 0) {
        // Over this device's quota on the server: kept in the outbox and sent again later.
        const retryAfterMs = (res.value.retryAfterSec ?? 60) * 1000;
        return { sent: confirmed.length, failure: { ok: false, kind: 'http', status: 429, code: 'rate_limited', message: `the server refused ${refused.length} alerts over this device's quota; kept, sent again later`, retryAfterMs } };
      }
      if (confirmed.length < batch.length) {
        return { sent: confirmed.length, failure: { ok: false, kind: 'bad-response', status: 200, message: `the server confirmed ${confirmed.length} of ${batch.length} alerts` } };
      }
      return { sent: confirmed.length };
    }
    if (failureAction(res) !== 'give-up-request') return { sent: 0, failure: res };
    if (batch.length > 1) {
      // Find the alert the server refuses instead of holding back the whole batch.
      let sent = 0;
      for (const a of batch) {
        const r = await this.sendAlerts(cred, [a]);
        sent += r.sent;
        if (r.failure) return { sent, failure: r.failure };
      }
      return { sent };
    }
    this.log.error('alert refused by the server; counted as rejected', { alertId: batch[0]!.alertId, code: res.code, message: res.message });
    await outbox.markRejected([batch[0]!.alertId]);
    return { sent: 0 };
  }
}
