/**
 * Signed packs. A pack that travels (from a partner's backend, a shared drive, an RMM
 * script) is wrapped in an envelope carrying Ed25519 signatures over the canonical JSON of
 * the pack (RFC 8785-style: object keys sorted, no insignificant whitespace), so that a
 * rule file cannot be altered on the way to switch detection off. The built-in packs are
 * covered by the application's own code signature instead.
 *
 * Envelope: { "signatures": [{ "keyId": "...", "algorithm": "ed25519", "value": "<base64>" }], "pack": { ... } }
 */
import { createPrivateKey, createPublicKey, generateKeyPairSync, sign, verify, type KeyObject } from 'node:crypto';
import { z } from 'zod';

export const PackSignatureSchema = z.object({
  keyId: z.string().regex(/^[A-Za-z0-9._-]{1,64}$/, 'must be 1-64 letters, digits, ".", "_" or "-"'),
  algorithm: z.literal('ed25519'),
  value: z.base64(),
});
export type PackSignature = z.infer<typeof PackSignatureSchema>;

export const PackEnvelopeSchema = z.object({
  signatures: z.array(PackSignatureSchema).min(1),
  pack: z.record(z.string(), z.unknown()),
});
export type PackEnvelope = z.infer<typeof PackEnvelopeSchema>;

/** A public key trusted to sign packs: raw 32-byte Ed25519 key, base64. */
export interface TrustedPackKey {
  keyId: string;
  publicKey: string;
}

/** Canonical JSON: sorted keys, no whitespace; numbers as JSON.stringify writes them. */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') {
    if (typeof value === 'number' && !Number.isFinite(value)) throw new TypeError('non-finite number in pack');
    return JSON.stringify(value);
  }
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
}

const ED25519_SPKI_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');

function publicKeyObject(rawBase64: string): KeyObject {
  const raw = Buffer.from(rawBase64, 'base64');
  if (raw.length !== 32) throw new Error(`an Ed25519 public key is 32 bytes, this one is ${raw.length}`);
  return createPublicKey({ key: Buffer.concat([ED25519_SPKI_PREFIX, raw]), format: 'der', type: 'spki' });
}

export type SignatureCheck =
  | { ok: true; keyId: string }
  | { ok: false; reason: string };

/** Accepts the envelope if any signature is by a trusted key and verifies. */
export function verifyEnvelope(envelope: PackEnvelope, trusted: readonly TrustedPackKey[]): SignatureCheck {
  const message = Buffer.from(canonicalJson(envelope.pack), 'utf8');
  const reasons: string[] = [];
  for (const sig of envelope.signatures) {
    const key = trusted.find((k) => k.keyId === sig.keyId);
    if (!key) {
      reasons.push(`key "${sig.keyId}" is not trusted`);
      continue;
    }
    let good = false;
    try {
      good = verify(null, message, publicKeyObject(key.publicKey), Buffer.from(sig.value, 'base64'));
    } catch (err) {
      reasons.push(`key "${sig.keyId}": ${(err as Error).message}`);
      continue;
    }
    if (good) return { ok: true, keyId: sig.keyId };
    reasons.push(`signature by "${sig.keyId}" does not match the pack`);
  }
  return { ok: false, reason: reasons.join('; ') };
}

export function signPack(pack: unknown, keyId: string, privateKeyPem: string): PackEnvelope {
  const key = createPrivateKey(privateKeyPem);
  const value = sign(null, Buffer.from(canonicalJson(pack), 'utf8'), key).toString('base64');
  return { signatures: [{ keyId, algorithm: 'ed25519', value }], pack: pack as Record<string, unknown> };
}

export function generatePackKey(keyId: string): { keyId: string; publicKey: string; privateKeyPem: string } {
  const { publicKey, privateKey } = generateKeyPairSync('ed25519');
  const spki = publicKey.export({ format: 'der', type: 'spki' });
  return {
    keyId,
    publicKey: spki.subarray(ED25519_SPKI_PREFIX.length).toString('base64'),
    privateKeyPem: privateKey.export({ format: 'pem', type: 'pkcs8' }).toString(),
  };
}
