/**
 * `vigil server notify add|list|test|remove` on a real database, testing against a real
 * loopback webhook receiver; secrets printed once, never listed.
 */
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runServerCli } from './helpers/server-cli.js';
import { WebhookReceiver } from './helpers/webhook-receiver.js';

const run = runServerCli;

const rx = new WebhookReceiver();
beforeAll(() => rx.start());
afterAll(() => rx.stop());

describe('vigil server notify', () => {
  it('adds a webhook (secret printed once), lists it redacted, sends a verified test, removes it', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'vigil-cli-notify-'));
    expect((await run(['token', 'create', '--tenant', 'Acme Dental'], dir)).code).toBe(0);
    const added = await run(['notify', 'add', '--name', 'SOC', '--type', 'webhook', '--tenant', 'Acme Dental', '--min-severity', 'compromised', '--events', 'alert,verdict.worse'], dir, { VIGIL_NOTIFY_URL: rx.url });
    expect(added.code).toBe(0);
    const secret = /\n(whsec_[A-Za-z0-9+/=]+)\n$/.exec(added.stdout)![1]!;
    rx.secret = secret;
    expect(added.stdout).not.toContain('not-for-logs');

    const list = await run(['notify', 'list'], dir);
    expect(list.stdout).toMatch(/^SOC \(chn_[A-Za-z0-9_-]{12}\) {2}webhook -> http:\/\/127\.0\.0\.1:\d+\/… {2}Acme Dental {2}min compromised {2}events alert,verdict\.worse\n/);
    const json = await run(['notify', 'list', '--json'], dir);
    for (const text of [list.stdout, json.stdout]) {
      expect(text).not.toContain(secret.slice(6));
      expect(text).not.toContain('not-for-logs');
    }

    const test = await run(['notify', 'test', 'soc'], dir);
    expect(test.code).toBe(0);
    const id = /Test notification (msg_[A-Za-z0-9_-]{22}) delivered/.exec(test.stdout)![1]!;
    expect(rx.received.map((r) => r.id)).toContain(id);
    expect(rx.rejected).toEqual([]);

    rx.mode = 'error500';
    const failed = await run(['notify', 'test', 'SOC'], dir);
    rx.mode = 'ok';
    expect(failed.code).toBe(3);
    expect(failed.stderr).toContain('the receiver answered HTTP 500');
    expect(failed.stderr).not.toContain('not-for-logs');

    expect((await run(['notify', 'remove', 'SOC'], dir)).code).toBe(0);
    expect((await run(['notify', 'list'], dir)).stdout).toMatch(/^No notification channels/);
  });

  it('refuses bad channels with a message naming what is wrong', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'vigil-cli-notify-'));
    const cases: Array<[string[], RegExp]> = [
      [['notify', 'add', '--name', 'x', '--type', 'pager'], /--type must be/],
      [['notify', 'add', '--name', 'x', '--type', 'slack'], /needs --url/],
      [['notify', 'add', '--name', 'x', '--type', 'slack', '--url', 'not a url'], /config\.url/],
      [['notify', 'add', '--name', 'x', '--type', 'email', '--smtp-host', 'mail.example', '--from', 'a@b.example'], /config\.to/],
      [['notify', 'add', '--name', 'x', '--type', 'syslog', '--syslog-host', 'siem.example', '--syslog-port', '99999'], /config\.port/],
      [['notify', 'add', '--name', 'x', '--type', 'slack', '--url', 'https://hooks.slack.com/x', '--events', 'alert,bogus'], /events\.1/],
      [['notify', 'add', '--name', 'x', '--type', 'slack', '--url', 'https://hooks.slack.com/x', '--tenant', 'Nobody'], /no tenant named "Nobody"/],
      [['notify', 'test', 'nothing'], /NAME or id of a channel/],
      [['notify', 'frob'], /unknown notify action/],
    ];
    for (const [argv, re] of cases) {
      const r = await run(argv, dir);
      expect(r.code, argv.join(' ')).toBe(64);
      expect(r.stderr, argv.join(' ')).toMatch(re);
    }
    expect((await run(['notify', 'add', '--name', 'x', '--type', 'slack', '--url', 'https://hooks.slack.com/x'], dir)).code).toBe(0);
    expect((await run(['notify', 'add', '--name', 'X', '--type', 'slack', '--url', 'https://hooks.slack.com/x'], dir)).stderr).toMatch(/exists already/);
    expect((await run(['start', '--port', '0'], dir, { VIGIL_ADMIN_TOKEN: 'e2e-admin-token-0123456789abcdef', VIGIL_NOTIFY_TUNING: '{"timeoutMs":5}' })).stderr).toMatch(/VIGIL_NOTIFY_TUNING: timeoutMs/);
  });
});
