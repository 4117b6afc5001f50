import { configDefaults, defineConfig } from 'vitest/config';
import { findTool } from './tests/helpers/system-tool.js';

// Tests that only make sense against a real PostgreSQL: run by the server-postgres project.
const POSTGRES_ONLY = [
  'tests/server/postgres-*.test.ts',
  'tests/server/sql-database-contract.test.ts',
  'tests/server/move-sqlite-to-postgres.test.ts',
  'tests/e2e/two-server-processes.test.ts',
];
// Tests the server-postgres project leaves out: they test SQLite itself, the CLI on a
// database file, or pure code that no store reaches (they run once, in the default project).
const NOT_OVER_POSTGRES = [
  'tests/server/sqlite-database.test.ts',
  'tests/server/json-shape.test.ts',
  'tests/server/protocol-schema.test.ts',
  'tests/server/pg-placeholders.test.ts',
  'tests/server/fleet-page-a11y.e2e.test.ts',
  'tests/server/cli-server.test.ts',
  'tests/server/cli-server-fleet.test.ts',
  'tests/server/cli-server-notify.test.ts',
];
const postgresInstalled = findTool('initdb') !== undefined && findTool('pg_ctl') !== undefined;

export default defineConfig({
  test: {
    // No include here: a project that `extends` the root would add its own to it.
    environment: 'node',
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // 2-core machine: keep parallelism modest so real-socket and process tests stay reliable.
    pool: 'forks',
    maxWorkers: 2,
    // The second reporter prints, after the summary, which tests were skipped for a missing
    // system tool and which Debian package brings it (tests/helpers/system-tool.ts).
    reporters: ['default', './tests/helpers/system-tool-reporter.ts'],
    projects: [
      {
        extends: true,
        test: { name: 'default', include: ['tests/**/*.test.ts'], exclude: [...configDefaults.exclude, ...POSTGRES_ONLY] },
      },
      {
        // issue 15: the server tests again over PostgreSQL, on one throwaway cluster the global
        // setup starts (tests/helpers/postgres-cluster.ts); every test server gets a fresh
        // database. Without PostgreSQL's binaries the project runs one file that skips naming
        // Debian's postgresql package (under CI=true it fails instead).
        extends: true,
        test: {
          name: 'server-postgres',
          include: postgresInstalled
            ? ['tests/server/**/*.test.ts', 'tests/e2e/reporting.test.ts', 'tests/e2e/fleet-packs.test.ts', 'tests/e2e/two-server-processes.test.ts']
            : ['tests/server/postgres-missing.test.ts'],
          exclude: [...configDefaults.exclude, ...NOT_OVER_POSTGRES, ...(postgresInstalled ? ['tests/server/postgres-missing.test.ts'] : [])],
          env: { VIGIL_TEST_DB: 'postgres' },
          globalSetup: ['./tests/helpers/postgres-global-setup.ts'],
        },
      },
    ],
  },
});
