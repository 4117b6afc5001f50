/**
 * The fleet page's incident views, server-rendered like the rest of the page (no scripts,
 * the same inline stylesheet and CSP; every device value escaped): incident coverage per
 * published pack with the check-now and heartbeat buttons (/incidents), one device
 * (/devices/{id}), and alerts with acknowledge / resolve (/alerts).
 */
import type { DeviceDetail } from '../shared/protocol.js';
import type { PackCoverage, ScanRequestView } from '../shared/fleet-protocol.js';
import type { Status } from '../shared/scan.js';
import { badge, escapeHtml as e, page, relativeTime } from './fleet-page.js';
import type { TriagedAlert, TriageFilter } from './alert-triage.js';

const header = (title: string) =>
  `<header><h1>${e(title)}</h1><form method="post" action="/logout"><button type="submit">Sign out</button></form></header>
<main><nav aria-label="Fleet"><a href="/">Devices</a> · <a href="/incidents">Incidents and packs</a> · <a href="/alerts">Open alerts</a></nav>`;

const secs = (v: number | null) => (v === null ? '<span class="muted">not yet</span>' : `${v} s`);
const byField = (id: string) => `<label for="${id}">Your name</label> <input id="${id}" name="by" maxlength="200" autocomplete="name">`;

export interface IncidentsPageData {
  coverage: PackCoverage[];
  tenants: string[];
  scanRequests: ScanRequestView[];
  overrides: Array<{ tenant: string; intervalSec: number; until: string; setBy: string }>;
  notice?: string;
  nowMs: number;
}

export function renderIncidentsPage(d: IncidentsPageData): string {
  const rows = d.coverage.length
    ? d.coverage
        .map(
          (c) => `<tr><th scope="row">${e(c.title)}<br><span class="muted">${e(c.packId)} v${c.latestVersion}, published ${e(relativeTime(c.firstPublishedAt, d.nowMs))}</span></th>
<td><strong>${c.covered}</strong> / ${c.devices}</td><td>${c.pending}</td><td>${c.offline}</td>
<td>${c.compromised ? `${badge('compromised')} ${c.compromised}` : '0'}</td><td>${c.attention ? `${badge('attention')} ${c.attention}` : '0'}</td>
<td>${c.problems ? `<span class="error">${c.problems}</span>` : '0'}</td>
<td>${secs(c.timeToCoverSec.p50)} / ${secs(c.timeToCoverSec.p90)} / ${secs(c.timeToCoverSec.p100)}</td>
<td>${c.pendingDevices.length ? c.pendingDevices.slice(0, 20).map((p) => `<a href="/devices/${encodeURIComponent(p.deviceId)}">${e(p.hostname)}</a> <span class="muted">(${e(p.tenant)}${p.online ? '' : ', offline'})</span>`).join('<br>') : '<span class="muted">none</span>'}</td></tr>`,
        )
        .join('\n')
    : '<tr><td colspan="9" class="muted">No pack published. Publish one with <code>vigil server pack publish SIGNED.json --all</code>.</td></tr>';
  const tenantOptions = d.tenants.map((t) => `<option value="${e(t)}">${e(t)}</option>`).join('');
  const requests = d.scanRequests.length
    ? d.scanRequests
        .slice(0, 10)
        .map((r) => `<tr><td>${e(relativeTime(r.requestedAt, d.nowMs))}</td><td>${e(r.scope === 'all' ? 'every device' : r.scope === 'tenant' ? r.tenant : r.deviceId)}</td><td>${e(r.requestedBy)}</td><td>${r.answered} / ${r.targeted}</td></tr>`)
        .join('\n')
    : '<tr><td colspan="4" class="muted">None yet.</td></tr>';
  const overrides = d.overrides.length
    ? `<ul>${d.overrides.map((o) => `<li>${e(o.tenant)}: every ${o.intervalSec} s until ${e(o.until)} (${e(o.setBy)})</li>`).join('')}</ul>`
    : '<p class="muted">Every tenant uses the normal heartbeat interval.</p>';
  return page(
    'Vigil fleet: incidents',
    `${header('Vigil fleet: incidents')}
${d.notice ? `<p role="status"><strong>${e(d.notice)}</strong></p>` : ''}
<section><h2>Coverage per published pack</h2>
<p class="muted">Covered: runs the pack's latest version and has scanned since it was published.</p>
<table><thead><tr><th scope="col">Pack</th><th scope="col">Covered</th><th scope="col">Pending</th><th scope="col">Offline</th><th scope="col">Compromised</th><th scope="col">Needs attention</th><th scope="col">Pack problems</th><th scope="col">Time to 50 / 90 / 100 %</th><th scope="col">Not covered yet</th></tr></thead>
<tbody>${rows}</tbody></table></section>
<section><h2>Check now</h2>
<form method="post" action="/incidents/scan"><label for="scan-scope">Ask to scan now</label>
<select id="scan-scope" name="scope"><option value="*">every device</option>${tenantOptions}</select> ${byField('scan-by')}
<button type="submit">Scan now</button></form>
<table><caption class="muted">Recent requests (devices scan at their next heartbeat and say so in the one after)</caption><thead><tr><th scope="col">Requested</th><th scope="col">Of</th><th scope="col">By</th><th scope="col">Answered</th></tr></thead><tbody>${requests}</tbody></table></section>
<section><h2>Heartbeat during an incident</h2>
${overrides}
<form method="post" action="/incidents/heartbeat"><label for="hb-tenant">Customer</label> <select id="hb-tenant" name="tenant" required>${tenantOptions}</select>
<label for="hb-interval">every</label> <select id="hb-interval" name="interval"><option value="15">15 s</option><option value="30">30 s</option></select>
<label for="hb-for">for</label> <select id="hb-for" name="for"><option value="3600">1 hour</option><option value="7200" selected>2 hours</option><option value="28800">8 hours</option></select> ${byField('hb-by')}
<button type="submit">Lower the heartbeat</button></form></section>
</main>`,
  );
}

function alertRows(alerts: readonly TriagedAlert[], nowMs: number, back: string): string {
  if (alerts.length === 0) return '<tr><td colspan="6" class="muted">No alerts.</td></tr>';
  return alerts
    .map(({ alert: a, triage: t }, i) => {
      const sev: Status = a.finding.severity === 'info' ? 'ok' : a.finding.severity;
      const state = t.state === 'open' ? '<strong>open</strong>' : `${e(t.state)} by ${e(t.by)} ${e(relativeTime(t.at, nowMs))}${t.note ? `<br><span class="muted">${e(t.note)}</span>` : ''}`;
      const form =
        t.state === 'resolved'
          ? ''
          : `<form method="post" action="/alerts/triage"><input type="hidden" name="deviceId" value="${e(a.deviceId)}"><input type="hidden" name="alertId" value="${e(a.alertId)}"><input type="hidden" name="back" value="${e(back)}">
<label for="note-${i}">Note</label> <input id="note-${i}" name="note" maxlength="2000"> <label for="by-${i}">Your name</label> <input id="by-${i}" name="by" maxlength="200">
${t.state === 'open' ? '<button type="submit" name="action" value="acknowledge">Acknowledge</button> ' : ''}<button type="submit" name="action" value="resolve">Resolve</button></form>`;
      return `<tr><td>${e(relativeTime(a.receivedAt, nowMs))}</td><td><a href="/devices/${encodeURIComponent(a.deviceId)}">${e(a.hostname)}</a><br><span class="muted">${e(a.tenant.name)}</span></td><td>${badge(sev)}</td><td>${e(a.finding.title)}</td><td>${state}</td><td>${form}</td></tr>`;
    })
    .join('\n');
}

const ALERT_HEAD = '<thead><tr><th scope="col">Received</th><th scope="col">Device</th><th scope="col">Severity</th><th scope="col">What</th><th scope="col">State</th><th scope="col">Action</th></tr></thead>';

export function renderAlertsPage(d: { alerts: TriagedAlert[]; filter: TriageFilter; nowMs: number }): string {
  const filters: Array<[TriageFilter, string]> = [['unresolved', 'Open and acknowledged'], ['open', 'Open'], ['acknowledged', 'Acknowledged'], ['resolved', 'Resolved'], ['all', 'All']];
  const nav = filters.map(([f, label]) => (f === d.filter ? `<strong aria-current="page">${label}</strong>` : `<a href="/alerts?state=${f}">${label}</a>`)).join(' · ');
  return page(
    'Vigil fleet: alerts',
    `${header('Vigil fleet: alerts')}
<section><h2>Alerts</h2><p>${nav}</p>
<table>${ALERT_HEAD}<tbody>${alertRows(d.alerts, d.nowMs, `/alerts?state=${d.filter}`)}</tbody></table></section></main>`,
  );
}

export function renderDevicePage(d: { device: DeviceDetail; alerts: TriagedAlert[]; nowMs: number; notice?: string }): string {
  const dev = d.device;
  const order: Record<string, number> = { compromised: 0, unknown: 1, attention: 2, info: 3 };
  const findings = [...dev.findings].sort((a, b) => (order[a.severity] ?? 9) - (order[b.severity] ?? 9));
  const findingRows = findings.length
    ? findings
        .map(
          (f) => `<tr><td>${badge(f.severity === 'info' ? 'ok' : f.severity)}</td><td>${e(f.title)}${f.packId ? `<br><span class="muted">pack ${e(f.packId)}</span>` : ''}</td>
<td>${f.advice ? `<strong>${e(f.advice.title)}</strong><br>${e(f.advice.text)}${f.advice.steps?.length ? `<ol>${f.advice.steps.map((s) => `<li>${e(s)}</li>`).join('')}</ol>` : ''}` : '<span class="muted">none</span>'}</td></tr>`,
        )
        .join('\n')
    : '<tr><td colspan="3" class="muted">No findings in the last scan.</td></tr>';
  const installs = dev.installs.length
    ? `<ul>${dev.installs.map((i) => `<li>${e(i.applicationName)} <strong>${e(i.version ?? 'version unreadable')}</strong> (${e(i.versionClass)}${i.user ? `, ${e(i.user)}` : ''}) at ${e(i.location)}</li>`).join('')}</ul>`
    : '<p class="muted">None found.</p>';
  const packs = dev.packs.length
    ? `<ul>${dev.packs.map((p) => `<li>${e(p.title)} <span class="muted">(${e(p.id)})</span> v${p.version}, ${e(p.origin)}${p.receivedAt ? `, arrived ${e(relativeTime(p.receivedAt, d.nowMs))}` : ''}</li>`).join('')}</ul>`
    : '<p class="muted">No scan reported yet.</p>';
  const problems = dev.problems.length ? `<ul>${dev.problems.map((p) => `<li>${e(p)}</li>`).join('')}</ul>` : '<p class="muted">None.</p>';
  return page(
    `Vigil fleet: ${dev.hostname}`,
    `${header(`Device ${dev.hostname}`)}
${d.notice ? `<p role="status"><strong>${e(d.notice)}</strong></p>` : ''}
<ul class="summary"><li>${badge(dev.status)}</li><li>${e(dev.tenant.name)}</li><li>${e(dev.platform)} ${e(dev.osRelease ?? '')}</li><li class="${dev.online ? 'online' : 'offline'}">${dev.online ? 'online' : 'OFFLINE'}, seen ${e(relativeTime(dev.lastSeenAt, d.nowMs))}</li><li>last scan ${e(relativeTime(dev.lastScanAt, d.nowMs))}</li><li>connection watch: ${e(dev.connectionWatch ?? 'unknown')}</li><li>agent ${e(dev.agentVersion)}</li></ul>
<p>${e(dev.verdict?.summary ?? 'No scan reported yet.')}</p>
<form method="post" action="/devices/${encodeURIComponent(dev.deviceId)}/scan">${byField('dev-scan-by')} <button type="submit">Scan this device now</button></form>
<section><h2>Findings and advice</h2><table><thead><tr><th scope="col">Severity</th><th scope="col">Finding</th><th scope="col">What to do</th></tr></thead><tbody>${findingRows}</tbody></table></section>
<section><h2>Installs found</h2>${installs}</section>
<section><h2>Packs</h2>${packs}</section>
<section><h2>Problems with the agent</h2>${problems}</section>
<section><h2>Recent alerts</h2><table>${ALERT_HEAD}<tbody>${alertRows(d.alerts, d.nowMs, `/devices/${dev.deviceId}`)}</tbody></table></section>
</main>`,
  );
}
