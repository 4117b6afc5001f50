/**
 * Slack incoming webhook: `text` (the notification fallback) plus Block Kit `blocks`
 * (header, fields, the listed findings, advice, a link button). Slack caps a section's
 * text at 3,000 characters and a message at 50 blocks; we stay well under both.
 */
import type { NotifyEvent } from '../events.js';
import { messageText } from '../message-text.js';
import { postJson, type Sender } from './sender.js';

/** Slack mrkdwn: &, < and > must be escaped; nothing else is interpreted inside them. */
export function slackEscape(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

export function slackPayload(ev: NotifyEvent): unknown {
  const m = messageText(ev);
  const blocks: unknown[] = [
    { type: 'header', text: { type: 'plain_text', text: m.headline.slice(0, 150), emoji: false } },
    { type: 'section', fields: m.facts.slice(0, 10).map(([k, v]) => ({ type: 'mrkdwn', text: `*${slackEscape(k)}*\n${slackEscape(v)}` })) },
  ];
  if (m.items.length) blocks.push({ type: 'section', text: { type: 'mrkdwn', text: m.items.slice(0, 20).map((i) => `• ${slackEscape(i)}`).join('\n').slice(0, 2900) } });
  if (m.advice) blocks.push({ type: 'context', elements: [{ type: 'mrkdwn', text: slackEscape(m.advice).slice(0, 2900) }] });
  if (m.link) blocks.push({ type: 'actions', elements: [{ type: 'button', text: { type: 'plain_text', text: m.link.label }, url: m.link.url }] });
  return { text: m.headline, blocks };
}

export function slackSender(url: string): Sender {
  return { send: (ev, _id, timeoutMs) => postJson(url, JSON.stringify(slackPayload(ev)), {}, timeoutMs) };
}
