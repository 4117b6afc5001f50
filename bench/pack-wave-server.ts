/**
 * The reference server for bench/pack-wave.bench.ts, in its own process so its CPU time can
 * be read from /proc: buildServer as `vigil server start` builds it, plus one route the
 * product does not have, GET /bench/static, the peer's static file (same bytes as the pack).
 *
 *   node --import tsx bench/pack-wave-server.ts DBFILE ADMIN_TOKEN STATIC_FILE INTERVAL_SEC
 */
import { readFileSync } from 'node:fs';
import { buildServer } from '../src/server/server.js';
import { openStorage } from '../src/server/database/open-storage.js';
import { hashToken } from '../src/server/secret-tokens.js';

const [dbFile, adminToken, staticFile, interval] = process.argv.slice(2) as [string, string, string, string];
const storage = await openStorage(dbFile);
const app = await buildServer({
  storage,
  adminTokenHash: hashToken(adminToken),
  heartbeatIntervalSec: Number(interval),
  // A thousand simulated devices share one client address; the per-device limit stays.
  enrollFailureRateLimit: { capacity: 1_000_000, refillPerSec: 1_000_000 },
  enrollSuccessRateLimit: { perAddress: { capacity: 1_000_000, refillPerSec: 1_000_000 } },
});
const bytes = readFileSync(staticFile);
app.get('/bench/static', async (_req, reply) => reply.type('application/json').send(bytes));
await app.listen({ host: '127.0.0.1', port: 0 });
const addr = app.server.address();
process.stdout.write(`listening on http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}\n`);
process.once('SIGTERM', () => void app.close().then(() => process.exit(0)));
