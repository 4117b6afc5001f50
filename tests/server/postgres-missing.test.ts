/**
 * Run by the server-postgres vitest project instead of the server tests when PostgreSQL's
 * binaries are missing (vitest.config.ts): one skip, which the system-tool reporter prints
 * with the Debian package to install; under CI=true needsTools throws and this file fails.
 */
import { describe, expect, it } from 'vitest';
import { needsTools, toolPath } from '../helpers/system-tool.js';

describe('the server tests over PostgreSQL', needsTools('initdb', 'pg_ctl', 'postgres'), () => {
  it('have PostgreSQL to run against', () => {
    expect(toolPath('initdb')).toMatch(/initdb$/);
  });
});
