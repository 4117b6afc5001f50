/**
 * Words for each status, shared by the tray tooltip, the menu and notifications, so the
 * user reads the same thing everywhere. The status window has its own copy in the
 * renderer (it cannot import main-process code); tests check that both agree.
 */
import type { Status } from '../shared/scan.js';

export const STATUS_LABEL: Record<Status, string> = {
  ok: 'OK',
  attention: 'Attention needed',
  compromised: 'Compromised',
  unknown: 'Unknown',
};

/** Plain-language line for when the agent has no verdict to give. */
export const NO_VERDICT_SUMMARY = 'Vigil has not finished checking this PC yet.';
