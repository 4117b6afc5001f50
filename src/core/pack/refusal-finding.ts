/**
 * The finding for a pack mergePacks refused (an unsigned pack with the id of a built-in or
 * signed pack). Amber, not grey: detection is intact (the vouched-for pack stays in use),
 * but someone put a pack on this PC that would have replaced it, which is either an
 * administrator who must sign their pack or an attempt to switch detection off; either
 * way IT has to look. The agent (agent-assembly) and `vigil check` both report it.
 */
import type { Finding } from '../../shared/scan.js';
import { makeFinding } from '../verdict/finding.js';
import type { PackRefusal } from './load.js';

export const PACK_REFUSED_RULE = 'pack-refused-unsigned';

export function packRefusalFinding(r: PackRefusal, observedAt?: Date): Finding {
  return makeFinding({
    category: 'scan',
    severity: 'attention',
    ruleId: PACK_REFUSED_RULE,
    packId: r.pack.pack.id,
    title: `An unsigned incident pack tried to replace the ${r.kept.ref.origin === 'builtin' ? 'built-in' : 'signed'} "${r.kept.pack.title}" pack and was refused; the trusted pack is still in use`,
    evidence: {
      ...(r.pack.file !== undefined ? { path: r.pack.file } : {}),
      error: r.reason,
      detail: {
        refusedVersion: r.pack.pack.version,
        refusedOrigin: r.pack.ref.origin,
        keptVersion: r.kept.pack.version,
        keptOrigin: r.kept.ref.origin,
      },
    },
    identity: ['scan', r.pack.pack.id, PACK_REFUSED_RULE, r.pack.file, r.pack.pack.version],
    ...(observedAt ? { observedAt } : {}),
  });
}
