/**
 * Syslog for SIEMs: RFC 5424 messages over TCP with octet-counting framing (RFC 6587
 * section 3.4.1: "LEN SP MSG"), TLS by default (RFC 5425's transport). One message per
 * event; the structured data element `vigil@32473` carries the same fields as the webhook
 * payload's `data` (32473 is the enterprise number RFC 5612 reserves for examples and
 * documentation; Vigil has none of its own).
 */
import { hostname } from 'node:os';
import * as net from 'node:net';
import * as tls from 'node:tls';
import type { SyslogConfig } from '../channel-config.js';
import type { NotifyEvent } from '../events.js';
import { messageText } from '../message-text.js';
import { DeliveryError, type Sender } from './sender.js';

export const SD_ID = 'vigil@32473';

/** RFC 5424 PARAM-VALUE escaping: '"', '\' and ']' get a backslash. */
export function sdEscape(v: string): string {
  return v.replace(/[\\"\]]/g, (c) => '\\' + c);
}

function syslogSeverity(ev: NotifyEvent): number {
  switch (ev.data.severity) {
    case 'compromised':
      return 2; // critical
    case 'attention':
    case 'unknown':
      return 4; // warning
    default:
      return 6; // informational
  }
}

function sdParams(ev: NotifyEvent, deliveryId: string): Array<[string, string]> {
  const d = ev.data;
  const p: Array<[string, string]> = [['type', ev.type], ['deliveryId', deliveryId], ['severity', d.severity]];
  if ('tenant' in d) p.push(['tenantId', d.tenant.id], ['tenant', d.tenant.name]);
  if ('device' in d) p.push(['deviceId', d.device.id], ['hostname', d.device.hostname], ['url', d.device.url]);
  switch (d.type) {
    case 'alert':
      p.push(['alerts', String(d.alerts.length)], ['alertIds', d.alerts.map((a) => a.alertId).join(',')]);
      break;
    case 'verdict.worse':
    case 'verdict.ok':
      p.push(['from', d.from], ['to', d.to]);
      break;
    case 'device.silent':
      p.push(['lastSeenAt', d.lastSeenAt], ['missedIntervals', String(d.missedIntervals)]);
      break;
    case 'pack.withdrawn':
    case 'pack.failing':
      p.push(['packId', d.pack.id], ['devices', String(d.devices.length)], ['reason', d.reason]);
      break;
    default:
      break;
  }
  return p;
}

/** PRINTUSASCII without space, at most `max` characters: HOSTNAME, APP-NAME, MSGID. */
function header(v: string, max: number): string {
  const s = v.replace(/[^\x21-\x7e]/g, '').slice(0, max);
  return s || '-';
}

export function formatSyslog(ev: NotifyEvent, deliveryId: string, c: Pick<SyslogConfig, 'appName' | 'facility'>, host = hostname(), pid = process.pid): string {
  const pri = c.facility * 8 + syslogSeverity(ev);
  const sd = `[${SD_ID} ${sdParams(ev, deliveryId).map(([k, v]) => `${k}="${sdEscape(v)}"`).join(' ')}]`;
  const m = messageText(ev);
  const msg = [m.headline, ...m.items.slice(0, 5)].join(' | ').replace(/[\r\n]+/g, ' ');
  // The BOM marks MSG as UTF-8 (RFC 5424 section 6.4).
  return `<${pri}>1 ${ev.timestamp} ${header(host, 255)} ${header(c.appName, 48)} ${pid} ${header(ev.type, 32)} ${sd} \uFEFF${msg}`;
}

/** Octet-counting frame: the length is of the UTF-8 bytes. */
export function frame(message: string): Buffer {
  const body = Buffer.from(message, 'utf8');
  return Buffer.concat([Buffer.from(`${body.length} `, 'ascii'), body]);
}

export function syslogSender(c: SyslogConfig): Sender {
  return {
    send(ev, deliveryId, timeoutMs) {
      const data = frame(formatSyslog(ev, deliveryId, c));
      return new Promise<void>((resolve, reject) => {
        const socket: net.Socket = c.tls
          ? tls.connect({ host: c.host, port: c.port, servername: net.isIP(c.host) ? undefined : c.host, ...(c.caPem ? { ca: [c.caPem] } : {}) })
          : net.connect({ host: c.host, port: c.port });
        const timer = setTimeout(() => socket.destroy(new DeliveryError(`no connection within ${timeoutMs} ms`)), timeoutMs);
        socket.once(c.tls ? 'secureConnect' : 'connect', () => {
          // Written and flushed to the kernel: delivered as far as TCP can tell.
          socket.end(data, () => {
            clearTimeout(timer);
            resolve();
            socket.setTimeout(timeoutMs, () => socket.destroy());
          });
        });
        socket.once('error', (err) => {
          clearTimeout(timer);
          reject(err instanceof DeliveryError ? err : new DeliveryError(`syslog ${(err as NodeJS.ErrnoException).code ?? err.message}`));
        });
        socket.on('data', () => undefined);
      });
    },
  };
}
