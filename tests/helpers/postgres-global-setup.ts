/**
 * vitest globalSetup of the server-postgres project (vitest.config.ts): one throwaway
 * PostgreSQL cluster per test run, its admin URL handed to every worker with provide()
 * (read with inject('postgresAdminUrl') through postgres-cluster.ts sharedAdminUrl). When
 * PostgreSQL is not installed it starts nothing: the project then runs only
 * tests/server/postgres-missing.test.ts, which skips (or under CI fails) naming the package.
 */
import type { TestProject } from 'vitest/node';
import { ADMIN_URL_ENV, createMigratedTemplate, startPostgresCluster } from './postgres-cluster.js';
import { findTool } from './system-tool.js';

export default async function setup(project: TestProject): Promise<(() => Promise<void>) | undefined> {
  if (!findTool('initdb') || !findTool('pg_ctl')) {
    project.provide('postgresAdminUrl', null);
    return undefined;
  }
  const started = Date.now();
  const cluster = await startPostgresCluster();
  try {
    await createMigratedTemplate(cluster.adminUrl);
  } catch (err) {
    await cluster.stop();
    throw err;
  }
  if (process.env.VIGIL_TEST_PG_TIMING) process.stderr.write(`PostgreSQL test cluster started in ${Date.now() - started} ms on port ${cluster.port}\n`);
  project.provide('postgresAdminUrl', cluster.adminUrl);
  process.env[ADMIN_URL_ENV] = cluster.adminUrl;
  return () => cluster.stop();
}
