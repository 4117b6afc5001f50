#!/usr/bin/env node
/**
 * Says, loudly, whether a release build will be signed: run before electron-builder on each
 * release runner (.github/workflows/release.yml). It reads only whether signing variables
 * are set, never prints their values.
 *
 *   node scripts/release-check-signing.mjs --platform windows|macos [--require]
 *
 * Windows is signed by either a certificate file (WIN_CSC_LINK or CSC_LINK, with
 * WIN_CSC_KEY_PASSWORD / CSC_KEY_PASSWORD) or Azure Trusted Signing (AZURE_TENANT_ID,
 * AZURE_CLIENT_ID, AZURE_CLIENT_SECRET, VIGIL_AZURE_SIGNING_ENDPOINT,
 * VIGIL_AZURE_SIGNING_ACCOUNT, VIGIL_AZURE_SIGNING_PROFILE). macOS needs a Developer ID
 * Application certificate (CSC_LINK + CSC_KEY_PASSWORD), a Developer ID Installer
 * certificate for the pkg (CSC_INSTALLER_LINK + CSC_INSTALLER_KEY_PASSWORD), and
 * notarization credentials (APPLE_API_KEY + APPLE_API_KEY_ID + APPLE_API_ISSUER, or
 * APPLE_ID + APPLE_APP_SPECIFIC_PASSWORD + APPLE_TEAM_ID).
 *
 * Missing pieces: a banner on stderr, a GitHub `::warning` annotation per piece, a line in
 * the job summary, `signed=false` in $GITHUB_OUTPUT; exit 0 (an unsigned test build is
 * allowed), or 1 with --require (tagged releases). Exit 64 on bad usage.
 *
 * A build that will be signed must also pin its publisher for the agent's self-integrity
 * check (VIGIL_PUBLISHER_SUBJECTS / VIGIL_PUBLISHER_THUMBPRINTS on Windows, APPLE_TEAM_ID
 * on macOS; scripts/release-set-publisher.mjs writes them into the build): a signed build
 * without that pin fails (exit 1) with or without --require, since the agent it ships could
 * not tell its publisher's signature from anyone else's.
 */
import { appendFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const has = (env, ...names) => names.every((n) => typeof env[n] === 'string' && env[n] !== '');
const hasAny = (env, ...names) => names.some((n) => has(env, n));

/** Whether the self-integrity publisher of `platform` is pinned (names only, never values). Pure. */
export function publisherPinned(platform, env) {
  return platform === 'windows' ? hasAny(env, 'VIGIL_PUBLISHER_SUBJECTS', 'VIGIL_PUBLISHER_THUMBPRINTS') : has(env, 'APPLE_TEAM_ID');
}

/** What is missing for `platform`, and how it would sign. Pure, for tests. */
export function signingStatus(platform, env) {
  if (platform === 'windows') {
    const pfx = has(env, 'WIN_CSC_LINK') || has(env, 'CSC_LINK');
    const azure = has(env, 'AZURE_TENANT_ID', 'AZURE_CLIENT_ID', 'AZURE_CLIENT_SECRET', 'VIGIL_AZURE_SIGNING_ENDPOINT', 'VIGIL_AZURE_SIGNING_ACCOUNT', 'VIGIL_AZURE_SIGNING_PROFILE');
    if (azure) return { signed: true, method: 'Azure Trusted Signing', missing: [] };
    if (pfx) return { signed: true, method: 'Authenticode certificate (CSC_LINK)', missing: [] };
    return {
      signed: false,
      method: 'none',
      missing: ['Authenticode: set WIN_CSC_LINK + WIN_CSC_KEY_PASSWORD, or the Azure Trusted Signing variables (AZURE_TENANT_ID, AZURE_CLIENT_ID, AZURE_CLIENT_SECRET, VIGIL_AZURE_SIGNING_ENDPOINT, VIGIL_AZURE_SIGNING_ACCOUNT, VIGIL_AZURE_SIGNING_PROFILE)'],
    };
  }
  if (platform === 'macos') {
    const missing = [];
    if (!has(env, 'CSC_LINK', 'CSC_KEY_PASSWORD')) missing.push('Developer ID Application certificate: set CSC_LINK + CSC_KEY_PASSWORD');
    if (!has(env, 'CSC_INSTALLER_LINK', 'CSC_INSTALLER_KEY_PASSWORD')) missing.push('Developer ID Installer certificate (pkg): set CSC_INSTALLER_LINK + CSC_INSTALLER_KEY_PASSWORD');
    if (!has(env, 'APPLE_API_KEY', 'APPLE_API_KEY_ID', 'APPLE_API_ISSUER') && !has(env, 'APPLE_ID', 'APPLE_APP_SPECIFIC_PASSWORD', 'APPLE_TEAM_ID')) {
      missing.push('notarization: set APPLE_API_KEY + APPLE_API_KEY_ID + APPLE_API_ISSUER (or APPLE_ID + APPLE_APP_SPECIFIC_PASSWORD + APPLE_TEAM_ID)');
    }
    return { signed: missing.length === 0, method: missing.length ? 'none' : 'Developer ID + notarization', missing };
  }
  throw new Error(`unknown platform ${platform}`);
}

function main(argv, env) {
  const i = argv.indexOf('--platform');
  const platform = i >= 0 ? argv[i + 1] : undefined;
  if (platform !== 'windows' && platform !== 'macos') {
    process.stderr.write('usage: node scripts/release-check-signing.mjs --platform windows|macos [--require]\n');
    return 64;
  }
  const status = signingStatus(platform, env);
  if (env.GITHUB_OUTPUT) appendFileSync(env.GITHUB_OUTPUT, `signed=${status.signed}\nmethod=${status.method}\n`);
  if (status.signed && !publisherPinned(platform, env)) {
    const what = platform === 'windows' ? 'VIGIL_PUBLISHER_SUBJECTS or VIGIL_PUBLISHER_THUMBPRINTS' : 'APPLE_TEAM_ID';
    process.stderr.write(`release-check-signing: the ${platform} build will be signed (${status.method}) but pins no publisher for its self-integrity check: set ${what}.\n`);
    process.stdout.write(`::error title=${platform} publisher not pinned::set ${what} (docs/DEPLOY.md, Signing and self-integrity)\n`);
    if (env.GITHUB_STEP_SUMMARY) appendFileSync(env.GITHUB_STEP_SUMMARY, `- **${platform}: signed, but no publisher pinned** (set ${what})\n`);
    return 1;
  }
  if (status.signed) {
    process.stdout.write(`release-check-signing: ${platform} build will be signed (${status.method}).\n`);
    if (env.GITHUB_STEP_SUMMARY) appendFileSync(env.GITHUB_STEP_SUMMARY, `- ${platform}: signed (${status.method})\n`);
    return 0;
  }
  const bar = '#'.repeat(78);
  process.stderr.write(`${bar}\n#  UNSIGNED ${platform.toUpperCase()} BUILD - do not give these installers to customers.\n`);
  for (const m of status.missing) process.stderr.write(`#  missing: ${m}\n`);
  process.stderr.write(`${bar}\n`);
  for (const m of status.missing) process.stdout.write(`::warning title=UNSIGNED ${platform} build::${m}\n`);
  if (env.GITHUB_STEP_SUMMARY) appendFileSync(env.GITHUB_STEP_SUMMARY, `- **${platform}: UNSIGNED** (${status.missing.join('; ')})\n`);
  return argv.includes('--require') ? 1 : 0;
}

const invoked = process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url);
if (invoked) process.exitCode = main(process.argv.slice(2), process.env);
