/**
 * `vigil server pack|scan|heartbeat ...`: fleet response from the command line, over the
 * server's database (like `token create`), so it works with the server running or not.
 * The same operations are in the admin API (routes/pack-routes.ts, routes/fleet-routes.ts).
 */
import { readFile } from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { EXIT, UsageError, type CliIo } from '../io.js';
import { dbPath, parse, withStorage } from './server.js';
import { publicationView, publishPack, PublishRefused, withdrawPack } from '../../server/pack-publishing.js';
import { Notifier } from '../../server/notify/notifier.js';
import { FleetRequestError, lowerHeartbeat, parseDuration, requestScan, scanRequestViews, type ScanTarget } from '../../server/fleet-requests.js';
import { PackKeyAddRequestSchema } from '../../shared/fleet-protocol.js';
import { TrustedPackKeySchema } from '../../core/pack/trusted-keys.js';

function who(io: CliIo, by: unknown): string {
  if (typeof by === 'string' && by.trim()) return by.trim().slice(0, 200);
  return `${io.env.USER ?? io.env.USERNAME ?? os.userInfo().username} (cli)`;
}

export async function fleetMain(sub: string, argv: string[], io: CliIo): Promise<number> {
  const [action, ...rest] = argv;
  if (sub === 'pack') {
    if (action === 'key') return packKey(rest, io);
    if (action === 'publish') return packPublish(rest, io);
    if (action === 'list') return packList(rest, io);
    if (action === 'withdraw') return packWithdraw(rest, io);
    throw new UsageError(`unknown pack action "${action ?? ''}": use key, publish, list or withdraw`);
  }
  if (sub === 'scan') {
    if (action === 'request') return scanRequest(rest, io);
    if (action === 'list') return scanList(rest, io);
    throw new UsageError(`unknown scan action "${action ?? ''}": use request or list`);
  }
  if (action === 'lower') return heartbeatLower(rest, io);
  throw new UsageError(`unknown heartbeat action "${action ?? ''}": use lower`);
}

async function packKey(argv: string[], io: CliIo): Promise<number> {
  const [action, ...rest] = argv;
  const { values, positionals } = parse(rest, { db: { type: 'string' }, json: { type: 'boolean' } });
  const file = dbPath(io, values.db as string | undefined);
  if (action === 'add') {
    if (positionals.length !== 1) throw new UsageError('pack key add takes one KEY.pub.json (written by vigil pack keygen)');
    let doc: unknown;
    try {
      doc = JSON.parse(await readFile(path.resolve(io.cwd, positionals[0]!), 'utf8'));
    } catch (err) {
      throw new UsageError(`cannot read ${positionals[0]}: ${(err as Error).message}`);
    }
    const parsed = PackKeyAddRequestSchema.pipe(TrustedPackKeySchema).safeParse(doc);
    if (!parsed.success) throw new UsageError(`${positionals[0]} is not a public pack key: ${parsed.error.issues[0]!.path.join('.')}: ${parsed.error.issues[0]!.message}`);
    await withStorage(file, (s) => s.packs.addKey(parsed.data.keyId, parsed.data.publicKey, Date.now()));
    io.stdout(`The server now accepts packs signed by ${parsed.data.keyId}. Agents trust it only when their packKeys setting names it.\n`);
    return EXIT.ok;
  }
  if (action === 'list') {
    const keys = await withStorage(file, (s) => s.packs.keys());
    if (values.json) io.stdout(JSON.stringify({ keys: keys.map((k) => ({ keyId: k.key_id, publicKey: k.public_key, addedAt: new Date(k.added_at).toISOString() })) }) + '\n');
    else if (keys.length === 0) io.stdout('No pack keys. Add one with: vigil server pack key add KEY.pub.json\n');
    else for (const k of keys) io.stdout(`${k.key_id}  ${k.public_key}  added ${new Date(k.added_at).toISOString()}\n`);
    return EXIT.ok;
  }
  if (action === 'remove') {
    if (positionals.length !== 1) throw new UsageError('pack key remove takes one KEY_ID');
    const ok = await withStorage(file, (s) => s.packs.removeKey(positionals[0]!));
    if (!ok) {
      io.stderr(`vigil server: no pack key ${positionals[0]}\n`);
      return EXIT.usage;
    }
    io.stdout(`Removed ${positionals[0]}: new publications signed by it are refused. Published packs stay; agents decide by their own packKeys.\n`);
    return EXIT.ok;
  }
  throw new UsageError(`unknown pack key action "${action ?? ''}": use add, list or remove`);
}

async function packPublish(argv: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parse(argv, { db: { type: 'string' }, tenant: { type: 'string' }, all: { type: 'boolean' }, by: { type: 'string' }, json: { type: 'boolean' } });
  if (positionals.length !== 1) throw new UsageError('pack publish takes one FILE (a signed envelope from vigil pack sign)');
  const tenant = typeof values.tenant === 'string' ? values.tenant.trim() : undefined;
  if ((tenant === undefined) === (values.all !== true)) throw new UsageError('pack publish needs --tenant NAME or --all');
  let bytes: Buffer;
  try {
    bytes = await readFile(path.resolve(io.cwd, positionals[0]!));
  } catch (err) {
    throw new UsageError(`cannot read ${positionals[0]}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  try {
    const view = await withStorage(dbPath(io, values.db as string | undefined), (s) =>
      s.transaction((tx) => publishPack(tx, { bytes, tenant: tenant ?? null, by: who(io, values.by), nowMs: Date.now() })),
    );
    if (values.json) io.stdout(JSON.stringify(view) + '\n');
    else {
      io.stdout(
        `Published ${view.packId} v${view.version} (${view.publicationId}) to ${view.tenant ?? 'every tenant'}, signed by ${view.signerKeyId}, sha256 ${view.sha256}.\n` +
          `Devices fetch it at their next heartbeat.\n`,
      );
    }
    return EXIT.ok;
  } catch (err) {
    if (err instanceof PublishRefused) {
      io.stderr(`vigil server: refused to publish ${positionals[0]}: ${err.message}\n`);
      return EXIT.usage;
    }
    throw err;
  }
}

async function packList(argv: string[], io: CliIo): Promise<number> {
  const { values } = parse(argv, { db: { type: 'string' }, json: { type: 'boolean' } });
  const rows = (await withStorage(dbPath(io, values.db as string | undefined), (s) => s.packs.list())).map(publicationView);
  if (values.json) io.stdout(JSON.stringify({ packs: rows }) + '\n');
  else if (rows.length === 0) io.stdout('No packs published. Publish one with: vigil server pack publish SIGNED.json --all\n');
  else {
    for (const r of rows) {
      const state = r.withdrawnAt ? `withdrawn ${r.withdrawnAt} by ${r.withdrawnBy}` : 'active';
      io.stdout(`${r.publicationId}  ${r.packId} v${r.version}  ${r.tenant ?? '(every tenant)'}  signed by ${r.signerKeyId}  sha256 ${r.sha256}  published ${r.publishedAt} by ${r.publishedBy}  ${state}\n`);
    }
  }
  return EXIT.ok;
}

async function packWithdraw(argv: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parse(argv, { db: { type: 'string' }, tenant: { type: 'string' }, all: { type: 'boolean' }, by: { type: 'string' } });
  if (positionals.length !== 1) throw new UsageError('pack withdraw takes one PACK_ID (see vigil server pack list)');
  const packId = positionals[0]!;
  const n = await withStorage(dbPath(io, values.db as string | undefined), async (s) => {
    let scope: { tenantId: string | null } | undefined;
    if (typeof values.tenant === 'string') {
      const t = await s.tenants.tenantByName(values.tenant);
      if (!t) throw new UsageError(`no tenant named "${values.tenant}"`);
      scope = { tenantId: t.id };
    } else if (values.all) scope = { tenantId: null };
    // The running server's delivery worker sends the queued pack.withdrawn notifications.
    const notifier = new Notifier(s, { publicUrl: () => '' });
    return withdrawPack({ storage: s, notifier }, { packId, by: who(io, values.by), nowMs: Date.now(), ...(scope ? { scope } : {}) });
  });
  if (n === 0) {
    io.stderr(`vigil server: no active publication of ${packId}${values.tenant ? ` for ${values.tenant}` : ''}\n`);
    return EXIT.usage;
  }
  io.stdout(`Withdrew ${n} publication(s) of ${packId}. Devices drop it at their next heartbeat and say so; a later publication must have a higher version.\n`);
  return EXIT.ok;
}

async function scanRequest(argv: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parse(argv, { db: { type: 'string' }, device: { type: 'string' }, tenant: { type: 'string' }, all: { type: 'boolean' }, by: { type: 'string' }, json: { type: 'boolean' } });
  if (positionals.length) throw new UsageError(`unexpected argument "${positionals[0]}"`);
  const given = [values.device !== undefined, values.tenant !== undefined, values.all === true].filter(Boolean).length;
  if (given !== 1) throw new UsageError('scan request needs exactly one of --device ID, --tenant NAME or --all');
  const target: ScanTarget = values.device !== undefined ? { deviceId: String(values.device) } : values.tenant !== undefined ? { tenant: String(values.tenant) } : { all: true };
  try {
    const view = await withStorage(dbPath(io, values.db as string | undefined), (s) =>
      requestScan(s, target, who(io, values.by), Date.now()),
    );
    if (values.json) io.stdout(JSON.stringify(view) + '\n');
    else io.stdout(`Requested a scan now (${view.requestId}) of ${view.targeted} device(s); each scans at its next heartbeat and says so in the one after.\n`);
    return EXIT.ok;
  } catch (err) {
    if (err instanceof FleetRequestError) throw new UsageError(err.message);
    throw err;
  }
}

async function scanList(argv: string[], io: CliIo): Promise<number> {
  const { values } = parse(argv, { db: { type: 'string' }, json: { type: 'boolean' } });
  const views = await withStorage(dbPath(io, values.db as string | undefined), (s) => scanRequestViews(s));
  if (values.json) io.stdout(JSON.stringify({ scanRequests: views }) + '\n');
  else if (views.length === 0) io.stdout('No scan requests.\n');
  else for (const v of views) io.stdout(`${v.requestId}  ${v.scope}${v.tenant ? ` ${v.tenant}` : ''}${v.deviceId ? ` ${v.deviceId}` : ''}  answered ${v.answered}/${v.targeted}  requested ${v.requestedAt} by ${v.requestedBy}\n`);
  return EXIT.ok;
}

async function heartbeatLower(argv: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parse(argv, { db: { type: 'string' }, tenant: { type: 'string' }, interval: { type: 'string' }, for: { type: 'string' }, by: { type: 'string' } });
  if (positionals.length) throw new UsageError(`unexpected argument "${positionals[0]}"`);
  if (typeof values.tenant !== 'string') throw new UsageError('heartbeat lower needs --tenant NAME');
  const interval = typeof values.interval === 'string' && /^\d+$/.test(values.interval) ? Number(values.interval) : NaN;
  if (!(interval >= 10 && interval <= 86_400)) throw new UsageError('--interval SEC must be 10 to 86400 seconds');
  const forSec = typeof values.for === 'string' ? parseDuration(values.for) : undefined;
  if (forSec === undefined || forSec < 60) throw new UsageError('--for takes a duration of at least a minute, e.g. 2h or 90m');
  try {
    const v = await withStorage(dbPath(io, values.db as string | undefined), (s) =>
      lowerHeartbeat(s, { tenant: values.tenant as string, intervalSec: interval, forSec, by: who(io, values.by) }, Date.now()),
    );
    io.stdout(`Devices of ${v.tenant} heartbeat every ${v.intervalSec} s until ${v.until}, then go back by themselves.\n`);
    return EXIT.ok;
  } catch (err) {
    if (err instanceof FleetRequestError) throw new UsageError(err.message);
    throw err;
  }
}
