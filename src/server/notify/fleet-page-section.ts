/**
 * The fleet page's "Notifications" section: each channel's last delivery, pending and
 * failed events, last error, and a "Send test" button (a plain form post: the page has no
 * scripts). Never a secret or a full URL.
 */
import { escapeHtml, relativeTime } from '../fleet-page.js';
import type { ChannelView } from './channel-view.js';

export function renderNotifySection(channels: readonly ChannelView[], nowMs: number, testQueued: boolean): string {
  const status = testQueued ? '<p role="status">Test notification queued; its delivery shows below after a refresh.</p>' : '';
  const rows = channels.length
    ? channels
        .map(
          (c) => `<tr><td><strong>${escapeHtml(c.name)}</strong><br><span class="muted">${escapeHtml(c.type)}: ${escapeHtml(c.target)}</span></td>
<td>${escapeHtml(c.tenant ?? 'all customers')}<br><span class="muted">from ${escapeHtml(c.minSeverity)}</span></td>
<td title="${escapeHtml(c.lastDeliveredAt ?? '')}">${escapeHtml(relativeTime(c.lastDeliveredAt, nowMs))}</td>
<td>${c.pending}</td>
<td>${c.failed ? `<span class="error">${c.failed}</span>` : '0'}</td>
<td>${c.lastError ? escapeHtml(c.lastError) : '<span class="muted">none</span>'}</td>
<td><form method="post" action="/notify/test"><input type="hidden" name="channel" value="${escapeHtml(c.id)}"><button type="submit" aria-label="Send test to ${escapeHtml(c.name)}">Send test</button></form></td></tr>`,
        )
        .join('\n')
    : '<tr><td colspan="7" class="muted">No channels: add one with <code>vigil server notify add</code>.</td></tr>';
  return `<section id="notifications" aria-labelledby="notifications-h"><h2 id="notifications-h">Notifications</h2>${status}
<table><thead><tr><th>Channel</th><th>Customers</th><th>Last delivery</th><th>Pending</th><th>Failed</th><th>Last error</th><th>Test</th></tr></thead>
<tbody>${rows}</tbody></table></section>`;
}
