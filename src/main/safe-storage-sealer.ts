/**
 * Electron's safeStorage as the agent's credential sealer (src/core/report/credential-store.ts):
 * DPAPI under the user's logon on Windows, a Keychain item on macOS, the desktop keyring
 * (libsecret / KWallet) on Linux. Only after `ready`.
 *
 * Not used where it would protect nothing: on Linux without a keyring Electron falls back
 * to `basic_text`, a key built into Chromium, and a 0600 file is then just as good and
 * honest about it.
 */
import type { SafeStorage } from 'electron';
import type { SecretSealer } from '../core/report/credential-store.js';

export const SAFE_STORAGE_SEALER = 'electron-safeStorage';

export type SafeStorageLike = Pick<SafeStorage, 'isAsyncEncryptionAvailable' | 'encryptStringAsync' | 'decryptStringAsync' | 'getSelectedStorageBackend'>;

export type SealerChoice = { sealer: SecretSealer } | { sealer: undefined; why: string };

export async function safeStorageSealer(safeStorage: SafeStorageLike, platform: NodeJS.Platform): Promise<SealerChoice> {
  let available = false;
  try {
    available = await safeStorage.isAsyncEncryptionAvailable();
  } catch (e) {
    return { sealer: undefined, why: `safeStorage failed: ${e instanceof Error ? e.message : String(e)}` };
  }
  if (!available) return { sealer: undefined, why: 'safeStorage encryption is not available' };
  if (platform === 'linux') {
    const backend = safeStorage.getSelectedStorageBackend();
    if (backend === 'basic_text' || backend === 'unknown') return { sealer: undefined, why: `no desktop keyring (safeStorage backend ${backend})` };
  }
  return {
    sealer: {
      name: SAFE_STORAGE_SEALER,
      seal: (plain) => safeStorage.encryptStringAsync(plain),
      open: async (sealed) => {
        const r = await safeStorage.decryptStringAsync(sealed);
        return { plain: r.result, reseal: r.shouldReEncrypt };
      },
    },
  };
}
