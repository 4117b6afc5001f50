/**
 * Chain building from the certificates a signature embeds (certificate-chain.ts), on real
 * certificates made by openssl: a root, the intermediate CA that issued the leaf, and
 * decoys that carry the intermediate's name with keys of their own (as a hostile signature
 * would embed them, and as a re-keyed CA legitimately has two).
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildChain, MAX_ISSUER_CANDIDATES } from '../../../src/core/signing/certificate-chain.js';
import { embedCertificate, type EmbeddedCertificate } from '../../../src/core/signing/certificate-summary.js';
import { readDer } from '../../../src/core/signing/der.js';
import { parseCertificate } from '../../../src/core/signing/x509-certificate.js';
import { needsTools } from '../../helpers/system-tool.js';

const INTERMEDIATE = '/C=GB/O=Example Trust/CN=Example Code Signing CA';
let dir: string;

function openssl(...args: string[]): void {
  execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
}

/** A P-256 key and a certificate for `subject`, self-signed or signed by `issuer`. */
function certificate(name: string, subject: string, issuer?: string, ca = true): EmbeddedCertificate {
  openssl('ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', `${name}.key`);
  const ext = ca ? 'basicConstraints=critical,CA:TRUE' : 'basicConstraints=critical,CA:FALSE';
  writeFileSync(path.join(dir, `${name}.ext`), `${ext}\n`);
  if (!issuer) {
    openssl('req', '-new', '-x509', '-key', `${name}.key`, '-subj', subject, '-days', '3650', '-sha256', '-addext', ext, '-outform', 'DER', '-out', `${name}.der`);
  } else {
    openssl('req', '-new', '-key', `${name}.key`, '-subj', subject, '-out', `${name}.csr`);
    openssl('x509', '-req', '-in', `${name}.csr`, '-CA', `${issuer}.der`, '-CAform', 'DER', '-CAkey', `${issuer}.key`, '-CAcreateserial', '-days', '3650', '-sha256', '-extfile', `${name}.ext`, '-outform', 'DER', '-out', `${name}.der`);
  }
  const der = readFileSync(path.join(dir, `${name}.der`));
  return embedCertificate(parseCertificate(readDer(der, `${name}.der`)));
}

describe('buildChain', needsTools('openssl'), () => {
  let root: EmbeddedCertificate;
  let intermediate: EmbeddedCertificate;
  let leaf: EmbeddedCertificate;
  const decoys: EmbeddedCertificate[] = [];

  beforeAll(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'vigil-chain-'));
    root = certificate('root', '/C=GB/O=Example Trust/CN=Example Root');
    intermediate = certificate('intermediate', INTERMEDIATE, 'root');
    leaf = certificate('leaf', '/C=GB/O=Example Softphone Ltd/CN=Example Softphone Ltd', 'intermediate', false);
    // Same name as the intermediate, other keys: one signed by the root, the rest self-made.
    decoys.push(certificate('decoy0', INTERMEDIATE, 'root'));
    for (let i = 1; i <= MAX_ISSUER_CANDIDATES; i++) decoys.push(certificate(`decoy${i}`, INTERMEDIATE, 'root'));
  }, 60_000);
  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('builds leaf, intermediate, root from the embedded certificates', () => {
    const chain = buildChain(leaf, [root, intermediate], new Date());
    expect(chain.status).toBe('complete');
    expect(chain.certificates.map((c) => c.commonName)).toEqual(['Example Softphone Ltd', 'Example Code Signing CA', 'Example Root']);
    expect(chain.problem).toBeUndefined();
  });

  it('finds the issuer among a few certificates of the same name (a re-keyed CA), whatever their order', () => {
    const chain = buildChain(leaf, [decoys[0]!, decoys[1]!, root, intermediate], new Date());
    expect(chain.status).toBe('complete');
    expect(chain.certificates[1]!.sha256).toBe(intermediate.sha256);
  });

  it(`tries at most ${MAX_ISSUER_CANDIDATES} certificates of the issuer's name, and says so when none of those verifies`, () => {
    const flood = [...decoys, intermediate, root];
    expect(flood.length - 2).toBeGreaterThan(MAX_ISSUER_CANDIDATES);
    const chain = buildChain(leaf, flood, new Date());
    expect(chain.status).toBe('invalid');
    expect(chain.problem).toBe(
      `the signature embeds ${decoys.length + 1} certificates named "CN=Example Code Signing CA, O=Example Trust, C=GB"; the first ${MAX_ISSUER_CANDIDATES} were tried and none verifies "CN=Example Softphone Ltd, O=Example Softphone Ltd, C=GB"`,
    );
    // The same certificates with the real issuer among the first few: found.
    expect(buildChain(leaf, [intermediate, ...decoys, root], new Date()).status).toBe('complete');
  });

  it('reports an issuer that is not embedded, and a link that does not verify', () => {
    expect(buildChain(leaf, [root], new Date())).toMatchObject({ status: 'incomplete', problem: 'the issuer "CN=Example Code Signing CA, O=Example Trust, C=GB" is not embedded in the signature' });
    const wrong = buildChain(leaf, [decoys[1]!, root], new Date());
    expect(wrong.status).toBe('invalid');
    expect(wrong.problem).toMatch(/does not verify with the key of its embedded issuer/);
  });
});
