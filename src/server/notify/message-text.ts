/**
 * The human side of an event, shared by the Teams, Slack, e-mail and syslog formatters:
 * a headline, labelled facts, the listed findings, the advice and the link to the device.
 */
import type { NotifyEvent } from './events.js';

export interface MessageText {
  headline: string;
  facts: Array<[string, string]>;
  items: string[];
  advice: string | null;
  link: { label: string; url: string } | null;
}

const STATUS_WORD = { ok: 'clean', attention: 'at risk', compromised: 'compromised', unknown: 'unknown' } as const;

export function messageText(ev: NotifyEvent): MessageText {
  const d = ev.data;
  switch (d.type) {
    case 'alert': {
      const n = d.alerts.length;
      const first = d.alerts.find((a) => a.advice) ?? null;
      return {
        headline: `${d.device.hostname} (${d.tenant.name}): ${n === 1 ? d.alerts[0]!.title : `${n} alerts`}`,
        facts: [['Customer', d.tenant.name], ['Device', d.device.hostname], ['Severity', d.severity], ['Alerts', String(n)]],
        items: d.alerts.map((a) => `[${a.severity}] ${a.title} (${a.kind}, raised ${a.raisedAt})`),
        advice: first?.advice ? `${first.advice.title}: ${first.advice.text}` : null,
        link: { label: 'Open the device on the fleet page', url: d.device.url },
      };
    }
    case 'verdict.worse':
    case 'verdict.ok':
      return {
        headline: `${d.device.hostname} (${d.tenant.name}) is ${d.type === 'verdict.ok' ? 'back to clean' : `now ${STATUS_WORD[d.to]}`}`,
        facts: [['Customer', d.tenant.name], ['Device', d.device.hostname], ['Was', STATUS_WORD[d.from]], ['Now', STATUS_WORD[d.to]]],
        items: d.summary ? [d.summary] : [],
        advice: null,
        link: { label: 'Open the device on the fleet page', url: d.device.url },
      };
    case 'device.silent':
      return {
        headline: `${d.device.hostname} (${d.tenant.name}) has gone silent`,
        facts: [['Customer', d.tenant.name], ['Device', d.device.hostname], ['Last seen', d.lastSeenAt], ['Missed heartbeats', String(d.missedIntervals)]],
        items: [],
        advice: 'Check that the PC is on and its Vigil agent is running; a stopped agent cannot report a compromise.',
        link: { label: 'Open the device on the fleet page', url: d.device.url },
      };
    case 'pack.withdrawn':
    case 'pack.failing':
      return {
        headline: `Pack ${d.pack.id}${d.pack.version !== null ? ` v${d.pack.version}` : ''} ${d.type === 'pack.withdrawn' ? 'was withdrawn' : `is failing to load on ${d.devices.length} device(s)`} (${d.tenant.name})`,
        facts: [['Customer', d.tenant.name], ['Pack', d.pack.id], ['Devices', String(d.devices.length)]],
        items: [d.reason, ...d.devices.slice(0, 20).map((x) => x.hostname)],
        advice: null,
        link: null,
      };
    case 'digest':
      return {
        headline: `Vigil daily digest for ${d.tenant.name}, ${d.day}`,
        facts: [['Devices', String(d.devices)], ['Compromised', String(d.byStatus.compromised)], ['At risk', String(d.byStatus.attention)], ['Alerts', String(d.alerts)], ['Silent', String(d.silent)]],
        items: [],
        advice: null,
        link: null,
      };
    case 'test':
      return { headline: `Vigil test notification for channel "${d.channel}"`, facts: [['Channel', d.channel]], items: ['If you can read this, the channel works.'], advice: null, link: null };
  }
}
