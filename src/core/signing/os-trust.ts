/**
 * The operating system's own opinion of a signature (root in the machine's trust store,
 * revocation, Gatekeeper), which the portable verifier cannot give. Optional: used when the
 * caller passes one and the file is on the live machine.
 */
import type { OsTrust } from '../../shared/signature.js';

export interface OsTrustAdapter {
  /** `hostPath` is the file's path on this machine. Never throws; undefined when unavailable. */
  assess(hostPath: string): Promise<OsTrust | undefined>;
}
