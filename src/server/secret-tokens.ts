/**
 * Secrets the server issues. Enrolment and admin tokens carry 256 random bits, so a plain
 * SHA-256 is the right way to store them (nothing to brute-force; a slow hash would only
 * slow every request). Prefixes make leaked tokens easy to recognise and scan for.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

export const ENROLL_TOKEN_PREFIX = 'vigil_enroll_';
export const ADMIN_TOKEN_PREFIX = 'vigil_admin_';

export function newEnrollToken(): string {
  return ENROLL_TOKEN_PREFIX + randomBytes(32).toString('base64url');
}

export function newAdminToken(): string {
  return ADMIN_TOKEN_PREFIX + randomBytes(32).toString('base64url');
}

/** 32 random bytes: the device's HMAC key. */
export function newDeviceSecret(): Buffer {
  return randomBytes(32);
}

export function newId(prefix: string, bytes = 16): string {
  return prefix + randomBytes(bytes).toString('base64url');
}

export function hashToken(token: string): Buffer {
  return createHash('sha256').update(token, 'utf8').digest();
}

export function sameHash(a: Buffer, b: Buffer): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}
