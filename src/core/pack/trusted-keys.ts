/**
 * Trusted pack keys: the public halves of the partner's offline pack-signing keys
 * (`vigil pack keygen` writes them as PREFIX.pub.json). Packs from machine policy or from
 * the network load only when one of these keys signed them; the backend itself is never
 * trusted, so a backend that is taken over cannot push a pack the partner did not sign.
 *
 * Written as objects in JSON settings, or as text where only strings fit (an MSI property,
 * a REG_SZ or REG_MULTI_SZ policy value): `keyId:publicKeyBase64`, several separated by ";".
 * Two keys at once is how a key is rotated; removing one withdraws it.
 */
import { z } from 'zod';

export const PACK_KEY_ID = /^[A-Za-z0-9._-]{1,64}$/;

export const TrustedPackKeySchema = z
  .object({
    keyId: z.string().regex(PACK_KEY_ID, 'a key id is 1-64 letters, digits, ".", "_" or "-"'),
    publicKey: z
      .string()
      .regex(/^[A-Za-z0-9+/]{43}=$/, 'a public key is the 32-byte Ed25519 key in base64 (44 characters, as in the .pub.json file)'),
  })
  .strict();
export type TrustedPackKeyInput = z.infer<typeof TrustedPackKeySchema>;

export const MAX_TRUSTED_PACK_KEYS = 16;

export const TrustedPackKeyListSchema = z
  .array(TrustedPackKeySchema)
  .max(MAX_TRUSTED_PACK_KEYS, `at most ${MAX_TRUSTED_PACK_KEYS} trusted pack keys`)
  .refine((keys) => new Set(keys.map((k) => k.keyId)).size === keys.length, 'each key id may be trusted only once');

/**
 * Converts text forms towards the list the schema takes: `id:key;id:key`, a JSON array,
 * or a list of `id:key` strings. What cannot be converted is returned unchanged, for the
 * schema to reject with its own message.
 */
export function convertPackKeys(raw: unknown): unknown {
  let list: unknown = raw;
  if (typeof raw === 'string') {
    const t = raw.trim();
    if (t === '') return undefined;
    if (t.startsWith('[')) {
      try {
        list = JSON.parse(t);
      } catch {
        return raw;
      }
    } else list = t.split(';');
  }
  if (!Array.isArray(list)) return raw;
  const out: unknown[] = [];
  for (const item of list) {
    if (typeof item !== 'string') {
      out.push(item);
      continue;
    }
    const s = item.trim();
    if (s === '') continue;
    const i = s.indexOf(':');
    if (i <= 0) return raw;
    out.push({ keyId: s.slice(0, i).trim(), publicKey: s.slice(i + 1).trim() });
  }
  return out.length ? out : undefined;
}

/** `keyId:publicKey;...`, the form the MSI property and REG_SZ policy take. */
export function formatPackKeys(keys: readonly TrustedPackKeyInput[]): string {
  return keys.map((k) => `${k.keyId}:${k.publicKey}`).join(';');
}
