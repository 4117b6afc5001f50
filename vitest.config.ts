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
  },
});
