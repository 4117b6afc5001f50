/**
 * What the tray icon shows for a state: which icon file, and the tooltip.
 *
 * Pure functions; the tray controller applies them. Icons come in three flavours
 * (see scripts/make-icons.ts): a multi-size .ico on Windows (16–64 px for 100–400 %
 * scaling), black-and-alpha template PNGs on macOS (the menu bar tints them; the glyph
 * carries the state since colour is lost), and 24 px PNGs with an @2x twin on Linux.
 */
import type { AgentState } from '../shared/agent-state.js';
import type { Status } from '../shared/scan.js';
import { NO_VERDICT_SUMMARY, STATUS_LABEL } from './status-text.js';

/** Win32 NOTIFYICONDATA.szTip holds 128 UTF-16 units including the terminating NUL. */
export const TOOLTIP_MAX = 127;

export type TrayPlatform = 'win32' | 'darwin' | 'linux' | (string & {});

/** Path of the tray icon relative to the assets directory. */
export function trayIconFile(status: Status, platform: TrayPlatform): string {
  switch (platform) {
    case 'win32':
      return `tray/${status}.ico`;
    case 'darwin':
      return `tray/${status}Template.png`;
    default:
      return `tray/${status}-24.png`;
  }
}

/** Formats an ISO time for the tooltip; injected so tests do not depend on the clock's zone. */
export type TimeFormatter = (iso: string) => string;

export const defaultTimeFormatter: TimeFormatter = (iso) => {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return 'unknown time';
  const sameDay = d.toDateString() === new Date().toDateString();
  return new Intl.DateTimeFormat(undefined, sameDay ? { timeStyle: 'short' } : { dateStyle: 'medium', timeStyle: 'short' }).format(d);
};

/** The status the tray shows; null means the agent has not started (grey). */
export function trayStatus(state: AgentState | null): Status {
  return state?.status ?? 'unknown';
}

/** Cuts `text` to at most `max` UTF-16 units, ending in "…", never splitting a surrogate pair. */
export function truncate(text: string, max: number): string {
  if (text.length <= max) return text;
  if (max <= 0) return '';
  let cut = max - 1;
  const code = text.charCodeAt(cut - 1);
  if (code >= 0xd800 && code <= 0xdbff) cut -= 1;
  return text.slice(0, cut).trimEnd() + '…';
}

/**
 * "Vigil: Compromised. <why> Last check 14:02" in at most 127 characters: the status and
 * the time always fit; the one-sentence reason is shortened to what is left.
 */
export function trayTooltip(state: AgentState | null, formatTime: TimeFormatter = defaultTimeFormatter): string {
  const status = trayStatus(state);
  const head = `Vigil: ${STATUS_LABEL[status]}`;
  let tail: string;
  if (state?.scanning) tail = 'Checking now…';
  else if (state?.lastScanAt) tail = `Last check ${formatTime(state.lastScanAt)}`;
  else tail = 'Not checked yet';
  const summary = state?.statusReason ?? state?.verdict?.summary ?? (state ? '' : NO_VERDICT_SUMMARY);
  const fixed = `${head}. `.length + ` ${tail}`.length;
  const room = TOOLTIP_MAX - fixed;
  const why = summary && room > 10 ? ` ${truncate(summary.trim(), room - 1)}` : '';
  return truncate(`${head}.${why} ${tail}`, TOOLTIP_MAX);
}
