/**
 * What the status window shows, as plain data computed from the agent's state. Pure and
 * DOM-free (tested under Node); app.ts draws it. The window must make sense to someone
 * who is not technical: every status has a label, a glyph and one sentence, and each
 * finding is its own plain sentence plus the pack's advice.
 *
 * The renderer trusts nothing it receives: every field is read defensively, so a state
 * with a missing or odd field still draws (as "unknown" where it has to), never throws.
 */
import type { AgentState } from '../shared/agent-state.js';
import type { Finding, Severity, Status } from '../shared/scan.js';

export const STATUS_LABEL: Record<Status, string> = {
  ok: 'OK',
  attention: 'Attention needed',
  compromised: 'Compromised',
  unknown: 'Unknown',
};

/** A glyph per status, so the status never depends on colour alone. */
export const STATUS_GLYPH: Record<Status, string> = { ok: '✓', attention: '!', compromised: '✕', unknown: '?' };

export const SEVERITY_LABEL: Record<Severity, string> = {
  compromised: 'Compromised',
  attention: 'Attention',
  unknown: 'Could not check',
  info: 'For information',
};

const DEFAULT_WHY: Record<Status, string> = {
  ok: 'Vigil found nothing on this PC from the incidents it knows about.',
  attention: 'Vigil found something on this PC that needs action.',
  compromised: 'Vigil found signs that this PC is affected by a known attack.',
  unknown: 'Vigil has not been able to check this PC yet.',
};

export interface EvidenceRow {
  label: string;
  value: string;
}

export interface FindingView {
  id: string;
  severity: Severity;
  severityLabel: string;
  title: string;
  adviceTitle?: string;
  adviceText?: string;
  /** The same advice was already shown for an earlier finding: show its title only. */
  adviceRepeat?: boolean;
  adviceId?: string;
  steps: string[];
  links: { index: number; label: string; url: string }[];
  evidence: EvidenceRow[];
  /** One line for connection alerts: "3CXDesktopApp.exe (pid 4242) → sbmsa.wiki (203.0.113.7:443)". */
  connection?: string;
}

export interface FactRow {
  label: string;
  value: string;
}

export interface StatusView {
  status: Status;
  label: string;
  glyph: string;
  why: string;
  scanning: boolean;
  /** Whether "Check now" can do anything: false while the checker cannot be reached. */
  canCheck: boolean;
  findings: FindingView[];
  connections: FindingView[];
  facts: FactRow[];
  versions: FactRow[];
  /** Problems the user should know about (scan could not run, reporting failing). */
  notices: string[];
}

export type FormatTime = (iso: string) => string;

const str = (v: unknown): string | undefined => (typeof v === 'string' && v.trim() !== '' ? v : undefined);
const num = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);
const isStatus = (v: unknown): v is Status => v === 'ok' || v === 'attention' || v === 'compromised' || v === 'unknown';
const isSeverity = (v: unknown): v is Severity => v === 'info' || v === 'attention' || v === 'compromised' || v === 'unknown';
const SEVERITY_ORDER: Record<Severity, number> = { compromised: 0, unknown: 1, attention: 2, info: 3 };

function evidenceRows(f: Finding): EvidenceRow[] {
  const e = (f.evidence ?? {}) as Finding['evidence'];
  const rows: EvidenceRow[] = [];
  const add = (label: string, value: unknown) => {
    const s = typeof value === 'number' ? String(value) : str(value);
    if (s !== undefined) rows.push({ label, value: s });
  };
  add('Application', f.application);
  add('Version', e.version);
  add('File or folder', e.path);
  add('User', e.user);
  if (e.process) add('Process', `${str(e.process.name) ?? 'unknown process'} (process id ${num(e.process.pid) ?? '?'})${str(e.process.path) ? ` at ${e.process.path}` : ''}`);
  if (e.remote) add('Remote address', `${str(e.remote.host) ? `${e.remote.host} ` : ''}${str(e.remote.address) ?? ''}${num(e.remote.port) !== undefined ? `:${e.remote.port}` : ''}`.trim());
  add('Indicator', e.indicator);
  add('SHA-256', e.sha256);
  if (e.signer) add('Signed by', e.signer.subject);
  add('Error', e.error);
  return rows;
}

function connectionLine(f: Finding): string | undefined {
  const e = f.evidence ?? {};
  if (!e.process && !e.remote && !e.indicator) return undefined;
  const who = e.process ? `${str(e.process.name) ?? 'A process'} (process id ${num(e.process.pid) ?? '?'})` : 'A program on this PC';
  const host = str(e.remote?.host) ?? str(e.indicator);
  const addr = str(e.remote?.address);
  const port = num(e.remote?.port);
  const where = [host, addr ? `(${addr}${port !== undefined ? `:${port}` : ''})` : undefined].filter(Boolean).join(' ');
  return `${who} contacted ${where || 'a known attack server'}`;
}

function findingView(f: Finding): FindingView {
  const severity = isSeverity(f.severity) ? f.severity : 'unknown';
  const links = (Array.isArray(f.advice?.links) ? f.advice.links : [])
    .map((l, index) => ({ index, label: str(l?.label) ?? 'Link', url: str(l?.url) ?? '' }))
    .filter((l) => l.url.startsWith('https://'));
  const view: FindingView = {
    id: str(f.id) ?? '',
    severity,
    severityLabel: SEVERITY_LABEL[severity],
    title: str(f.title) ?? 'A finding without a description.',
    steps: (Array.isArray(f.advice?.steps) ? f.advice.steps : []).filter((s): s is string => typeof s === 'string'),
    links,
    evidence: evidenceRows(f),
  };
  const adviceTitle = str(f.advice?.title);
  const adviceText = str(f.advice?.text);
  if (adviceTitle) view.adviceTitle = adviceTitle;
  const adviceId = str(f.advice?.id);
  if (adviceId) view.adviceId = adviceId;
  if (adviceText) view.adviceText = adviceText;
  if (f.category === 'network' || f.category === 'dns') {
    const line = connectionLine(f);
    if (line) view.connection = line;
  }
  return view;
}

export function buildStatusView(state: AgentState | null, formatTime: FormatTime): StatusView {
  if (!state || typeof state !== 'object') {
    return {
      status: 'unknown',
      label: STATUS_LABEL.unknown,
      glyph: STATUS_GLYPH.unknown,
      why: 'Vigil’s checker is not running yet. If this does not change within a few minutes, restart the PC or contact your IT provider.',
      scanning: false,
      canCheck: false,
      findings: [],
      connections: [],
      facts: [],
      versions: [],
      notices: [],
    };
  }
  const status: Status = isStatus(state.status) ? state.status : 'unknown';
  const all = (Array.isArray(state.findings) ? state.findings : [])
    .filter((f) => f && typeof f === 'object')
    .map(findingView)
    .sort((a, b) => SEVERITY_ORDER[a.severity] - SEVERITY_ORDER[b.severity]);
  const rep = state.reporting ?? ({} as Partial<AgentState['reporting']>);
  const when = (iso: unknown, never: string) => (str(iso) ? formatTime(iso as string) : never);

  // The checker cannot be reached: its reporting and watch are unknown here, not "not set up".
  const unreachable = state.available === false;
  const facts: FactRow[] = [
    { label: 'Last check', value: state.scanning ? 'Checking now…' : when(state.lastScanAt, unreachable ? 'Unknown: Vigil’s checker cannot be reached' : 'Not yet') },
  ];
  if (str(state.nextScanAt)) facts.push({ label: 'Next check', value: formatTime(state.nextScanAt as string) });
  if (unreachable) {
    facts.push({ label: 'Reporting to your IT provider', value: 'Unknown while the checker cannot be reached' });
  } else if (rep.configured === false) {
    facts.push({ label: 'Reporting to your IT provider', value: 'Not set up on this PC' });
  } else {
    facts.push({ label: 'Last report to your IT provider', value: when(rep.lastSuccessAt, 'Not yet') });
    const backlog = num(rep.backlog) ?? 0;
    facts.push({ label: 'Waiting to be sent', value: backlog === 0 ? 'Nothing' : backlog === 1 ? '1 item' : `${backlog} items` });
  }
  facts.push({
    label: 'Connection watch',
    value: unreachable
      ? 'Unknown while the checker cannot be reached'
      : state.watch?.running ? `Running${str(state.watch.lastPollAt) ? `, last look ${formatTime(state.watch.lastPollAt as string)}` : ''}` : 'Not running',
  });

  const versions: FactRow[] = [{ label: 'Vigil', value: str(state.versions?.agent) ?? 'unknown' }];
  for (const p of Array.isArray(state.versions?.packs) ? state.versions.packs : []) {
    // A pack the IT provider sent says when it arrived: after an incident, that is the question.
    const arrived = str(p?.receivedAt) ? `, arrived ${formatTime(p.receivedAt as string)}` : '';
    versions.push({ label: arrived ? 'Incident pack from your IT provider' : 'Incident pack', value: `${str(p?.title) ?? str(p?.id) ?? 'unnamed'} (version ${num(p?.version) ?? '?'}${arrived})` });
  }
  if (str(state.device?.hostname)) versions.push({ label: 'Computer', value: state.device.hostname });
  if (str(state.device?.id)) versions.push({ label: 'Device ID', value: state.device.id as string });
  if (str(state.device?.tenant)) versions.push({ label: 'Managed by', value: state.device.tenant as string });

  const notices: string[] = [];
  if (str(state.lastScanError)) notices.push(`The last check could not run: ${state.lastScanError}`);
  if (str(rep.lastError)) notices.push(`Reporting to your IT provider is failing: ${rep.lastError}`);
  if ((num(rep.dropped) ?? 0) > 0) notices.push(`${rep.dropped} alerts could not be kept while offline.`);
  if (str(state.watch?.error)) notices.push(`The connection watch has a problem: ${state.watch.error}`);

  const findings = all.filter((f) => f.connection === undefined);
  const connections = all.filter((f) => f.connection !== undefined);
  const seenAdvice = new Set<string>();
  for (const f of [...findings, ...connections]) {
    if (!f.adviceId) continue;
    if (seenAdvice.has(f.adviceId)) f.adviceRepeat = true;
    seenAdvice.add(f.adviceId);
  }

  return {
    status,
    label: STATUS_LABEL[status],
    glyph: STATUS_GLYPH[status],
    why: str(state.statusReason) ?? str(state.verdict?.summary) ?? DEFAULT_WHY[status],
    scanning: state.scanning === true,
    canCheck: state.available !== false,
    findings,
    connections,
    facts,
    versions,
    notices,
  };
}

/** "Status changed to Compromised. <why>": what the live region announces. */
export function announcement(view: StatusView): string {
  return `Status: ${view.label}. ${view.why}`;
}
