/**
 * Issue 11: the server logged a refused request's URL with its query string, so an admin
 * token sent as `?token=` was written to the log. Logs carry the path only.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createJsonLogger } from '../../src/core/logging/logger.js';
import { startTestServer, type TestServer } from './helpers/test-server.js';

const lines: string[] = [];
let srv: TestServer;
beforeAll(async () => {
  srv = await startTestServer({ logger: createJsonLogger({ level: 'debug', write: (l) => lines.push(l) }) });
});
afterAll(async () => srv.close());

describe('request logging', () => {
  it('never writes a query string (an admin token sent as ?token=) to the log', async () => {
    const secret = srv.adminToken;
    expect((await fetch(`${srv.url}/v1/devices?token=${secret}`)).status).toBe(401);
    expect((await fetch(`${srv.url}/v1/devices?tenant=Acme&token=${secret}`, { headers: { authorization: `Bearer ${srv.adminToken}` } })).status).toBe(400);
    const missing = await fetch(`${srv.url}/v1/nowhere?token=${secret}`);
    expect(missing.status).toBe(404);
    expect(await missing.text()).not.toContain(secret);
    const refused = lines.map((l) => JSON.parse(l) as { msg: string; url?: string }).filter((r) => r.msg === 'request refused');
    expect(refused.length).toBeGreaterThanOrEqual(2);
    for (const r of refused) expect(r.url).toBe('/v1/devices');
    for (const l of lines) expect(l).not.toContain(secret.slice(12));
  });
});
