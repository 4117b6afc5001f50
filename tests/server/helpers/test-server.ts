/**
 * The reference backend in this process, listening on a loopback port: the real fastify
 * server, a real database (test-database.ts: SQLite in a temp file), real HTTP.
 */
import type { FastifyInstance } from 'fastify';
import { buildServer, type ServerOptions } from '../../../src/server/server.js';
import type { SqlDatabase } from '../../../src/server/database/sql-database.js';
import { storageOver, type Storage } from '../../../src/server/database/storage.js';
import { hashToken, newAdminToken } from '../../../src/server/secret-tokens.js';
import { openTestDatabase } from './test-database.js';

export interface TestServer {
  url: string;
  port: number;
  app: FastifyInstance;
  /** The server's stores; `storage.database` runs SQL directly (write it in the subset both stores accept). */
  storage: Storage;
  database: SqlDatabase;
  /** The database's location: give it back as `dbFile` to start a server on the same database. */
  dbFile: string;
  adminToken: string;
  createToken(tenant: string, opts?: { expiresAt?: number; maxUses?: number }): Promise<string>;
  admin<T = unknown>(pathAndQuery: string, init?: { method?: string }): Promise<{ status: number; body: T }>;
  close(): Promise<void>;
  /**
   * Closes without waiting for requests still in flight: an agent stopped mid-delivery
   * aborts a half-sent request the server would otherwise wait on until its timeout.
   */
  closeNow(): Promise<void>;
}

export async function startTestServer(opts: Partial<Omit<ServerOptions, 'storage' | 'adminTokenHash'>> & { dbFile?: string; port?: number } = {}): Promise<TestServer> {
  const { database, location } = await openTestDatabase(opts.dbFile !== undefined ? { location: opts.dbFile } : {});
  const storage = storageOver(database);
  const adminToken = newAdminToken();
  const { dbFile: _f, port: wantPort, ...serverOpts } = opts;
  const app = await buildServer({ ...serverOpts, storage, adminTokenHash: hashToken(adminToken) });
  await app.listen({ host: '127.0.0.1', port: wantPort ?? 0 });
  const addr = app.server.address();
  const port = typeof addr === 'object' && addr ? addr.port : 0;
  const url = `http://127.0.0.1:${port}`;
  const close = async () => {
    await app.close();
    await storage.close();
  };
  return {
    url,
    port,
    app,
    storage,
    database,
    dbFile: location,
    adminToken,
    createToken: async (tenant, o) => (await storage.transaction((tx) => tx.tenants.createToken(tenant, Date.now(), o))).token,
    admin: async <T,>(p: string, init: { method?: string } = {}) => {
      const res = await fetch(url + p, { method: init.method ?? 'GET', headers: { authorization: `Bearer ${adminToken}` } });
      return { status: res.status, body: (await res.json()) as T };
    },
    close,
    closeNow: async () => {
      const closing = close();
      app.server.closeAllConnections();
      await closing;
    },
  };
}
