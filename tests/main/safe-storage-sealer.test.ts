/** When the tray app seals the device secret with safeStorage, and when it does not. */
import { describe, expect, it } from 'vitest';
import { safeStorageSealer, type SafeStorageLike } from '../../src/main/safe-storage-sealer.js';
import { aesSealer } from '../helpers/aes-sealer.js';

function storage(o: { available?: boolean | Error; backend?: ReturnType<SafeStorageLike['getSelectedStorageBackend']>; rotate?: boolean } = {}): SafeStorageLike {
  const a = aesSealer();
  return {
    isAsyncEncryptionAvailable: async () => {
      if (o.available instanceof Error) throw o.available;
      return o.available ?? true;
    },
    getSelectedStorageBackend: () => o.backend ?? 'gnome_libsecret',
    encryptStringAsync: async (p: string) => a.seal(p),
    decryptStringAsync: async (b: Buffer) => ({ result: a.open(b), shouldReEncrypt: o.rotate ?? false }),
  };
}

describe('safeStorageSealer', () => {
  it('seals and opens through safeStorage, passing on a key rotation', async () => {
    const choice = await safeStorageSealer(storage({ rotate: true }), 'win32');
    expect(choice.sealer?.name).toBe('electron-safeStorage');
    const sealed = await choice.sealer!.seal('the-device-secret');
    expect(sealed.toString('latin1')).not.toContain('the-device-secret');
    expect(await choice.sealer!.open(sealed)).toEqual({ plain: 'the-device-secret', reseal: true });
  });

  it('is not used where it protects nothing or cannot work, and says why', async () => {
    expect(await safeStorageSealer(storage({ backend: 'basic_text' }), 'linux')).toEqual({ sealer: undefined, why: 'no desktop keyring (safeStorage backend basic_text)' });
    expect(await safeStorageSealer(storage({ available: false }), 'darwin')).toEqual({ sealer: undefined, why: 'safeStorage encryption is not available' });
    expect(await safeStorageSealer(storage({ available: new Error('no keychain access') }), 'darwin')).toEqual({ sealer: undefined, why: 'safeStorage failed: no keychain access' });
    // basic_text is a Linux notion: elsewhere the backend is not asked.
    expect((await safeStorageSealer(storage({ backend: 'basic_text' }), 'win32')).sealer).toBeDefined();
  });
});
