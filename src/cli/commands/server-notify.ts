/**
 * `vigil server notify ...`: notification channels of the reference backend (docs/SERVER.md,
 * "Notifications"). Works on the database directly, like `token`; a running server picks
 * up a change within a second.
 *
 *   vigil server notify add --name NAME --type webhook|teams|slack|email|syslog [--tenant T]
 *        [--min-severity info|attention|unknown|compromised] [--events alert,verdict.worse,...]
 *        webhook/teams/slack: --url URL (or $VIGIL_NOTIFY_URL, kept out of the process list)
 *        email:  --smtp-host H [--smtp-port 587] [--smtp-security starttls|tls] [--smtp-user U]
 *                --from ADDR --to ADDR[,ADDR] [--ca FILE]   password: $VIGIL_SMTP_PASSWORD
 *        syslog: --syslog-host H [--syslog-port 6514] [--no-tls] [--ca FILE]
 *        [--json]
 *   vigil server notify list [--json]
 *   vigil server notify test NAME      send a test event now and say whether it was delivered
 *   vigil server notify remove NAME
 */
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { EXIT, UsageError, type CliIo } from '../io.js';
import { dbPath, withStorage } from './server.js';
import { ChannelError, Notifier } from '../../server/notify/notifier.js';
import { channelViews } from '../../server/notify/channel-view.js';
import { testEvent } from '../../server/notify/events.js';
import { senderFor } from '../../server/notify/senders/sender-for-channel.js';
import { newId } from '../../server/secret-tokens.js';

export const NOTIFY_HELP = `usage: vigil server notify <add | list | test | remove> [options] [--db FILE]

  add --name NAME --type webhook|teams|slack|email|syslog [--tenant NAME]
      [--min-severity info|attention|unknown|compromised] [--events alert,verdict.worse,...]
      webhook, teams, slack: --url URL (or set VIGIL_NOTIFY_URL)
      email:  --smtp-host H [--smtp-port 587] [--smtp-security starttls|tls] [--smtp-user U]
              --from ADDR --to ADDR[,ADDR...] [--ca FILE]; password from VIGIL_SMTP_PASSWORD
      syslog: --syslog-host H [--syslog-port 6514] [--no-tls] [--ca FILE]
      A webhook's signing secret (whsec_...) is printed once.
  list [--json]         channels, last delivery, pending and failed events (no secrets)
  test NAME             send a test event now; exit 0 when delivered
  remove NAME           delete the channel and its undelivered events
`;

function num(name: string, v: unknown): number | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== 'string' || !/^\d+$/.test(v)) throw new UsageError(`${name} must be a number, not "${String(v)}"`);
  return Number(v);
}

export async function notifyMain(argv: string[], io: CliIo): Promise<number> {
  const [action, ...rest] = argv;
  let parsed;
  try {
    parsed = parseArgs({
      args: rest,
      strict: true,
      allowPositionals: true,
      options: {
        db: { type: 'string' },
        json: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
        name: { type: 'string' },
        type: { type: 'string' },
        tenant: { type: 'string' },
        'min-severity': { type: 'string' },
        events: { type: 'string' },
        url: { type: 'string' },
        'smtp-host': { type: 'string' },
        'smtp-port': { type: 'string' },
        'smtp-security': { type: 'string' },
        'smtp-user': { type: 'string' },
        from: { type: 'string' },
        to: { type: 'string' },
        ca: { type: 'string' },
        'syslog-host': { type: 'string' },
        'syslog-port': { type: 'string' },
        'no-tls': { type: 'boolean' },
      },
    });
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  const v = parsed.values;
  if (!action || v.help || action === 'help') {
    io.stdout(NOTIFY_HELP);
    return action ? EXIT.ok : EXIT.usage;
  }
  return withStorage(dbPath(io, v.db), async (storage) => {
    const store = storage.notify;
    const notifier = new Notifier(storage, { publicUrl: () => io.env.VIGIL_PUBLIC_URL ?? 'http://127.0.0.1:8740' });
    const target = parsed.positionals[0];
    switch (action) {
      case 'add':
        return add(notifier, v, io);
      case 'list': {
        const views = channelViews(await notifier.list(), await store.stats());
        if (v.json) io.stdout(JSON.stringify({ channels: views }) + '\n');
        else if (views.length === 0) io.stdout('No notification channels. Add one with: vigil server notify add --name NAME --type webhook --url URL\n');
        else
          for (const c of views) {
            io.stdout(
              `${c.name} (${c.id})  ${c.type} -> ${c.target}  ${c.tenant ?? 'all tenants'}  min ${c.minSeverity}  events ${c.events.join(',')}\n` +
                `    delivered ${c.delivered}, pending ${c.pending}, failed ${c.failed}; last delivery ${c.lastDeliveredAt ?? 'never'}${c.lastError ? `; last error: ${c.lastError}` : ''}\n`,
            );
          }
        return EXIT.ok;
      }
      case 'test': {
        const c = target ? await notifier.get(target) : undefined;
        if (!c) throw new UsageError(`notify test takes the NAME or id of a channel (see "vigil server notify list")`);
        const id = newId('msg_');
        try {
          await senderFor(c.config).send(testEvent(c.name, Date.now()), id, 15_000);
        } catch (err) {
          io.stderr(`vigil server: test to "${c.name}" failed: ${(err as Error).message}\n`);
          return EXIT.incomplete;
        }
        io.stdout(`Test notification ${id} delivered to "${c.name}".\n`);
        return EXIT.ok;
      }
      case 'remove': {
        if (!target || !(await notifier.remove(target))) {
          io.stderr(`vigil server: no channel "${target ?? ''}"\n`);
          return EXIT.usage;
        }
        io.stdout(`Removed channel "${target}" and its undelivered events.\n`);
        return EXIT.ok;
      }
      default:
        throw new UsageError(`unknown notify action "${action}": use add, list, test or remove`);
    }
  });
}

async function add(notifier: Notifier, v: Record<string, string | boolean | undefined>, io: CliIo): Promise<number> {
  const type = v.type;
  const ca = typeof v.ca === 'string' ? readFileSync(path.resolve(io.cwd, v.ca), 'utf8') : undefined;
  let config: Record<string, unknown>;
  switch (type) {
    case 'webhook':
    case 'teams':
    case 'slack': {
      const url = (v.url as string | undefined) ?? io.env.VIGIL_NOTIFY_URL;
      if (!url) throw new UsageError(`--type ${type} needs --url URL (or VIGIL_NOTIFY_URL)`);
      config = { type, url };
      break;
    }
    case 'email':
      config = {
        type,
        host: v['smtp-host'],
        ...(v['smtp-port'] !== undefined ? { port: num('--smtp-port', v['smtp-port']) } : {}),
        ...(v['smtp-security'] !== undefined ? { security: v['smtp-security'] } : {}),
        ...(v['smtp-user'] !== undefined ? { user: v['smtp-user'] } : {}),
        ...(io.env.VIGIL_SMTP_PASSWORD ? { password: io.env.VIGIL_SMTP_PASSWORD } : {}),
        from: v.from,
        to: typeof v.to === 'string' ? v.to.split(',').map((s) => s.trim()).filter(Boolean) : undefined,
        ...(ca ? { caPem: ca } : {}),
      };
      break;
    case 'syslog':
      config = {
        type,
        host: v['syslog-host'],
        ...(v['syslog-port'] !== undefined ? { port: num('--syslog-port', v['syslog-port']) } : {}),
        tls: !v['no-tls'],
        ...(ca ? { caPem: ca } : {}),
      };
      break;
    default:
      throw new UsageError('--type must be webhook, teams, slack, email or syslog');
  }
  let c;
  try {
    c = await notifier.add(
      {
        name: v.name,
        ...(v.tenant !== undefined ? { tenant: v.tenant } : {}),
        ...(v['min-severity'] !== undefined ? { minSeverity: v['min-severity'] } : {}),
        ...(typeof v.events === 'string' ? { events: v.events.split(',').map((s) => s.trim()).filter(Boolean) } : {}),
        config,
      },
      Date.now(),
    );
  } catch (err) {
    if (err instanceof ChannelError) throw new UsageError(err.message);
    throw err;
  }
  const view = channelViews([c], [])[0]!;
  const secret = c.config.type === 'webhook' ? c.config.secret : undefined;
  if (v.json) io.stdout(JSON.stringify({ channel: view, ...(secret ? { secret } : {}) }) + '\n');
  else {
    io.stdout(`Added channel "${view.name}" (${view.id}): ${view.type} -> ${view.target}, ${view.tenant ?? 'all tenants'}.\n`);
    if (secret) io.stdout(`Webhook signing secret (shown once; verify webhook-signature with it):\n${secret}\n`);
  }
  return EXIT.ok;
}
