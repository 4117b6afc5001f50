/**
 * The reference backend in this process, listening on a loopback port: the real fastify
 * server, the real SQLite database (in a temp file, or in memory), real HTTP.
 */
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { buildServer, type ServerOptions } from '../../../src/server/server.js';
import { openDatabase, type Db } from '../../../src/server/database/open-database.js';
import { TenantStore } from '../../../src/server/database/tenant-store.js';
import { hashToken, newAdminToken } from '../../../src/server/secret-tokens.js';

export interface TestServer {
  url: string;
  port: number;
  app: FastifyInstance;
  db: Db;
  dbFile: string;
  adminToken: string;
  createToken(tenant: string, opts?: { expiresAt?: number; maxUses?: number }): string;
  admin<T = unknown>(pathAndQuery: string, init?: { method?: string }): Promise<{ status: number; body: T }>;
  close(): Promise<void>;
}

export async function startTestServer(opts: Partial<Omit<ServerOptions, 'db' | 'adminTokenHash'>> & { dbFile?: string; port?: number } = {}): Promise<TestServer> {
  const dbFile = opts.dbFile ?? path.join(await mkdtemp(path.join(tmpdir(), 'vigil-srv-')), 'server.db');
  const db = openDatabase(dbFile);
  const adminToken = newAdminToken();
  const { dbFile: _f, port: wantPort, ...serverOpts } = opts;
  const app = await buildServer({ ...serverOpts, db, adminTokenHash: hashToken(adminToken) });
  await app.listen({ host: '127.0.0.1', port: wantPort ?? 0 });
  const addr = app.server.address();
  const port = typeof addr === 'object' && addr ? addr.port : 0;
  const url = `http://127.0.0.1:${port}`;
  const tenants = new TenantStore(db);
  return {
    url,
    port,
    app,
    db,
    dbFile,
    adminToken,
    createToken: (tenant, o) => tenants.createToken(tenant, Date.now(), o).token,
    admin: async <T,>(p: string, init: { method?: string } = {}) => {
      const res = await fetch(url + p, { method: init.method ?? 'GET', headers: { authorization: `Bearer ${adminToken}` } });
      return { status: res.status, body: (await res.json()) as T };
    },
    close: async () => {
      await app.close();
      db.close();
    },
  };
}
