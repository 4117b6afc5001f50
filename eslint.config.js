// Lint, and the import rules of docs/ARCHITECTURE.md enforced as lint errors:
// core never imports cli/server/main/electron; shared imports only zod; the renderer
// sees only shared types; nothing in the agent imports the server's native database.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

const restrict = (patterns) => ({ 'no-restricted-imports': ['error', { patterns }] });
const NATIVE = { group: ['better-sqlite3'], message: 'No native modules in the agent: they would need rebuilding for Electron on every endpoint.' };
const ELECTRON = { group: ['electron', 'electron/*', 'electron-log/main', 'electron-log/renderer'], message: 'src/core and src/shared are Electron-free.' };

export default tseslint.config(
  { ignores: ['dist/**', 'out/**', 'node_modules/**', 'coverage/**', 'test-artifacts/**', 'assets/**', 'src/renderer/**/*.js', 'bench/.work/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { process: 'readonly', console: 'readonly', Buffer: 'readonly', URL: 'readonly', setTimeout: 'readonly', clearTimeout: 'readonly', setInterval: 'readonly', clearInterval: 'readonly', performance: 'readonly', structuredClone: 'readonly' } },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' }],
      '@typescript-eslint/no-empty-function': 'off',
    },
  },
  {
    files: ['src/core/**/*.ts'],
    rules: restrict([
      { group: ['**/cli/**', '**/server/**', '**/main/**', '**/preload/**', '**/renderer/**'], message: 'src/core never imports cli, server, main, preload or renderer.' },
      ELECTRON,
      NATIVE,
      { group: ['fastify', 'fastify/*', '@fastify/*'], message: 'The server library belongs to src/server.' },
    ]),
  },
  {
    files: ['src/shared/**/*.ts'],
    rules: restrict([{ group: ['**/core/**', '**/cli/**', '**/server/**', '**/main/**', '**/preload/**', '**/renderer/**'], message: 'src/shared holds boundary types and imports only zod.' }, ELECTRON, NATIVE]),
  },
  {
    files: ['src/cli/**/*.ts'],
    rules: restrict([{ group: ['**/main/**', '**/preload/**', '**/renderer/**'], message: 'The CLI is headless.' }, ELECTRON]),
  },
  {
    files: ['src/server/**/*.ts'],
    rules: restrict([{ group: ['**/cli/**', '**/main/**', '**/preload/**', '**/renderer/**'], message: 'The server uses core and shared only.' }, ELECTRON]),
  },
  {
    files: ['src/main/**/*.ts', 'src/preload/**/*.ts'],
    // One exception: main.ts runs the CLI's entry for `Vigil.exe check` (src/main/cli-mode.ts).
    rules: restrict([{ group: ['**/cli/**', '!**/cli/main.js', '**/server/**', '**/renderer/**'], message: 'The main process uses core and shared only (and the CLI entry, for Vigil.exe check).' }, NATIVE]),
  },
  {
    files: ['src/renderer/**/*.ts'],
    rules: restrict([{ group: ['**/core/**', '**/cli/**', '**/server/**', '**/main/**', '**/preload/**'], message: 'The renderer sees only the preload bridge and shared types.' }, ELECTRON, NATIVE]),
  },
);
