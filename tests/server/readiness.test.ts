/**
 * issue 15: a load balancer's health check. /healthz says the process answers; /readyz
 * also needs its database, so a process that lost it is taken out of rotation.
 */
import { describe, expect, it } from 'vitest';
import type { Logger } from '../../src/core/logging/logger.js';
import { startTestServer } from './helpers/test-server.js';

describe('readiness', () => {
  it('is ready while the database answers, and 503 (still alive) once it cannot be reached', async () => {
    const logged: string[] = [];
    const logger: Logger = { debug() {}, info() {}, error() {}, warn: (msg, f) => void logged.push(`${msg} ${JSON.stringify(f)}`), child: () => logger };
    const srv = await startTestServer({ logger });
    try {
      const ready = await fetch(`${srv.url}/readyz`);
      expect(ready.status).toBe(200);
      expect(await ready.json()).toEqual({ ok: true, database: 'ok' });

      await srv.database.close(); // the database goes away under the running server
      const lost = await fetch(`${srv.url}/readyz`);
      expect(lost.status).toBe(503);
      expect(await lost.json()).toEqual({ ok: false, database: 'unreachable' });
      expect((await fetch(`${srv.url}/healthz`)).status).toBe(200);
      expect(logged.join('\n')).toMatch(/not ready: the database cannot be reached/);
    } finally {
      await srv.app.close();
    }
  });
});
