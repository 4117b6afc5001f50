/**
 * E-mail over SMTP with nodemailer: STARTTLS required on the submission port (a server that
 * does not offer it is refused, so the password never crosses in clear) or implicit TLS on
 * 465, with AUTH when a user is configured. Plain text plus HTML; the Message-ID carries the
 * stable delivery id, so a retried message is recognisable as the same one.
 */
import nodemailer from 'nodemailer';
import type { EmailConfig } from '../channel-config.js';
import type { NotifyEvent } from '../events.js';
import { messageText, type MessageText } from '../message-text.js';
import { escapeHtml } from '../../fleet-page.js';
import { DeliveryError, type Sender } from './sender.js';

export function emailText(m: MessageText): string {
  return [
    m.headline,
    '',
    ...m.facts.map(([k, v]) => `${k}: ${v}`),
    ...(m.items.length ? ['', ...m.items.map((i) => `- ${i}`)] : []),
    ...(m.advice ? ['', m.advice] : []),
    ...(m.link ? ['', `${m.link.label}: ${m.link.url}`] : []),
    '',
    '-- Vigil',
  ].join('\n');
}

export function emailHtml(m: MessageText): string {
  return `<!doctype html><html lang="en"><body style="font-family:sans-serif">
<h1 style="font-size:18px">${escapeHtml(m.headline)}</h1>
<table>${m.facts.map(([k, v]) => `<tr><th style="text-align:left;padding-right:12px">${escapeHtml(k)}</th><td>${escapeHtml(v)}</td></tr>`).join('')}</table>
${m.items.length ? `<ul>${m.items.map((i) => `<li>${escapeHtml(i)}</li>`).join('')}</ul>` : ''}
${m.advice ? `<p>${escapeHtml(m.advice)}</p>` : ''}
${m.link ? `<p><a href="${escapeHtml(m.link.url)}">${escapeHtml(m.link.label)}</a></p>` : ''}
</body></html>`;
}

export function emailSender(c: EmailConfig): Sender {
  return {
    async send(ev: NotifyEvent, deliveryId: string, timeoutMs: number) {
      const transport = nodemailer.createTransport({
        host: c.host,
        port: c.port,
        secure: c.security === 'tls',
        requireTLS: c.security === 'starttls',
        ...(c.user ? { auth: { user: c.user, pass: c.password ?? '' } } : {}),
        connectionTimeout: timeoutMs,
        greetingTimeout: timeoutMs,
        socketTimeout: timeoutMs,
        ...(c.caPem ? { tls: { ca: [c.caPem] } } : {}),
      });
      const m = messageText(ev);
      try {
        await transport.sendMail({
          from: c.from,
          to: c.to,
          subject: `[Vigil] ${m.headline}`.slice(0, 200),
          text: emailText(m),
          html: emailHtml(m),
          messageId: `<${deliveryId}@vigil.notify>`,
          headers: { 'X-Vigil-Event': ev.type, 'X-Vigil-Delivery': deliveryId },
        });
      } catch (err) {
        const e = err as Error & { code?: string; responseCode?: number };
        // nodemailer's messages name the host and SMTP reply, never the password.
        throw new DeliveryError(`SMTP ${e.code ?? 'error'}${e.responseCode ? ` ${e.responseCode}` : ''}: ${e.message.slice(0, 200)}`);
      } finally {
        transport.close();
      }
    },
  };
}
