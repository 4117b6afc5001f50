/**
 * The built-in X_TRADER pack (the trojanized Trading Technologies installer behind the 3CX
 * compromise): it validates as a format-1 pack, carries what Mandiant, Symantec and
 * Nextron's lists give (see docs/research/x-trader-2023-sources.md), and classifies every
 * X_TRADER as at risk, the release of the trojanized installer first.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { PackSchema } from '../../../src/core/pack/schema.js';
import { classifyVersion } from '../../../src/core/verdict/classify-version.js';

const FILE = fileURLToPath(new URL('../../../src/core/pack/builtin/x-trader-2023.json', import.meta.url));
const pack = PackSchema.parse(JSON.parse(readFileSync(FILE, 'utf8')));

describe('built-in X_TRADER pack', () => {
  it('is a format-1 pack with the agreed id, so older agents read it whole', () => {
    expect(pack).toMatchObject({ format: 1, id: 'x-trader-2023', version: 1 });
    expect(pack.applications.some((a) => a.role !== undefined)).toBe(false);
  });

  it('describes X_TRADER as a Windows application under the TT folder', () => {
    const app = pack.applications.find((a) => a.id === 'x-trader')!;
    expect(app.publisher).toMatch(/Trading Technologies/);
    expect(app.platforms.windows).toMatchObject({ installDirs: [{ scope: 'system', path: 'tt' }], executables: ['x_trader/bin/x_trader.exe'] });
    expect(app.notApplicable).toMatchObject({ macos: expect.stringMatching(/Windows application/), linux: expect.stringMatching(/Windows application/) });
  });

  it('calls every version at risk, and names the release of the trojanized installer first', () => {
    const cls = (v: string) => classifyVersion(pack.versionRules, 'x-trader', 'windows', v);
    expect(cls('7.17.90')).toMatchObject({ class: 'at-risk', rule: { id: 'xtrader-7-17-90' } });
    expect(cls('7.17.90.608')).toMatchObject({ class: 'at-risk', rule: { id: 'xtrader-7-17-90' } });
    for (const v of ['7.12.1', '7.17.89', '7.17.91', '7.18']) expect(cls(v)).toMatchObject({ class: 'at-risk', rule: { id: 'xtrader-retired' } });
    expect(pack.versionRules.some((r) => r.class === 'safe')).toBe(false);
  });

  it('carries the installer and VEILEDSIGNAL hashes, and hashes the places they sit', () => {
    const byName = new Map(pack.hashes.map((h) => [h.sha256, h]));
    expect(byName.get('900b63ff9b06e0890bf642bdfcbfcc6ab7887c7a3c057c8e3fd6fba5ffc8e5d6')?.description).toMatch(/installer that drops the VEILEDSIGNAL/);
    for (const h of ['aa318070ad1bf90ed459ac34dc5254acc178baff3202d2ea7f49aaf5a055dd43', 'c4887a5cd6d98e273ba6e9ea3c1d8f770ef26239819ea24a1bfebd81d6870505', '595392959b609caf088d027a23443cf2fefd043607ccdec3de19ad3bb43a74b1', '9b0761f81afb102bb784b398b16faa965594e469a7fcfdfd553ced19cc17e70b']) {
      expect(byName.get(h)?.description, h).toMatch(/VEILEDSIGNAL/);
    }
    const places = pack.candidateFiles.map((c) => `${c.location.scope}:${c.location.path}`);
    expect(places).toEqual(expect.arrayContaining(['user:Downloads/X_TRADER*.exe', 'system:ProgramData/TPM/*.dll', 'system:ProgramData/TPM/*.exe']));
  });

  it('names the dropped loader files as compromised and the folder as a lead', () => {
    const at = (id: string) => pack.artifacts.find((a) => a.id === id);
    expect(at('win-tpm-winscard')).toMatchObject({ class: 'compromised', kind: 'file', location: { scope: 'system', path: 'ProgramData/TPM/winscard.dll' } });
    expect(at('win-tpm-tpmvscmgrsvr')).toMatchObject({ class: 'compromised', kind: 'file', location: { scope: 'system', path: 'ProgramData/TPM/TpmVscMgrSvr.exe' } });
    expect(at('win-tpm-folder')).toMatchObject({ class: 'attention', kind: 'directory' });
  });

  it('records the signer facts the sources give: subject, GoDaddy issuer, serial; no expiry date is claimed', () => {
    expect(pack.signers).toEqual([
      expect.objectContaining({
        disposition: 'compromised-generation',
        application: 'x-trader',
        subject: 'Trading Technologies International, Inc',
        issuer: 'Go Daddy Secure Certificate Authority - G2',
        serial: '8538a6c5018f50fc',
      }),
    ]);
    expect(pack.signers[0]!.validTo).toBeUndefined();
    expect(pack.signers[0]!.description).toMatch(/expired/);
  });

  it('matches the C2 on the vendor\'s own site as a URL only, never the whole host', () => {
    expect(pack.network!.urls.map((u) => u.url)).toEqual(['https://www.tradingtechnologies.com/trading/order-management']);
    expect(pack.network!.domains.map((d) => d.domain)).not.toContain('www.tradingtechnologies.com');
    expect(pack.network!.domains.map((d) => d.domain)).not.toContain('tradingtechnologies.com');
    expect(pack.network!.ips).toEqual([]);
  });

  it('uses every advice entry, keeps end-user text plain, and names a check-with-IT fallback', () => {
    const used = new Set([pack.fallbackAdvice, ...pack.versionRules.map((r) => r.advice), ...pack.hashes.map((h) => h.advice), ...pack.signers.map((s) => s.advice), ...pack.artifacts.map((a) => a.advice), pack.network!.advice]);
    for (const a of pack.advice) {
      expect(used.has(a.id), `advice ${a.id} is never used`).toBe(true);
      expect(a.text.length, a.id).toBeLessThanOrEqual(320);
      expect(a.text, a.id).not.toMatch(/\b(C2|IOC|IoC|SHA-?256|DLL|payload|EDR|shellcode)\b/);
    }
    expect(pack.fallbackAdvice).toBe('xtrader-check');
  });
});
