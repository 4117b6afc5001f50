#!/usr/bin/env node
/**
 * Release step: writes the publisher the agent expects on its own executable into
 * src/core/self-integrity/build-signing.ts (or --file FILE) before the build, from:
 *
 *   VIGIL_PUBLISHER_SUBJECTS     signer subjects or common names, separated by "|"
 *   VIGIL_PUBLISHER_THUMBPRINTS  SHA-1/SHA-256 thumbprints (hex), separated by ","
 *   APPLE_TEAM_ID                the Developer ID Team ID
 *
 *   node scripts/release-set-publisher.mjs --platform windows|macos [--require] [--file FILE]
 *
 * A release must pin the publisher of the platform it builds: a subject or thumbprint for
 * windows, a Team ID for macos. When any publisher variable is set (a release) or
 * --require is given (tag builds), a missing pin for --platform fails the build (exit 1):
 * a release configured with only an Apple Team ID must not ship a Windows agent that
 * accepts any Windows signature. With no variable and no --require the file is left alone
 * (a development build: an unsigned executable is then an info note, not a red finding).
 * Exit 64 on bad usage. Certificate names and hashes are public; no secret goes into the
 * file.
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

/** Why `publisher` cannot be a release for `platform`, or undefined when it can. Pure. */
export function missingPin(publisher, platform) {
  if (platform === 'windows' && publisher.windows.subjects.length + publisher.windows.thumbprints.length === 0) {
    return 'no Windows publisher pinned: set VIGIL_PUBLISHER_SUBJECTS and/or VIGIL_PUBLISHER_THUMBPRINTS (thumbprints of the signing certificate or its issuing CA)';
  }
  if (platform === 'macos' && publisher.macos.teamIds.length === 0) return 'no macOS publisher pinned: set APPLE_TEAM_ID';
  return undefined;
}

function main(argv, env) {
  const i = argv.indexOf('--file');
  const file = i >= 0 ? path.resolve(argv[i + 1]) : path.join(repo, 'src/core/self-integrity/build-signing.ts');
  const p = argv.indexOf('--platform');
  const platform = p >= 0 ? argv[p + 1] : undefined;
  if (platform !== 'windows' && platform !== 'macos') {
    process.stderr.write('usage: node scripts/release-set-publisher.mjs --platform windows|macos [--require] [--file FILE]\n');
    return 64;
  }
  const publisher = publisherFromEnv(env);
  if (!publisher.expectSigned && !argv.includes('--require')) {
    process.stderr.write('release-set-publisher: no VIGIL_PUBLISHER_SUBJECTS / VIGIL_PUBLISHER_THUMBPRINTS / APPLE_TEAM_ID: development build, self-integrity expects no publisher.\n');
    return 0;
  }
  const missing = missingPin(publisher, platform);
  if (missing) throw new Error(`a ${platform} release must pin its publisher, and this one has ${missing}; build-signing.ts left unchanged`);
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
