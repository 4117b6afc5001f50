/**
 * `vigil server ...`: the reference partner backend (docs/SERVER.md).
 *
 *   vigil server start [--db FILE] [--host 127.0.0.1] [--port 8740] [--heartbeat-interval SEC]
 *                      [--tls-cert FILE --tls-key FILE] [--trust-proxy ADDRS] [--log-level LEVEL]
 *                      [--alert-retention-days N] [--enrol-burst-per-address N]
 *   vigil server token create --tenant NAME [--expires-days N] [--max-uses N] [--db FILE] [--json]
 *   vigil server token list [--db FILE] [--json]
 *   vigil server token revoke TOKEN_ID [--db FILE]
 *   vigil server admin-token reset [--db FILE]
 *   vigil server backup --to FILE [--db FILE]
 *   vigil server notify add|list|test|remove ...   (server-notify.ts)
 *   vigil server pack ... / scan ... / heartbeat ...   (server-fleet.ts)
 */
import { chmodSync, closeSync, existsSync, openSync } from 'node:fs';
import { readFile, rm } from 'node:fs/promises';
import * as path from 'node:path';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { EXIT, UsageError, type CliIo } from '../io.js';
import { createJsonLogger, type LogLevel } from '../../core/logging/logger.js';
import { isLoopbackHost } from '../../core/report/server-url.js';
import { AdminTokenError, resetAdminToken, resolveAdminToken } from '../../server/admin-token.js';
import { openStorage, resolveDatabaseLocation } from '../../server/database/open-storage.js';
import type { Storage } from '../../server/database/storage.js';
import { databaseKind, redactDatabaseUrl } from '../../server/database/sql-database.js';
import { SqliteDatabase } from '../../server/database/sqlite-database.js';
import { buildServer, DEFAULT_ENROLL_ADDRESS_RATE_LIMIT } from '../../server/server.js';
import { notifyMain } from './server-notify.js';
import { notifyTuningFromEnv, NotifyTuningError } from '../../server/notify/notify-tuning.js';

const HELP = `usage: vigil server <start | token create | token list | token revoke | admin-token reset | migrate | move-to-postgres | ...> [options]

  start                      run the reference backend (fleet page at /, API under /v1)
      --db FILE|URL          SQLite database file, or postgres://user:pass@host/db for PostgreSQL
                             (default: $VIGIL_SERVER_DB or ./vigil-server.db); every command takes --db
      --host ADDR            address to listen on (default 127.0.0.1)
      --port N               port (default 8740; 0 picks a free one)
      --heartbeat-interval S heartbeat interval devices are told to use (default 60)
      --alert-retention-days N  delete alerts received more than N days ago (default 365)
      --enrol-burst-per-address N  successful enrolments one address may make at once
                             (default 1000, then one per 2 s; raise it for a bigger site behind one NAT)
      --tls-cert FILE, --tls-key FILE   serve https directly
      --trust-proxy ADDRS    comma-separated IPs/CIDRs of your TLS reverse proxy: believe
                             its X-Forwarded-For/-Proto/-Host (client address, Secure cookies)
      --log-level LEVEL      debug, info, warn or error (default info)
      --public-url URL       the fleet page's address as people reach it (links in notifications)
    The admin token comes from $VIGIL_ADMIN_TOKEN, or is generated at the first start
    and printed once.

  token create --tenant NAME [--expires-days N] [--max-uses N] [--json]
                             create the tenant if new and an enrolment token for it
                             (printed once; only its hash is stored)
  token list [--json]        list enrolment tokens (ids, tenant, uses; never the tokens)
  token revoke TOKEN_ID      stop a token from enrolling more devices
  admin-token reset          replace the stored admin token and print the new one once
  pack key add FILE.pub.json | key list | key remove KEY_ID
                             the pack-signing keys publications must be signed by
  pack publish FILE --tenant NAME | --all [--by NAME]
                             hand a signed pack to the tenant's (or every) device
  pack list [--json]         publications: id, version, signer, sha256, who, when
  pack withdraw PACK_ID [--tenant NAME | --all]
                             devices stop using the pack (and say so)
  scan request --device ID | --tenant NAME | --all [--by NAME]
                             ask devices to scan now (at their next heartbeat)
  scan list [--json]         check-now requests and how many devices answered
  heartbeat lower --tenant NAME --interval SEC --for DURATION (e.g. 2h, 90m)
                             a shorter heartbeat for a while; it reverts by itself
  backup --to FILE           copy the database while the server runs (SQLite online backup;
                             consistent, mode 0600; FILE must not exist). For PostgreSQL use pg_dump
  notify add|list|test|remove   notification channels (vigil server notify --help)
  migrate [--db FILE|URL]    apply pending schema migrations (SQLite file or postgres:// URL)
  move-to-postgres --from FILE --to URL
                             copy a stopped server's SQLite database into an empty
                             PostgreSQL database; prints row counts per table
`;

const DEFAULT_PORT = 8740;

/** The database --db or VIGIL_SERVER_DB names: a SQLite file (resolved against the cwd) or a postgres:// URL. */
export function dbPath(io: CliIo, value: string | undefined): string {
  return resolveDatabaseLocation(value ?? io.env.VIGIL_SERVER_DB ?? 'vigil-server.db', io.cwd);
}

/** The location as output may show it: a PostgreSQL URL without its password. */
export function shownLocation(location: string): string {
  return redactDatabaseUrl(location);
}

function positiveInt(name: string, v: string | undefined, min = 1): number | undefined {
  if (v === undefined) return undefined;
  if (!/^\d+$/.test(v) || Number(v) < min) throw new UsageError(`${name} must be an integer of at least ${min}, not "${v}"`);
  return Number(v);
}

export type OptionSpec = NonNullable<ParseArgsConfig['options']>;
type ParsedArgs = { values: Record<string, string | boolean | undefined>; positionals: string[] };

export function parse(argv: string[], options: OptionSpec): ParsedArgs {
  try {
    const r = parseArgs({ args: argv, options: { ...options, help: { type: 'boolean', short: 'h' } }, strict: true, allowPositionals: true });
    return { values: r.values as ParsedArgs['values'], positionals: r.positionals };
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
}

/** Opens the storage at `location` for one command, and closes it when `fn` settles. */
export async function withStorage<T>(location: string, fn: (s: Storage) => Promise<T>): Promise<T> {
  let storage: Storage;
  try {
    storage = await openStorage(location);
  } catch (err) {
    // The driver's message may quote the URL: redact it there too.
    const msg = (err as Error).message.split(location).join(redactDatabaseUrl(location));
    throw new UsageError(`cannot open the database ${redactDatabaseUrl(location)}: ${msg}`);
  }
  try {
    return await fn(storage);
  } finally {
    await storage.close();
  }
}

export async function main(argv: string[], io: CliIo): Promise<number> {
  const [sub, ...rest] = argv;
  if (!sub || sub === '--help' || sub === '-h' || sub === 'help') {
    io.stdout(HELP);
    return sub ? EXIT.ok : EXIT.usage;
  }
  if (sub === 'start') return start(rest, io);
  if (sub === 'token') {
    const [action, ...more] = rest;
    if (action === 'create') return tokenCreate(more, io);
    if (action === 'list') return tokenList(more, io);
    if (action === 'revoke') return tokenRevoke(more, io);
    throw new UsageError(`unknown token action "${action ?? ''}": use create, list or revoke`);
  }
  if (sub === 'admin-token' && rest[0] === 'reset') {
    const { values } = parse(rest.slice(1), { db: { type: 'string' } });
    const token = await withStorage(dbPath(io, values.db as string | undefined), (s) => s.transaction((tx) => resetAdminToken(tx.tenants, tx.sessions)));
    io.stdout(`New admin token (shown once; the old one no longer works, and every fleet-page session has ended):\n${token}\n`);
    return EXIT.ok;
  }
  if (sub === 'backup') return backup(rest, io);
  if (sub === 'notify') return notifyMain(rest, io);
  if (sub === 'pack' || sub === 'scan' || sub === 'heartbeat') return (await import('./server-fleet.js')).fleetMain(sub, rest, io);
  if (sub === 'migrate') return (await import('./server-database.js')).migrateCommand(rest, io);
  if (sub === 'move-to-postgres') return (await import('./server-database.js')).moveToPostgresCommand(rest, io);
  throw new UsageError(`unknown server command "${sub}"\n\n${HELP}`);
}

async function backup(argv: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parse(argv, { db: { type: 'string' }, to: { type: 'string' } });
  if (values.help) {
    io.stdout(HELP);
    return EXIT.ok;
  }
  if (positionals.length) throw new UsageError(`unexpected argument "${positionals[0]}"`);
  if (typeof values.to !== 'string' || values.to === '') throw new UsageError('backup needs --to FILE');
  const source = dbPath(io, values.db as string | undefined);
  if (databaseKind(source) === 'postgres') {
    throw new UsageError(`backup copies a SQLite database; back up PostgreSQL (${redactDatabaseUrl(source)}) with pg_dump, e.g. pg_dump --format=custom --file=vigil.dump "$URL"`);
  }
  if (!existsSync(source)) throw new UsageError(`no database at ${source}`);
  const dest = path.resolve(io.cwd, values.to);
  if (dest === source) throw new UsageError('--to names the database itself');
  // Created here, exclusively and 0600, before SQLite writes to it: it holds device keys.
  try {
    closeSync(openSync(dest, 'wx', 0o600));
  } catch (err) {
    throw new UsageError(`cannot create ${dest}: ${(err as NodeJS.ErrnoException).code === 'EEXIST' ? 'it exists already' : (err as Error).message}`);
  }
  let pages = 0;
  try {
    await withStorage(source, async (s) => {
      // SQLite's online backup is on the raw handle: the one SQLite-only feature the CLI uses.
      if (!(s.database instanceof SqliteDatabase)) throw new Error('not a SQLite database');
      const r = await s.database.raw.backup(dest);
      pages = r.totalPages;
    });
  } catch (err) {
    await rm(dest, { force: true });
    io.stderr(`vigil server: backup failed: ${(err as Error).message}\n`);
    return EXIT.incomplete;
  }
  chmodSync(dest, 0o600);
  io.stdout(`Backed up ${source} to ${dest} (${pages} pages). Restore by starting the server with --db ${dest}.\n`);
  return EXIT.ok;
}

async function tokenCreate(argv: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parse(argv, {
    db: { type: 'string' },
    tenant: { type: 'string' },
    'expires-days': { type: 'string' },
    'max-uses': { type: 'string' },
    json: { type: 'boolean' },
  });
  if (values.help) {
    io.stdout(HELP);
    return EXIT.ok;
  }
  if (positionals.length) throw new UsageError(`unexpected argument "${positionals[0]}"`);
  const tenant = typeof values.tenant === 'string' ? values.tenant.trim() : '';
  if (!tenant || tenant.length > 200) throw new UsageError('--tenant NAME is required (1 to 200 characters)');
  const days = positiveInt('--expires-days', values['expires-days'] as string | undefined);
  const maxUses = positiveInt('--max-uses', values['max-uses'] as string | undefined);
  const now = Date.now();
  const created = await withStorage(dbPath(io, values.db as string | undefined), (s) =>
    s.transaction((tx) =>
      tx.tenants.createToken(tenant, now, {
        ...(days !== undefined ? { expiresAt: now + days * 86_400_000 } : {}),
        ...(maxUses !== undefined ? { maxUses } : {}),
      }),
    ),
  );
  if (values.json) {
    io.stdout(
      JSON.stringify({
        tenant: { id: created.tenant.id, name: created.tenant.name, created: created.tenantCreated },
        tokenId: created.tokenId,
        enrollToken: created.token,
        expiresAt: created.expiresAt === null ? null : new Date(created.expiresAt).toISOString(),
        maxUses: maxUses ?? null,
      }) + '\n',
    );
  } else {
    io.stdout(
      `${created.tenantCreated ? 'Created tenant' : 'Tenant'} "${created.tenant.name}" (${created.tenant.id}).\n` +
        `Enrolment token ${created.tokenId}${created.expiresAt ? `, expires ${new Date(created.expiresAt).toISOString()}` : ', no expiry'}${maxUses ? `, ${maxUses} uses` : ''}.\n` +
        `Shown once; only its hash is stored. Put it in the agents' settings as "enrollToken":\n${created.token}\n`,
    );
  }
  return EXIT.ok;
}

async function tokenList(argv: string[], io: CliIo): Promise<number> {
  const { values } = parse(argv, { db: { type: 'string' }, json: { type: 'boolean' } });
  const rows = await withStorage(dbPath(io, values.db as string | undefined), (s) => s.tenants.listTokens());
  const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());
  const list = rows.map((r) => ({
    tokenId: r.id,
    tenant: r.tenant_name,
    createdAt: iso(r.created_at),
    expiresAt: iso(r.expires_at),
    maxUses: r.max_uses,
    uses: r.uses,
    revokedAt: iso(r.revoked_at),
  }));
  if (values.json) io.stdout(JSON.stringify({ tokens: list }) + '\n');
  else if (list.length === 0) io.stdout('No enrolment tokens. Create one with: vigil server token create --tenant NAME\n');
  else {
    for (const t of list) {
      const state = t.revokedAt ? `revoked ${t.revokedAt}` : t.expiresAt && Date.parse(t.expiresAt) <= Date.now() ? 'expired' : 'active';
      io.stdout(`${t.tokenId}  ${t.tenant}  ${state}  uses ${t.uses}${t.maxUses !== null ? `/${t.maxUses}` : ''}  created ${t.createdAt}\n`);
    }
  }
  return EXIT.ok;
}

async function tokenRevoke(argv: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parse(argv, { db: { type: 'string' } });
  const id = positionals[0];
  if (!id || positionals.length > 1) throw new UsageError('token revoke takes one TOKEN_ID (see "vigil server token list")');
  const ok = await withStorage(dbPath(io, values.db as string | undefined), (s) => s.tenants.revokeToken(id, Date.now()));
  if (!ok) {
    io.stderr(`vigil server: no active token ${id}\n`);
    return EXIT.usage;
  }
  io.stdout(`Revoked ${id}. Devices already enrolled with it keep working.\n`);
  return EXIT.ok;
}

async function start(argv: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parse(argv, {
    db: { type: 'string' },
    host: { type: 'string' },
    port: { type: 'string' },
    'heartbeat-interval': { type: 'string' },
    'alert-retention-days': { type: 'string' },
    'enrol-burst-per-address': { type: 'string' },
    'tls-cert': { type: 'string' },
    'tls-key': { type: 'string' },
    'trust-proxy': { type: 'string' },
    'log-level': { type: 'string' },
    'public-url': { type: 'string' },
  });
  if (values.help) {
    io.stdout(HELP);
    return EXIT.ok;
  }
  if (positionals.length) throw new UsageError(`unexpected argument "${positionals[0]}"`);
  const publicUrl = values['public-url'] as string | undefined;
  let tuning;
  try {
    tuning = notifyTuningFromEnv(io.env);
  } catch (err) {
    if (err instanceof NotifyTuningError) throw new UsageError(err.message);
    throw err;
  }
  if (publicUrl !== undefined && !/^https?:\/\/[^\s]+$/.test(publicUrl)) throw new UsageError('--public-url must be an http(s) URL');
  const host = (values.host as string | undefined) ?? '127.0.0.1';
  const port = values.port === undefined ? DEFAULT_PORT : positiveInt('--port', values.port as string, 0)!;
  if (port > 65535) throw new UsageError('--port must be at most 65535');
  const interval = positiveInt('--heartbeat-interval', values['heartbeat-interval'] as string | undefined, 10);
  if (interval !== undefined && interval > 86_400) throw new UsageError('--heartbeat-interval must be at most 86400');
  const retentionDays = positiveInt('--alert-retention-days', values['alert-retention-days'] as string | undefined, 1);
  const enrolBurst = positiveInt('--enrol-burst-per-address', values['enrol-burst-per-address'] as string | undefined, 1);
  const level = (values['log-level'] as string | undefined) ?? 'info';
  if (!['debug', 'info', 'warn', 'error'].includes(level)) throw new UsageError(`--log-level must be debug, info, warn or error`);
  const certFile = values['tls-cert'] as string | undefined;
  const keyFile = values['tls-key'] as string | undefined;
  if ((certFile === undefined) !== (keyFile === undefined)) throw new UsageError('--tls-cert and --tls-key go together');
  const trustProxy = values['trust-proxy'] === undefined ? [] : String(values['trust-proxy']).split(',').map((a) => a.trim()).filter(Boolean);
  for (const a of trustProxy) {
    if (!/^[0-9A-Fa-f.:]+(\/\d{1,3})?$/.test(a)) throw new UsageError(`--trust-proxy takes IP addresses or CIDRs separated by commas, not "${a}"`);
  }

  const log = createJsonLogger({ level: level as LogLevel, write: (line) => io.stderr(line + '\n'), fields: { component: 'server' } });
  const file = dbPath(io, values.db as string | undefined);
  const shown = redactDatabaseUrl(file);
  let storage: Storage;
  try {
    storage = await openStorage(file, { onConnectionError: (err) => log.warn('a database connection failed; it is replaced when next needed', { problem: err.message.split(file).join(shown).slice(0, 300) }) });
  } catch (err) {
    io.stderr(`vigil server: cannot open the database ${shown}: ${(err as Error).message.split(file).join(shown)}\n`);
    return EXIT.usage;
  }
  try {
    let admin;
    try {
      admin = await resolveAdminToken(storage.tenants, io.env);
    } catch (err) {
      if (err instanceof AdminTokenError) throw new UsageError(err.message);
      throw err;
    }
    let listenUrl = 'http://127.0.0.1';
    const https = certFile && keyFile ? { cert: await readFile(path.resolve(io.cwd, certFile)), key: await readFile(path.resolve(io.cwd, keyFile)) } : undefined;
    const app = await buildServer({
      storage,
      adminTokenHash: admin.tokenHash,
      logger: log,
      ...(interval !== undefined ? { heartbeatIntervalSec: interval } : {}),
      ...(retentionDays !== undefined ? { alertRetentionDays: retentionDays } : {}),
      ...(enrolBurst !== undefined ? { enrollSuccessRateLimit: { perAddress: { ...DEFAULT_ENROLL_ADDRESS_RATE_LIMIT, capacity: enrolBurst } } } : {}),
      ...(https ? { https } : {}),
      ...(trustProxy.length ? { trustProxy } : {}),
      // issue 14: links in notifications; tuning from VIGIL_NOTIFY_TUNING (tests, unusual receivers).
      notify: { ...tuning, publicUrl: () => publicUrl ?? listenUrl },
    });
    await app.listen({ host, port });
    const addr = app.server.address();
    const actualPort = typeof addr === 'object' && addr ? addr.port : port;
    const shownHost = host.includes(':') ? `[${host}]` : host;
    const url = `${https ? 'https' : 'http'}://${shownHost}:${actualPort}`;
    listenUrl = url;
    io.stdout(`Vigil reference server listening on ${url}\n`);
    io.stdout(`Fleet page: ${url}/   database: ${shown}\n`);
    if (admin.source === 'generated') io.stdout(`Admin token (shown once; keep it, or set ${'VIGIL_ADMIN_TOKEN'}):\n${admin.token}\n`);
    else io.stdout(`Admin token: ${admin.source === 'env' ? 'from VIGIL_ADMIN_TOKEN' : 'the one printed when this database was created (vigil server admin-token reset replaces it)'}\n`);
    if (!https && !isLoopbackHost(host)) {
      log.warn('serving plain http on a non-loopback address: agents refuse http except to loopback; put a TLS reverse proxy in front or use --tls-cert/--tls-key', { host });
    }
    log.info('server started', { url, db: shown });
    await io.interrupted;
    log.info('server stopping');
    await app.close();
    return EXIT.ok;
  } finally {
    await storage.close();
  }
}
