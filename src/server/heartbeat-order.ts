/**
 * Which of a device's heartbeats the server shows: a pure decision over what is stored and
 * what just arrived. The agent's clock is not trusted alone (one heartbeat dated 2099 used
 * to freeze a device's status for ever):
 *
 * - a heartbeat dated beyond the replay window ahead of the server's clock is refused
 *   before it gets here (`checkSentAt`);
 * - with a sequence number on both sides, the higher number is newer; an equal number is
 *   the same heartbeat sent again, and the later receipt wins;
 * - otherwise (an agent older than `seq`) the agent's `sentAt`, capped at the server's
 *   receive time, so a clock running ahead cannot push the stored one into the future;
 * - whatever the order says, a heartbeat reporting a worse status than the stored one
 *   (compromised over anything, attention over ok or unknown) is shown: an OK that merely
 *   claims to be newer can never hide a compromise. A stale bad one delivered late costs a
 *   false alarm until the next heartbeat, which is the safe way to be wrong.
 */
import type { Status } from '../shared/scan.js';

export interface HeartbeatOrderKey {
  seq: number | null;
  /** The agent's sentAt, capped at the server's receive time (ms). */
  orderAtMs: number;
  status: Status;
}

const BADNESS: Record<Status, number> = { compromised: 2, attention: 1, unknown: 0, ok: 0 };

export function orderAt(sentAtMs: number, receivedAtMs: number): number {
  return Math.min(sentAtMs, receivedAtMs);
}

/** Whether `incoming` replaces `stored` as the device's current heartbeat. */
export function supersedes(incoming: HeartbeatOrderKey, stored: HeartbeatOrderKey | undefined): boolean {
  if (!stored) return true;
  if (BADNESS[incoming.status] > BADNESS[stored.status]) return true;
  if (incoming.seq !== null && stored.seq !== null) return incoming.seq >= stored.seq;
  return incoming.orderAtMs >= stored.orderAtMs;
}

/** Null when `sentAt` is acceptable, else why not (in words for the 400). */
export function checkSentAt(sentAtMs: number, nowMs: number, windowSec: number): string | null {
  if (sentAtMs > nowMs + windowSec * 1000) {
    return `sentAt is more than ${windowSec} s ahead of the server's clock (see the Date header); set the PC's clock`;
  }
  return null;
}
