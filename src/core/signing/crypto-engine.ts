/**
 * The pkijs crypto engine over Node's WebCrypto, created explicitly rather than relying on
 * pkijs's global engine detection, so signature checks behave the same in the CLI, the
 * headless agent and Electron's main process.
 */
import { webcrypto } from 'node:crypto';
import { CryptoEngine } from 'pkijs';

let engine: CryptoEngine | undefined;

export function signingCryptoEngine(): CryptoEngine {
  engine ??= new CryptoEngine({ name: 'vigil-node-webcrypto', crypto: webcrypto as unknown as ConstructorParameters<typeof CryptoEngine>[0]["crypto"] });
  return engine;
}
