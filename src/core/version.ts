/** The agent's version, from package.json (the one place it is set). */
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
// src/core/version.ts and dist/core/version.js both sit two levels below the package root.
export const AGENT_VERSION: string = (require('../../package.json') as { version: string }).version;
