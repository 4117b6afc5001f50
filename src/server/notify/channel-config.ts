/**
 * Notification channels: what a partner configures (one zod schema per boundary: the admin
 * API and `vigil server notify add` both validate with `ChannelInputSchema`), and how a
 * stored channel is shown without its secrets.
 *
 * Secrets (the webhook signing secret, SMTP password, and the URLs of Teams/Slack/webhook
 * endpoints, which often embed a token) are stored in the database, which already holds
 * device keys and is mode 0600; they are never returned in full and never logged.
 */
import { z } from 'zod';

export const EVENT_TYPES = ['alert', 'verdict.worse', 'verdict.ok', 'device.silent', 'pack.withdrawn', 'pack.failing', 'digest'] as const;
export const EventTypeSchema = z.enum(EVENT_TYPES);
export type EventType = z.infer<typeof EventTypeSchema>;

/** Severity order used for a channel's minimum: `info` lets everything through. */
export const NOTIFY_SEVERITIES = ['info', 'attention', 'unknown', 'compromised'] as const;
export const NotifySeveritySchema = z.enum(NOTIFY_SEVERITIES);
export type NotifySeverity = z.infer<typeof NotifySeveritySchema>;

export const CHANNEL_TYPES = ['webhook', 'teams', 'slack', 'email', 'syslog'] as const;
export type ChannelType = (typeof CHANNEL_TYPES)[number];

const HttpUrl = z.url({ protocol: /^https?$/, error: 'must be an http(s) URL' }).max(2000);
const Host = z.string().min(1).max(253);
const Port = z.number().int().min(1).max(65535);

export const WebhookConfigSchema = z.object({
  type: z.literal('webhook'),
  url: HttpUrl,
  /** Standard Webhooks secret: "whsec_" + base64 of 24 to 64 random bytes. Generated when absent. */
  secret: z.string().regex(/^whsec_[A-Za-z0-9+/=]{32,100}$/, 'a webhook secret is "whsec_" followed by base64').optional(),
});
export const TeamsConfigSchema = z.object({ type: z.literal('teams'), url: HttpUrl });
export const SlackConfigSchema = z.object({ type: z.literal('slack'), url: HttpUrl });
export const EmailConfigSchema = z.object({
  type: z.literal('email'),
  host: Host,
  port: Port.default(587),
  /** `starttls` (port 587: upgrade required, refused if the server does not offer it) or `tls` (port 465). */
  security: z.enum(['starttls', 'tls']).default('starttls'),
  user: z.string().min(1).max(256).optional(),
  password: z.string().min(1).max(1024).optional(),
  from: z.email().max(320),
  to: z.array(z.email().max(320)).min(1).max(50),
  /** PEM of a CA to trust in addition to the system's (a private relay's own CA). */
  caPem: z.string().max(20_000).optional(),
});
export const SyslogConfigSchema = z.object({
  type: z.literal('syslog'),
  host: Host,
  port: Port.default(6514),
  tls: z.boolean().default(true),
  caPem: z.string().max(20_000).optional(),
  /** RFC 5424 APP-NAME. */
  appName: z.string().regex(/^[\x21-\x7e]{1,48}$/).default('vigil'),
  /** Syslog facility number (default 16, local0). */
  facility: z.number().int().min(0).max(23).default(16),
});

export const ChannelConfigSchema = z.discriminatedUnion('type', [WebhookConfigSchema, TeamsConfigSchema, SlackConfigSchema, EmailConfigSchema, SyslogConfigSchema]);
export type ChannelConfig = z.infer<typeof ChannelConfigSchema>;
export type WebhookConfig = z.infer<typeof WebhookConfigSchema>;
export type EmailConfig = z.infer<typeof EmailConfigSchema>;
export type SyslogConfig = z.infer<typeof SyslogConfigSchema>;

export const ChannelInputSchema = z.object({
  name: z.string().trim().min(1).max(100),
  /** A tenant name, or absent for every tenant. */
  tenant: z.string().trim().min(1).max(200).optional(),
  minSeverity: NotifySeveritySchema.default('attention'),
  events: z.array(EventTypeSchema).min(1).max(EVENT_TYPES.length).default(['alert', 'verdict.worse', 'verdict.ok', 'device.silent', 'pack.withdrawn', 'pack.failing']),
  config: ChannelConfigSchema,
});
export type ChannelInput = z.infer<typeof ChannelInputSchema>;

/** A channel as stored (config including secrets: server-side only). */
export interface Channel {
  id: string;
  name: string;
  tenantId: string | null;
  tenantName: string | null;
  minSeverity: NotifySeverity;
  events: EventType[];
  config: ChannelConfig;
  createdAt: number;
}

export function severityAtLeast(s: NotifySeverity, min: NotifySeverity): boolean {
  return NOTIFY_SEVERITIES.indexOf(s) >= NOTIFY_SEVERITIES.indexOf(min);
}

/** "https://hooks.example.com/…": enough to recognise the endpoint, nothing of its path or query. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.host}/…`;
  } catch {
    return '(invalid URL)';
  }
}

/** Where a channel delivers, safe to show and log. */
export function channelTarget(c: ChannelConfig): string {
  switch (c.type) {
    case 'webhook':
    case 'teams':
    case 'slack':
      return redactUrl(c.url);
    case 'email':
      return `${c.to.join(', ')} via ${c.host}:${c.port}${c.user ? ` as ${c.user}` : ''}`;
    case 'syslog':
      return `${c.tls ? 'tls' : 'tcp'}://${c.host}:${c.port}`;
  }
}
