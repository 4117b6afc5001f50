/**
 * `VIGIL_NOTIFY_TUNING`: a JSON object overriding the notification defaults of
 * `vigil server start` (burst window, silence threshold, delivery timeout, backoff,
 * attempts). For receivers that need a longer timeout, and for tests that cannot wait
 * production backoffs. A bad value stops the start with a message naming the field.
 */
import { z } from 'zod';
import type { NotifyOptions } from './notifications.js';

const TuningSchema = z
  .object({
    burstWindowMs: z.number().int().min(0).max(600_000).optional(),
    silentAfterIntervals: z.number().int().min(1).max(1000).optional(),
    timeoutMs: z.number().int().min(100).max(120_000).optional(),
    baseDelayMs: z.number().int().min(10).optional(),
    maxDelayMs: z.number().int().min(10).optional(),
    maxAttempts: z.number().int().min(1).max(1000).optional(),
    pollMs: z.number().int().min(10).max(60_000).optional(),
    silentScanMs: z.number().int().min(100).optional(),
  })
  .strict();

export class NotifyTuningError extends Error {}

export function notifyTuningFromEnv(env: NodeJS.ProcessEnv): NotifyOptions {
  const raw = env.VIGIL_NOTIFY_TUNING;
  if (!raw) return {};
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch {
    throw new NotifyTuningError('VIGIL_NOTIFY_TUNING is not valid JSON');
  }
  const r = TuningSchema.safeParse(json);
  if (!r.success) throw new NotifyTuningError(`VIGIL_NOTIFY_TUNING: ${r.error.issues[0]!.path.join('.')}: ${r.error.issues[0]!.message}`);
  const { burstWindowMs, silentAfterIntervals, ...policy } = r.data;
  return {
    ...(burstWindowMs !== undefined ? { burstWindowMs } : {}),
    ...(silentAfterIntervals !== undefined ? { silentAfterIntervals } : {}),
    policy: Object.fromEntries(Object.entries(policy).filter(([, x]) => x !== undefined)),
  };
}
