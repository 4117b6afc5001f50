/**
 * A real sealer for tests: AES-256-GCM under a key that stands for "this user on this
 * machine" (DPAPI's, the Keychain's). Another key is another machine: opening fails, as
 * DPAPI does on a copied profile.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';

export interface AesSealer {
  key: Buffer;
  seal(plain: string): Buffer;
  open(sealed: Buffer): string;
}

export function aesSealer(key: Buffer = randomBytes(32)): AesSealer {
  return {
    key,
    seal(plain) {
      const iv = randomBytes(12);
      const c = createCipheriv('aes-256-gcm', key, iv);
      const body = Buffer.concat([c.update(plain, 'utf8'), c.final()]);
      return Buffer.concat([iv, c.getAuthTag(), body]);
    },
    open(sealed) {
      if (sealed.length < 28) throw new Error('sealed data too short');
      const d = createDecipheriv('aes-256-gcm', key, sealed.subarray(0, 12));
      d.setAuthTag(sealed.subarray(12, 28));
      return Buffer.concat([d.update(sealed.subarray(28)), d.final()]).toString('utf8');
    },
  };
}
