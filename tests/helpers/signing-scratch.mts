import { makeSigningFixtures } from './signing-fixtures.js';
import { verifyAuthenticodeFile } from '../../src/core/signing/verify-authenticode.js';
const t0 = performance.now();
const fx = makeSigningFixtures();
console.log('fixtures in', (performance.now() - t0).toFixed(0), 'ms', fx.dir);
for (const [k, f] of Object.entries(fx.files)) {
  const r = await verifyAuthenticodeFile(f);
  console.log(k, r.status, Object.entries(r.flags).filter(([, v]) => v).map(([k]) => k).join(','), r.error ?? '', r.signatures.map(s => `#${s.index}/${s.nestedIn} ${s.digestAlgorithm} dm=${s.digestMatches} sv=${s.signatureValid} chain=${s.chain.status}:${s.chain.certificates.length} ts=${s.timestamp?.kind}:${s.timestamp?.verified}:${s.timestamp?.time} ${s.programName ?? ''} ${s.signer?.subject} ${s.problems.join('|')}`));
}
