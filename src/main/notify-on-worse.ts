/**
 * Whether a new state deserves a desktop notification.
 *
 * Decision (docs/TRAY.md): statuses rank ok < attention < unknown < compromised, the same
 * order as the device verdict, but only the *known* statuses take part in notifying:
 *
 * - a notification is shown when the status becomes attention or compromised and that
 *   is worse than the last known status (ok → attention, ok → compromised,
 *   attention → compromised);
 * - `unknown` never notifies and does not reset what was known: the agent goes grey
 *   when it has not checked yet, or cannot report for a while (a laptop offline on a
 *   train). There is nothing the user can do about it, and a notification with nothing
 *   to do teaches people to ignore the next one. The tray icon and window still show it;
 * - the baseline starts at ok, so a first scan that finds a compromise notifies once,
 *   even though the tray was grey before it;
 * - states arrive on every poll; the same status again is not a change, so each change
 *   notifies exactly once (ok → compromised → unknown → compromised notifies once;
 *   compromised → ok → compromised notifies twice: the problem came back).
 *
 * The baseline lives in memory: after a restart a compromised PC notifies once again
 * at the first scan, which is the reminder we want at login.
 */
import type { AgentState } from '../shared/agent-state.js';
import type { Status } from '../shared/scan.js';

export const STATUS_RANK: Record<Status, number> = { ok: 0, attention: 1, unknown: 2, compromised: 3 };

export type KnownStatus = Exclude<Status, 'unknown'>;

export interface NotifyDecision {
  notify: boolean;
  baseline: KnownStatus;
}

export function decideNotification(baseline: KnownStatus, next: Status): NotifyDecision {
  if (next === 'unknown') return { notify: false, baseline };
  return { notify: STATUS_RANK[next] > STATUS_RANK[baseline], baseline: next };
}

export interface NotificationContent {
  status: KnownStatus;
  title: string;
  body: string;
  urgency: 'normal' | 'critical';
}

export function notificationContent(state: AgentState): NotificationContent | null {
  if (state.status !== 'attention' && state.status !== 'compromised') return null;
  const why = state.verdict?.summary?.trim();
  if (state.status === 'compromised') {
    return {
      status: 'compromised',
      title: 'This PC may be compromised',
      body: `${why ? why + ' ' : ''}Open Vigil to see what to do.`,
      urgency: 'critical',
    };
  }
  return {
    status: 'attention',
    title: 'Action recommended on this PC',
    body: `${why ? why + ' ' : ''}Open Vigil to see what to do.`,
    urgency: 'normal',
  };
}

/** Remembers the baseline between states; `observe` answers what to show, if anything. */
export class WorseNotifier {
  private baseline: KnownStatus = 'ok';

  observe(state: AgentState): NotificationContent | null {
    const d = decideNotification(this.baseline, state.status);
    this.baseline = d.baseline;
    return d.notify ? notificationContent(state) : null;
  }
}
