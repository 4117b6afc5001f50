#!/usr/bin/env node
/**
 * Release step: writes the publisher the agent expects on its own executable into
 * src/core/self-integrity/build-signing.ts (or --file FILE) before the build, from:
 *
 *   VIGIL_PUBLISHER_SUBJECTS     signer subjects or common names, separated by "|"
 *   VIGIL_PUBLISHER_THUMBPRINTS  SHA-1/SHA-256 thumbprints (hex), separated by ","
 *   APPLE_TEAM_ID                the Developer ID Team ID
 *
 * With none of them set the file is left alone (a development build: an unsigned
 * executable is then an info note, not a red finding). Certificate names and hashes
 * are public; no secret goes into the file.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
const split = (v, sep) => (v ?? '').split(sep).map((s) => s.trim()).filter(Boolean);

export function publisherFromEnv(env) {
  const subjects = split(env.VIGIL_PUBLISHER_SUBJECTS, '|');
  const thumbprints = split(env.VIGIL_PUBLISHER_THUMBPRINTS, ',').map((t) => t.replace(/[^0-9a-fA-F]/g, '').toLowerCase());
  for (const t of thumbprints) if (t.length !== 40 && t.length !== 64) throw new Error(`thumbprint ${t} is neither SHA-1 (40 hex) nor SHA-256 (64 hex)`);
  const teamIds = split(env.APPLE_TEAM_ID, ',');
  return { expectSigned: subjects.length + thumbprints.length + teamIds.length > 0, windows: { subjects, thumbprints }, macos: { teamIds } };
}

export function rewrite(source, publisher) {
  const start = source.indexOf('export const BUILD_SIGNING: BuildSigning = {');
  if (start < 0) throw new Error('BUILD_SIGNING not found');
  const end = source.indexOf('\n};', start);
  return `${source.slice(0, start)}export const BUILD_SIGNING: BuildSigning = ${JSON.stringify(publisher, null, 2)}${source.slice(end + 2)}`;
}

function main(argv, env) {
  const i = argv.indexOf('--file');
  const file = i >= 0 ? path.resolve(argv[i + 1]) : path.join(repo, 'src/core/self-integrity/build-signing.ts');
  const publisher = publisherFromEnv(env);
  if (!publisher.expectSigned) {
    process.stderr.write('release-set-publisher: no VIGIL_PUBLISHER_SUBJECTS / VIGIL_PUBLISHER_THUMBPRINTS / APPLE_TEAM_ID: development build, self-integrity expects no publisher.\n');
    return 0;
  }
  writeFileSync(file, rewrite(readFileSync(file, 'utf8'), publisher));
  process.stdout.write(`release-set-publisher: ${path.relative(process.cwd(), file)} now expects ${JSON.stringify(publisher)}\n`);
  return 0;
}

const invoked = process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url);
if (invoked) {
  try {
    process.exitCode = main(process.argv.slice(2), process.env);
  } catch (err) {
    process.stderr.write(`release-set-publisher: ${err.message}\n`);
    process.exitCode = 1;
  }
}
