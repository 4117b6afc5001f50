/**
 * The other channels against real receivers on loopback, through the real server: Teams
 * (Adaptive Card) and Slack (blocks) to an HTTP receiver, e-mail to an SMTP server
 * (`smtp-server`) that offers STARTTLS with a self-signed certificate and requires AUTH,
 * and syslog over TLS to a listener that parses RFC 6587 octet counting and RFC 5424.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import * as tls from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SMTPServer } from 'smtp-server';
import { startTestServer, type TestServer } from './helpers/test-server.js';
import { enrol, signedPost } from './helpers/signed-request.js';
import { connectionAlert, heartbeatFor } from './helpers/sample-reports.js';
import { haveOpenssl, selfSignedCert } from './helpers/self-signed-cert.js';
import { emailSender } from '../../src/server/notify/senders/email-sender.js';
import { testEvent } from '../../src/server/notify/events.js';
import { EmailConfigSchema } from '../../src/server/notify/channel-config.js';
import { formatSyslog, frame } from '../../src/server/notify/senders/syslog-sender.js';

if (!haveOpenssl) {
  if (process.env.CI === 'true') throw new Error('openssl is missing (Debian package openssl): the TLS receivers need it');
  console.warn('SKIPPED notify-channels: openssl missing (Debian package openssl)');
}

const SMTP_USER = 'vigil-relay';
const SMTP_PASS = 'sm7p-pa55word-not-in-logs';

interface Mail {
  secure: boolean;
  user: string | undefined;
  from: string | undefined;
  to: string[];
  raw: string;
}

/** RFC 6587 octet-counting frames out of a byte stream; throws on a malformed length. */
export function parseOctetFrames(buf: Buffer): { frames: string[]; rest: Buffer } {
  const frames: string[] = [];
  let at = 0;
  for (let i = 0; i < 10_000; i++) {
    const sp = buf.indexOf(0x20, at);
    if (sp < 0) break;
    const lenText = buf.subarray(at, sp).toString('ascii');
    if (!/^[1-9]\d{0,5}$/.test(lenText)) throw new Error(`bad frame length "${lenText}"`);
    const len = Number(lenText);
    if (buf.length < sp + 1 + len) break;
    frames.push(buf.subarray(sp + 1, sp + 1 + len).toString('utf8'));
    at = sp + 1 + len;
  }
  return { frames, rest: buf.subarray(at) };
}

interface Syslog5424 {
  pri: number;
  version: number;
  timestamp: string;
  hostname: string;
  appName: string;
  procId: string;
  msgId: string;
  sd: Record<string, Record<string, string>>;
  msg: string;
}

/** An RFC 5424 message (section 6), structured data with escapes, written here independently of the sender. */
export function parse5424(line: string): Syslog5424 {
  const m = /^<(\d{1,3})>(\d) (\S+) (\S+) (\S+) (\S+) (\S+) /.exec(line);
  if (!m) throw new Error(`not RFC 5424: ${line.slice(0, 80)}`);
  let i = m[0].length;
  const sd: Syslog5424['sd'] = {};
  if (line[i] === '-') i++;
  else {
    for (let guard = 0; line[i] === '[' && guard < 100; guard++) {
      const idEnd = line.slice(i + 1).search(/[ \]]/) + i + 1;
      const id = line.slice(i + 1, idEnd);
      const params: Record<string, string> = {};
      i = idEnd;
      for (let g2 = 0; line[i] === ' ' && g2 < 100; g2++) {
        const eq = line.indexOf('="', i);
        const name = line.slice(i + 1, eq);
        let j = eq + 2;
        let value = '';
        for (; j < line.length && line[j] !== '"'; j++) {
          if (line[j] === '\\' && '"\\]'.includes(line[j + 1]!)) j++;
          value += line[j];
        }
        params[name] = value;
        i = j + 1;
      }
      if (line[i] !== ']') throw new Error(`unterminated SD-ELEMENT at ${i}`);
      i++;
      sd[id] = params;
    }
  }
  const msg = line[i] === ' ' ? line.slice(i + 1).replace(/^\uFEFF/, '') : '';
  return { pri: Number(m[1]), version: Number(m[2]), timestamp: m[3]!, hostname: m[4]!, appName: m[5]!, procId: m[6]!, msgId: m[7]!, sd, msg };
}

describe.skipIf(!haveOpenssl)('Teams, Slack, e-mail and syslog channels', () => {
  let srv: TestServer;
  let clock = Date.now();
  let cert: { key: string; cert: string };
  let http: Server;
  let httpPort = 0;
  const posts: Array<{ path: string; json: unknown }> = [];
  let smtp: SMTPServer;
  let smtpPort = 0;
  const mails: Mail[] = [];
  const authAttempts: Array<{ user: string; ok: boolean; secure: boolean }> = [];
  let syslog: tls.Server;
  let syslogPort = 0;
  const syslogLines: string[] = [];

  beforeAll(async () => {
    cert = selfSignedCert();
    http = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        posts.push({ path: req.url ?? '', json: JSON.parse(Buffer.concat(chunks).toString('utf8')) });
        res.writeHead(200).end('1');
      });
    });
    await new Promise<void>((r) => http.listen(0, '127.0.0.1', () => r()));
    httpPort = (http.address() as AddressInfo).port;

    smtp = new SMTPServer({
      secure: false,
      key: cert.key,
      cert: cert.cert,
      authMethods: ['PLAIN', 'LOGIN'],
      allowInsecureAuth: false,
      disabledCommands: [],
      logger: false,
      onAuth(auth, session, cb) {
        const ok = auth.username === SMTP_USER && auth.password === SMTP_PASS;
        authAttempts.push({ user: auth.username ?? '', ok, secure: session.secure });
        cb(ok ? null : new Error('Invalid username or password'), ok ? { user: auth.username } : undefined);
      },
      onData(stream, session, cb) {
        const chunks: Buffer[] = [];
        stream.on('data', (c: Buffer) => chunks.push(c));
        stream.on('end', () => {
          mails.push({ secure: session.secure, user: session.user as string | undefined, from: session.envelope.mailFrom ? session.envelope.mailFrom.address : undefined, to: session.envelope.rcptTo.map((r) => r.address), raw: Buffer.concat(chunks).toString('utf8') });
          cb();
        });
      },
    });
    await new Promise<void>((r) => smtp.listen(0, '127.0.0.1', () => r()));
    smtpPort = (smtp.server.address() as AddressInfo).port;

    syslog = tls.createServer({ key: cert.key, cert: cert.cert }, (sock) => {
      let buf: Buffer = Buffer.alloc(0);
      sock.on('data', (d: Buffer) => {
        buf = Buffer.concat([buf, d]);
        const r = parseOctetFrames(buf);
        syslogLines.push(...r.frames);
        buf = r.rest;
      });
      sock.on('error', () => undefined);
    });
    await new Promise<void>((r) => syslog.listen(0, '127.0.0.1', () => r()));
    syslogPort = (syslog.address() as AddressInfo).port;

    srv = await startTestServer({ now: () => clock, notify: { publicUrl: 'https://fleet.partner.example', burstWindowMs: 100, policy: { pollMs: 20, baseDelayMs: 20, maxDelayMs: 100, timeoutMs: 5000 } } });
  });

  afterAll(async () => {
    await srv?.close();
    await new Promise<void>((r) => (http ? http.close(() => r()) : r()));
    await new Promise<void>((r) => (smtp ? smtp.close(() => r()) : r()));
    await new Promise<void>((r) => (syslog ? syslog.close(() => r()) : r()));
  });

  async function addChannel(body: unknown) {
    const res = await fetch(srv.url + '/v1/notify/channels', { method: 'POST', headers: { authorization: `Bearer ${srv.adminToken}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
    expect(res.status).toBe(201);
    return (await res.json()) as { channel: { id: string; target: string } };
  }

  async function until(what: string, f: () => boolean, ms = 15_000) {
    const end = Date.now() + ms;
    for (let i = 0; i < 5000 && Date.now() < end; i++) {
      if (f()) return;
      await new Promise((r) => setTimeout(r, 25));
    }
    throw new Error(`timed out waiting for ${what}`);
  }

  it('one alert burst reaches Teams as an Adaptive Card, Slack as blocks, e-mail over STARTTLS with AUTH, and syslog over TLS as RFC 5424', async () => {
    const token = await srv.createToken('Acme Dental');
    const e = await enrol(srv.url, token, 'hw-notify-channels-1', 'FRONT-DESK');
    const cred = { deviceId: e.deviceId, deviceSecret: e.deviceSecret };
    await addChannel({ name: 'teams', events: ['alert'], config: { type: 'teams', url: `http://127.0.0.1:${httpPort}/teams/workflow?sig=tok` } });
    await addChannel({ name: 'slack', events: ['alert'], config: { type: 'slack', url: `http://127.0.0.1:${httpPort}/slack/T000/B000/XXXX` } });
    const mail = await addChannel({
      name: 'mail',
      events: ['alert'],
      config: { type: 'email', host: '127.0.0.1', port: smtpPort, security: 'starttls', user: SMTP_USER, password: SMTP_PASS, from: 'vigil@partner.example', to: ['soc@partner.example', 'oncall@partner.example'], caPem: cert.cert },
    });
    expect(JSON.stringify(mail)).not.toContain(SMTP_PASS);
    await addChannel({ name: 'siem', events: ['alert'], config: { type: 'syslog', host: '127.0.0.1', port: syslogPort, tls: true, caPem: cert.cert } });
    const list = await (await fetch(srv.url + '/v1/notify/channels', { headers: { authorization: `Bearer ${srv.adminToken}` } })).text();
    expect(list).not.toContain(SMTP_PASS);
    expect(list).not.toContain('sig=tok');
    expect(list).not.toContain('XXXX');

    await signedPost(srv.url, '/v1/heartbeats', cred, heartbeatFor(cred.deviceId, { sentAt: new Date(clock), compromised: false, hostname: 'FRONT-DESK' }), { nowMs: clock });
    await signedPost(srv.url, '/v1/alerts', cred, { deviceId: cred.deviceId, alerts: [connectionAlert(7), connectionAlert(8)] }, { nowMs: clock });
    clock += 200;
    await until('all four receivers', () => posts.length >= 2 && mails.length >= 1 && syslogLines.length >= 1);

    // Teams: a message with one Adaptive Card, the device, customer, finding, advice link.
    const teams = posts.find((p) => p.path.startsWith('/teams/'))!.json as { type: string; attachments: Array<{ contentType: string; content: Record<string, unknown> & { body: Array<Record<string, unknown>>; actions: Array<Record<string, string>> } }> };
    expect(teams.type).toBe('message');
    expect(teams.attachments).toHaveLength(1);
    const card = teams.attachments[0]!;
    expect(card.contentType).toBe('application/vnd.microsoft.card.adaptive');
    expect(card.content).toMatchObject({ type: 'AdaptiveCard', version: '1.4', $schema: 'http://adaptivecards.io/schemas/adaptive-card.json' });
    expect(card.content.body[0]).toMatchObject({ type: 'TextBlock', text: 'FRONT-DESK (Acme Dental): 2 alerts', color: 'Attention' });
    expect(card.content.body[1]).toMatchObject({ type: 'FactSet', facts: expect.arrayContaining([{ title: 'Customer', value: 'Acme Dental' }, { title: 'Device', value: 'FRONT-DESK' }]) });
    expect(JSON.stringify(card.content.body)).toContain('akamaicontainer.com');
    expect(card.content.actions).toEqual([{ type: 'Action.OpenUrl', title: 'Open the device on the fleet page', url: `https://fleet.partner.example/#${cred.deviceId}` }]);

    // Slack: fallback text plus header, fields, the listed alerts and a link button.
    const slack = posts.find((p) => p.path.startsWith('/slack/'))!.json as { text: string; blocks: Array<Record<string, unknown>> };
    expect(slack.text).toBe('FRONT-DESK (Acme Dental): 2 alerts');
    expect(slack.blocks.map((b) => b.type)).toEqual(['header', 'section', 'section', 'actions']);
    expect(JSON.stringify(slack.blocks[1])).toContain('*Customer*\\nAcme Dental');
    expect((slack.blocks[2] as { text: { text: string } }).text.text.split('\n')).toHaveLength(2);
    expect(slack.blocks[3]).toMatchObject({ elements: [{ type: 'button', url: `https://fleet.partner.example/#${cred.deviceId}` }] });

    // E-mail: STARTTLS before AUTH, authenticated, both recipients, text and HTML parts.
    const m = mails[0]!;
    expect(m.secure).toBe(true);
    expect(authAttempts).toEqual([{ user: SMTP_USER, ok: true, secure: true }]);
    expect(m.from).toBe('vigil@partner.example');
    expect(m.to).toEqual(['soc@partner.example', 'oncall@partner.example']);
    expect(m.raw).toMatch(/^Subject: \[Vigil\] FRONT-DESK \(Acme Dental\): 2 alerts$/m);
    expect(m.raw).toMatch(/^Message-ID: <msg_[A-Za-z0-9_-]{22}@vigil\.notify>$/m);
    expect(m.raw).toMatch(/Content-Type: multipart\/alternative/);
    expect(m.raw).toMatch(/Content-Type: text\/plain/);
    expect(m.raw).toMatch(/Content-Type: text\/html/);
    expect(m.raw.replace(/=\r?\n/g, '')).toContain(`https://fleet.partner.example/#${cred.deviceId}`);

    // Syslog: one RFC 5424 line, crit (2) at local0 (16), structured data with the same fields.
    expect(syslogLines).toHaveLength(1);
    const s = parse5424(syslogLines[0]!);
    expect(s).toMatchObject({ pri: 16 * 8 + 2, version: 1, appName: 'vigil', msgId: 'alert' });
    expect(Date.parse(s.timestamp)).toBe(clock - 200);
    expect(s.sd['vigil@32473']).toMatchObject({ type: 'alert', tenant: 'Acme Dental', hostname: 'FRONT-DESK', deviceId: cred.deviceId, alerts: '2', alertIds: `${connectionAlert(7).alertId},${connectionAlert(8).alertId}`, severity: 'compromised' });
    expect(s.msg).toContain('FRONT-DESK (Acme Dental): 2 alerts');
  });

  it('syslog framing counts UTF-8 bytes and escapes structured-data values; the parser refuses a bad frame length', () => {
    const ev = testEvent('Büro "Nord" [2]', Date.UTC(2026, 11, 5, 10, 0, 0));
    const line = formatSyslog(ev, 'msg_x', { appName: 'vigil', facility: 16 }, 'pc-ü', 42);
    const framed = frame(line);
    expect(framed.toString('utf8')).toBe(`${Buffer.byteLength(line)} ${line}`);
    const { frames } = parseOctetFrames(Buffer.concat([framed, framed]));
    expect(frames).toEqual([line, line]);
    const p = parse5424(frames[0]!);
    expect(p.hostname).toBe('pc-'); // HOSTNAME is PRINTUSASCII only
    expect(p.msg).toContain('Büro "Nord" [2]');
    expect(p.sd['vigil@32473']).toMatchObject({ type: 'test', deliveryId: 'msg_x', severity: 'info' });
    expect(() => parseOctetFrames(Buffer.from('12x <14>1 - - - - - -'))).toThrow(/bad frame length/);
    expect(() => parse5424('hello')).toThrow(/not RFC 5424/);
  });

  it('e-mail: a wrong password and a relay without STARTTLS are refused, and the error never shows the password', async () => {
    const base = EmailConfigSchema.parse({ type: 'email', host: '127.0.0.1', port: smtpPort, user: SMTP_USER, password: 'wrong-' + SMTP_PASS, from: 'vigil@partner.example', to: ['soc@partner.example'], caPem: cert.cert });
    const err = await emailSender(base).send(testEvent('mail', Date.now()), 'msg_wrong', 5000).then(() => null, (e: Error) => e);
    expect(err?.message).toMatch(/EAUTH|535/);
    expect(err?.message).not.toContain(SMTP_PASS);

    let plainMails = 0;
    const plain = new SMTPServer({ secure: false, hideSTARTTLS: true, authOptional: true, logger: false, onData: (s, _x, cb) => (plainMails++, s.resume(), s.on('end', () => cb())) });
    await new Promise<void>((r) => plain.listen(0, '127.0.0.1', () => r()));
    try {
      const port = (plain.server.address() as AddressInfo).port;
      const refused = await emailSender({ ...base, port, password: SMTP_PASS }).send(testEvent('mail', Date.now()), 'msg_plain', 5000).then(() => null, (e: Error) => e);
      // nodemailer insists on TLS (requireTLS): refused one way or another, nothing sent in clear.
      expect(refused).toBeInstanceOf(Error);
      expect(plainMails).toBe(0);
      expect(refused?.message).not.toContain(SMTP_PASS);
    } finally {
      await new Promise<void>((r) => plain.close(() => r()));
    }
  });
});
