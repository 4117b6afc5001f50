/**
 * The fleet page: server-rendered HTML with no scripts and no external assets. The one
 * stylesheet is inline and allowed by its hash in the Content-Security-Policy, so the policy
 * can forbid everything else (`default-src 'none'`). Every value from a device is escaped.
 */
import { createHash } from 'node:crypto';
import type { AlertView, DeviceView } from '../shared/protocol.js';
import type { Status } from '../shared/scan.js';

const STYLE = `
body{font:14px/1.4 system-ui,-apple-system,"Segoe UI",sans-serif;margin:0;color:#1b1f24;background:#f6f7f9}
header{display:flex;align-items:center;justify-content:space-between;padding:12px 24px;background:#1b2a3a;color:#fff}
header h1{font-size:18px;margin:0}
header form{margin:0}
main{padding:16px 24px}
.summary{display:flex;gap:12px;flex-wrap:wrap;margin:0 0 16px;padding:0;list-style:none}
.summary li{background:#fff;border:1px solid #d8dde3;border-radius:6px;padding:8px 12px}
section{margin-bottom:24px}
h2{font-size:16px;margin:16px 0 8px}
table{border-collapse:collapse;width:100%;background:#fff;border:1px solid #d8dde3}
th,td{text-align:left;padding:6px 8px;border-bottom:1px solid #e6e9ed;vertical-align:top}
th{background:#eef1f4;font-weight:600}
.badge{display:inline-block;border-radius:4px;padding:1px 8px;font-weight:600;font-size:12px;text-transform:uppercase}
.s-ok{background:#d9f2dd;color:#1d5e27}.s-attention{background:#fdecc8;color:#7a4b00}
.s-compromised{background:#f9d3d3;color:#8a1414}.s-unknown{background:#e3e5e8;color:#3d4650}
.offline{color:#8a1414;font-weight:600}.online{color:#1d5e27}
.muted{color:#5d6975}
.login{max-width:360px;margin:80px auto;background:#fff;border:1px solid #d8dde3;border-radius:8px;padding:24px}
.login input{width:100%;box-sizing:border-box;padding:8px;margin:8px 0 12px;font:inherit}
.login button,header button{padding:6px 14px;font:inherit;cursor:pointer}
.error{color:#8a1414}
.refresh{display:flex;gap:12px;align-items:center;flex-wrap:wrap;margin:0 0 12px}
.refresh a,main a{color:#0b4f8a}
td form{margin:0}
@media (prefers-color-scheme: dark){
body{color:#e6e9ed;background:#12171d}
.summary li,table,.login{background:#1b222b;border-color:#3a4552}
th{background:#26303b}
th,td{border-bottom-color:#303a46}
.muted{color:#a9b4bf}
.s-ok{background:#1d4a26;color:#d9f2dd}.s-attention{background:#5c3b00;color:#fdecc8}
.s-compromised{background:#6b1414;color:#f9d3d3}.s-unknown{background:#3d4650;color:#e3e5e8}
.offline,.error{color:#ff9b9b}.online{color:#8fdc9c}
.refresh a,main a{color:#8cc4ff}
}
`;

/** The Content-Security-Policy every HTML response carries. */
export const FLEET_PAGE_CSP = [
  "default-src 'none'",
  `style-src 'sha256-${createHash('sha256').update(STYLE).digest('base64')}'`,
  "form-action 'self'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
].join('; ');

export function escapeHtml(value: unknown): string {
  return String(value ?? '')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;');
}

// No <meta http-equiv="refresh">: a forced reload moves focus and the reading position under
// keyboard and screen-reader users (WCAG 2.2.1, axe `meta-refresh`). The page says when it
// was rendered and offers a Refresh link instead.
export function page(title: string, body: string): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light dark"><title>${escapeHtml(title)}</title><style>${STYLE}</style></head>
<body>${body}</body></html>
`;
}

export function renderLoginPage(error?: string): string {
  return page(
    'Vigil fleet: sign in',
    `<main><form class="login" method="post" action="/login">
<h1>Vigil fleet</h1>
<p class="muted">Enter the admin token printed when the server was first started.</p>
${error ? `<p class="error">${escapeHtml(error)}</p>` : ''}
<input type="text" name="username" value="admin" autocomplete="username" hidden>
<label for="token">Admin token</label>
<input id="token" name="token" type="password" autocomplete="current-password" required autofocus>
<button type="submit">Sign in</button>
</form></main>`,
  );
}

export function relativeTime(fromIso: string | null, nowMs: number): string {
  if (!fromIso) return 'never';
  const s = Math.max(0, Math.round((nowMs - Date.parse(fromIso)) / 1000));
  if (s < 60) return `${s} s ago`;
  if (s < 3600) return `${Math.floor(s / 60)} min ago`;
  if (s < 86_400) return `${Math.floor(s / 3600)} h ago`;
  return `${Math.floor(s / 86_400)} d ago`;
}

const STATUS_LABEL: Record<Status, string> = { ok: 'clean', attention: 'at risk', compromised: 'compromised', unknown: 'unknown' };

export function badge(status: Status): string {
  return `<span class="badge s-${status}">${STATUS_LABEL[status]}</span>`;
}

function installsCell(d: DeviceView): string {
  if (d.installs.length === 0) return d.lastScanAt ? '<span class="muted">none found</span>' : '<span class="muted">not scanned yet</span>';
  return d.installs
    .map((i) => `${escapeHtml(i.applicationName)} <strong>${escapeHtml(i.version ?? 'version unreadable')}</strong> <span class="muted">(${escapeHtml(i.versionClass)}${i.user ? `, ${escapeHtml(i.user)}` : ''})</span>`)
    .join('<br>');
}

/** A record enrolled under a stable id another record holds, until the partner resolves it. */
function duplicateNote(d: DeviceView): string {
  if (!d.possibleDuplicateOf) return '';
  return `<br><span class="error">Possible duplicate of ${escapeHtml(d.possibleDuplicateOf)}: reinstalled, cloned or an impostor (see docs/SERVER.md)</span>`;
}

function deviceRow(d: DeviceView, nowMs: number): string {
  const seen = d.revokedAt
    ? '<span class="offline">revoked</span>'
    : `<span class="${d.online ? 'online' : 'offline'}">${d.online ? 'online' : 'OFFLINE'}</span><br><span class="muted" title="${escapeHtml(d.lastSeenAt ?? '')}">${escapeHtml(relativeTime(d.lastSeenAt, nowMs))}</span>`;
  const refused = d.refusedAlerts ? `, <span class="error">${d.refusedAlerts} refused over quota</span>` : '';
  const backlog = d.outbox ? `${d.outbox.pendingAlerts} pending${d.outbox.droppedAlerts ? `, <span class="error">${d.outbox.droppedAlerts} dropped</span>` : ''}${refused}` : refused.slice(2);
  return `<tr id="${escapeHtml(d.deviceId)}">
<td><a href="/devices/${encodeURIComponent(d.deviceId)}"><strong>${escapeHtml(d.hostname)}</strong></a><br><span class="muted">${escapeHtml(d.platform)} ${escapeHtml(d.osRelease ?? '')}</span>${duplicateNote(d)}</td>
<td>${badge(d.status)}</td>
<td>${escapeHtml(d.verdict?.summary ?? 'No scan reported yet.')}</td>
<td>${installsCell(d)}</td>
<td>${seen}</td>
<td>${d.alertCount}</td>
<td>${escapeHtml(d.agentVersion)}<br><span class="muted">${backlog}</span></td>
</tr>`;
}

/** One page of a tenant's recent alerts (newest first); `page` counts from 0. */
export interface TenantAlertsPage {
  tenantId: string;
  name: string;
  alerts: AlertView[];
  page: number;
  hasOlder: boolean;
}

export interface FleetPageData {
  tenants: Array<{ name: string; devices: DeviceView[] }>;
  /** Per tenant, so one tenant's flood never pushes another's alerts off the page. */
  alertsByTenant: TenantAlertsPage[];
  nowMs: number;
  /** issue 14: the notification channels section, already rendered. */
  notificationsHtml?: string;
}

function alertRow(a: AlertView, nowMs: number): string {
  return `<tr><td title="${escapeHtml(a.receivedAt)}">${escapeHtml(relativeTime(a.receivedAt, nowMs))}</td><td>${escapeHtml(a.hostname)}</td><td>${escapeHtml(a.kind)}</td><td>${badge(a.finding.severity === 'info' ? 'ok' : a.finding.severity)}</td><td>${escapeHtml(a.finding.title)}</td></tr>`;
}

function tenantAlerts(t: TenantAlertsPage, nowMs: number): string {
  const link = (page: number, label: string) => `<a href="/?alertsTenant=${encodeURIComponent(t.tenantId)}&amp;alertsPage=${page}">${label}</a>`;
  const nav = [t.page > 0 ? link(t.page - 1, 'Newer') : '', `page ${t.page + 1}`, t.hasOlder ? link(t.page + 1, 'Older') : ''].filter(Boolean).join(' · ');
  return `<h3>${escapeHtml(t.name)}</h3>
<table><thead><tr><th>Received</th><th>Device</th><th>Kind</th><th>Severity</th><th>What</th></tr></thead>
<tbody>${t.alerts.map((a) => alertRow(a, nowMs)).join('\n')}</tbody></table>
<p class="muted">${nav}</p>`;
}

export function renderFleetPage(data: FleetPageData): string {
  const all = data.tenants.flatMap((t) => t.devices);
  const count = (s: Status) => all.filter((d) => d.status === s).length;
  const offline = all.filter((d) => !d.online && !d.revokedAt).length;
  const summary = `<ul class="summary">
<li><strong>${all.length}</strong> devices</li>
<li>${badge('compromised')} ${count('compromised')}</li>
<li>${badge('attention')} ${count('attention')}</li>
<li>${badge('unknown')} ${count('unknown')}</li>
<li>${badge('ok')} ${count('ok')}</li>
<li><span class="offline">offline</span> ${offline}</li>
</ul>`;
  const tenants = data.tenants
    .map((t) => {
      const rows = t.devices.length
        ? t.devices.map((d) => deviceRow(d, data.nowMs)).join('\n')
        : '<tr><td colspan="7" class="muted">No devices enrolled yet.</td></tr>';
      return `<section><h2>${escapeHtml(t.name)}</h2>
<table><thead><tr><th>Device</th><th>Verdict</th><th>Why</th><th>Clients found (version)</th><th>Last seen</th><th>Alerts</th><th>Agent</th></tr></thead>
<tbody>${rows}</tbody></table></section>`;
    })
    .join('\n');
  const shown = data.alertsByTenant.filter((t) => t.alerts.length > 0 || t.page > 0);
  const alerts = shown.length ? shown.map((t) => tenantAlerts(t, data.nowMs)).join('\n') : '<p class="muted">No alerts.</p>';
  return page(
    'Vigil fleet',
    `<header><h1>Vigil fleet</h1><form method="post" action="/logout"><button type="submit">Sign out</button></form></header>
<main><nav aria-label="Fleet"><a href="/incidents">Incidents and packs</a> · <a href="/alerts">Open alerts</a></nav>
<p class="refresh"><span class="muted">As of ${escapeHtml(new Date(data.nowMs).toISOString().replace('T', ' ').slice(0, 19))} UTC.</span> <a href="/">Refresh</a></p>
${summary}
${tenants || '<p class="muted">No tenants yet: create one with <code>vigil server token create --tenant NAME</code>.</p>'}
<section><h2>Recent alerts</h2>
${alerts}</section>
${data.notificationsHtml ?? ''}
<p class="muted">A device is marked offline after three missed heartbeat intervals. This page does not reload by itself: use Refresh for the latest state.</p>
</main>`,
  );
}
