import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['tests/**/*.test.ts'],
    environment: 'node',
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // 2-core machine: keep parallelism modest so real-socket and process tests stay reliable.
    pool: 'forks',
    maxWorkers: 2,
    // The second reporter prints, after the summary, which tests were skipped for a missing
    // system tool and which Debian package brings it (tests/helpers/system-tool.ts).
    reporters: ['default', './tests/helpers/system-tool-reporter.ts'],
  },
});
