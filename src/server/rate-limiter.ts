/**
 * Per-key token buckets (per device for ingest, per address for the login form and for
 * failed enrolments). Pure
 * arithmetic over an injected clock; the map holds one small entry per active key and
 * forgets keys idle long enough to have refilled.
 */
export interface RatePolicy {
  /** Requests allowed in a burst. */
  capacity: number;
  /** Tokens added per second. */
  refillPerSec: number;
}

export interface Bucket {
  tokens: number;
  updatedMs: number;
}

export type TakeResult = { allowed: true } | { allowed: false; retryAfterSec: number };

/** Takes one token from `bucket` (mutated) at time `nowMs`. */
export function takeToken(bucket: Bucket, nowMs: number, policy: RatePolicy): TakeResult {
  const elapsed = Math.max(0, nowMs - bucket.updatedMs) / 1000;
  bucket.tokens = Math.min(policy.capacity, bucket.tokens + elapsed * policy.refillPerSec);
  bucket.updatedMs = nowMs;
  if (bucket.tokens >= 1) {
    bucket.tokens -= 1;
    return { allowed: true };
  }
  return { allowed: false, retryAfterSec: Math.max(1, Math.ceil((1 - bucket.tokens) / policy.refillPerSec)) };
}

/**
 * Takes up to `n` tokens at once from `bucket` (mutated; for quotas counted in items, not
 * requests): how many were granted, and when the next one will be there.
 */
export function takeUpTo(bucket: Bucket, n: number, nowMs: number, policy: RatePolicy): { granted: number; retryAfterSec: number } {
  const elapsed = Math.max(0, nowMs - bucket.updatedMs) / 1000;
  bucket.tokens = Math.min(policy.capacity, bucket.tokens + elapsed * policy.refillPerSec);
  bucket.updatedMs = nowMs;
  const granted = Math.max(0, Math.min(n, Math.floor(bucket.tokens)));
  bucket.tokens -= granted;
  return { granted, retryAfterSec: Math.max(1, Math.ceil((1 - Math.min(1, bucket.tokens)) / policy.refillPerSec)) };
}

/**
 * In-process buckets: each server process counts on its own (with N processes behind a
 * load balancer a key gets up to N times the budget). The per-device alert quota is kept
 * in the database instead (DeviceStore.takeAlertQuota).
 */
export class RateLimiter {
  private readonly buckets = new Map<string, Bucket>();
  private lastSweepMs = 0;

  constructor(
    private readonly policy: RatePolicy,
    private readonly now: () => number = Date.now,
  ) {}

  take(key: string): TakeResult {
    const nowMs = this.now();
    return takeToken(this.bucket(key, nowMs), nowMs, this.policy);
  }

  /** This key's bucket, full when new; sweeps idle buckets first. */
  private bucket(key: string, nowMs: number): Bucket {
    this.sweep(nowMs);
    let b = this.buckets.get(key);
    if (!b) {
      b = { tokens: this.policy.capacity, updatedMs: nowMs };
      this.buckets.set(key, b);
    }
    return b;
  }

  /** Whether `take` would be allowed now, without taking (for limits on failures only). */
  check(key: string): TakeResult {
    const nowMs = this.now();
    const b = this.buckets.get(key);
    if (!b) return { allowed: true };
    return takeToken({ ...b }, nowMs, this.policy);
  }

  get size(): number {
    return this.buckets.size;
  }

  private sweep(nowMs: number): void {
    const fullAfterMs = (this.policy.capacity / this.policy.refillPerSec) * 1000;
    if (nowMs - this.lastSweepMs < Math.max(fullAfterMs, 60_000)) return;
    this.lastSweepMs = nowMs;
    for (const [k, b] of this.buckets) if (nowMs - b.updatedMs >= fullAfterMs) this.buckets.delete(k);
  }
}
