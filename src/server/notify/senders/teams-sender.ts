/**
 * Microsoft Teams through a Workflows webhook ("Post to a channel when a webhook request is
 * received"): the body is a message with one Adaptive Card attachment (schema 1.4, what
 * the Workflows template posts as is). Office 365 connectors ("incoming webhook") are
 * retired by Microsoft; Workflows URLs are what partners create now.
 */
import type { NotifyEvent } from '../events.js';
import { messageText } from '../message-text.js';
import { postJson, type Sender } from './sender.js';

export function teamsPayload(ev: NotifyEvent): unknown {
  const m = messageText(ev);
  const sev = ev.data.severity;
  const body: unknown[] = [
    { type: 'TextBlock', text: m.headline, weight: 'Bolder', size: 'Medium', wrap: true, color: sev === 'compromised' ? 'Attention' : sev === 'attention' || sev === 'unknown' ? 'Warning' : 'Default' },
    { type: 'FactSet', facts: m.facts.map(([title, value]) => ({ title, value })) },
    ...m.items.slice(0, 20).map((text) => ({ type: 'TextBlock', text, wrap: true, spacing: 'Small' })),
    ...(m.advice ? [{ type: 'TextBlock', text: m.advice, wrap: true, isSubtle: true }] : []),
  ];
  return {
    type: 'message',
    attachments: [
      {
        contentType: 'application/vnd.microsoft.card.adaptive',
        contentUrl: null,
        content: {
          $schema: 'http://adaptivecards.io/schemas/adaptive-card.json',
          type: 'AdaptiveCard',
          version: '1.4',
          body,
          ...(m.link ? { actions: [{ type: 'Action.OpenUrl', title: m.link.label, url: m.link.url }] } : {}),
        },
      },
    ],
  };
}

export function teamsSender(url: string): Sender {
  return { send: (ev, _id, timeoutMs) => postJson(url, JSON.stringify(teamsPayload(ev)), {}, timeoutMs) };
}
