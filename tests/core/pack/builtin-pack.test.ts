/**
 * The built-in 3CX DesktopApp pack: it must validate against PackSchema, carry the
 * indicators the public advisories confirm (see docs/research/3cx-2023-sources.md), cite a
 * source for every indicator, and classify versions the way 3CX's advice says.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import type { z } from 'zod';
import { PackSchema, type Pack } from '../../../src/core/pack/schema.js';
import { builtinPacks, PackError } from '../../../src/core/pack/load.js';
import { parsePackText } from '../../../src/core/pack/parse-pack.js';
import { classifyVersion } from '../../../src/core/verdict/classify-version.js';
import type { Platform } from '../../../src/shared/scan.js';

const PACK_FILE = fileURLToPath(new URL('../../../src/core/pack/builtin/3cx-2023.json', import.meta.url));
const APP = '3cx-desktop-app';

function rawPack(): Record<string, unknown> {
  return JSON.parse(readFileSync(PACK_FILE, 'utf8')) as Record<string, unknown>;
}

function describeIssues(error: z.ZodError): string {
  return error.issues.map((i) => `${i.path.join('.') || '(top level)'}: ${i.message}`).join('\n');
}

function loadPack(): Pack {
  const result = PackSchema.safeParse(rawPack());
  if (!result.success) throw new Error(`3cx-2023.json does not validate:\n${describeIssues(result.error)}`);
  return result.data;
}

const pack = loadPack();

function classOf(platform: Platform, version: string): string {
  return classifyVersion(pack.versionRules, APP, platform, version).class;
}

describe('built-in 3CX pack: schema', () => {
  it('validates against PackSchema', () => {
    const result = PackSchema.safeParse(rawPack());
    if (!result.success) console.error(describeIssues(result.error));
    expect(result.success).toBe(true);
  });

  it('has the agreed identity: format 2 (it has a distribution point), version 2', () => {
    expect(pack.format).toBe(2);
    expect(pack.id).toBe('3cx-desktopapp-2023-03');
    expect(pack.version).toBe(2);
  });

  it('is shipped as a built-in pack', async () => {
    const loaded = await builtinPacks();
    const ours = loaded.find((p) => p.pack.id === '3cx-desktopapp-2023-03');
    expect(ours?.ref.origin).toBe('builtin');
  });
});

describe('built-in 3CX pack: application', () => {
  const app = pack.applications.find((a) => a.id === APP)!;

  it('describes the Windows install the advisories report', () => {
    const win = app.platforms.windows!;
    expect(win.installDirs).toContainEqual({ scope: 'user', path: 'AppData/Local/Programs/3CXDesktopApp' });
    expect(win.executables).toContain('3CXDesktopApp.exe');
    // Sources put the DLLs under app\ (Sophos, Elastic); beside the exe is listed too, harmlessly.
    for (const f of ['app/ffmpeg.dll', 'app/d3dcompiler_47.dll', 'ffmpeg.dll', 'd3dcompiler_47.dll']) expect(win.companionFiles).toContain(f);
    expect(win.uninstallDisplayNames).toContain('3CX Desktop App');
  });

  it('describes the macOS bundle and its libffmpeg.dylib', () => {
    const mac = app.platforms.macos!;
    expect(mac.installDirs).toContainEqual({ scope: 'system', path: 'Applications/3CX Desktop App.app' });
    expect(mac.installDirs).toContainEqual({ scope: 'user', path: 'Applications/3CX Desktop App.app' });
    expect(mac.companionFiles).toContain('Contents/Frameworks/Electron Framework.framework/Versions/A/Libraries/libffmpeg.dylib');
  });

  it('says why Linux is not applicable to the desktop app, and points at the PBX entry', () => {
    expect(app.platforms.linux).toBeUndefined();
    expect(app.notApplicable?.linux).toMatch(/Windows and macOS/);
    expect(app.notApplicable?.linux).toMatch(/3CX Phone System \(PBX\)/);
  });
});

describe('built-in 3CX pack: the partner\'s own PBX', () => {
  const pbx = pack.applications.find((a) => a.id === '3cx-pbx')!;
  const served = ['Data/Http/electron/windows/*.msi', 'Data/Http/electron/windows/*.nupkg', 'Data/Http/electron/osx/*.dmg', 'Data/Http/electron/osx/*.zip'];

  it('is a distribution point on Linux and Windows that serves the desktop app\'s installers and updates', () => {
    expect(pbx).toMatchObject({ role: 'distribution-point', servedAdvice: 'pbx-serves-bad-file' });
    expect(pbx.platforms.linux).toMatchObject({ installDirs: [{ scope: 'system', path: 'var/lib/3cxpbx/Instance1' }], servedFiles: served });
    expect(pbx.platforms.windows).toMatchObject({ installDirs: [{ scope: 'system', path: 'ProgramData/3CX/Instance1' }], servedFiles: served });
    expect(pbx.platforms.macos).toBeUndefined();
    // Served installers are judged by hash, so the ones a PBX hands out carry no platform.
    for (const name of ['3CXDesktopApp-18.12.416.msi', '3CXDesktopApp-18.12.416-full.nupkg', '3CXDesktopApp-18.12.402.dmg', '3CXDesktopApp-18.12.407.dmg']) {
      const h = pack.hashes.find((x) => x.fileName === name);
      expect(h, name).toBeDefined();
      expect(h!.platform, name).toBeUndefined();
    }
  });

  it('no longer needs the Linux candidate files the PBX entry replaces', () => {
    expect(pack.candidateFiles.filter((c) => c.platform === 'linux')).toEqual([]);
  });
});

describe('built-in 3CX pack: version rules', () => {
  it('marks the trojanized Windows builds compromised', () => {
    for (const v of ['18.12.407', '18.12.416', '18.12.416.0']) expect(classOf('windows', v)).toBe('compromised');
  });

  it('marks the trojanized macOS builds compromised', () => {
    for (const v of ['18.11.1213', '18.12.402', '18.12.407', '18.12.416']) expect(classOf('macos', v)).toBe('compromised');
  });

  it('marks other Windows builds before 18.12.425 at-risk and 18.12.425 on safe', () => {
    for (const v of ['18.11.1213', '18.12.402', '18.12.422', '18.12.424.9']) expect(classOf('windows', v)).toBe('at-risk');
    for (const v of ['18.12.425', '18.12.425.0', '18.13.1', '20.0.0']) expect(classOf('windows', v)).toBe('safe');
  });

  it('never calls a macOS build safe: no cleared Mac build is confirmed', () => {
    for (const v of ['18.10.461', '18.12.422', '18.12.425', '20.0.0']) expect(classOf('macos', v)).toBe('at-risk');
    expect(pack.versionRules.some((r) => r.platform === 'macos' && r.class === 'safe')).toBe(false);
  });

  it('has no safe rule that also matches a compromised version', () => {
    for (const r of pack.versionRules.filter((x) => x.class === 'compromised')) {
      for (const v of r.versions ?? []) {
        const safe = pack.versionRules.filter((s) => s.class === 'safe' && s.platform === r.platform);
        const hit = safe.find((s) => classifyVersion([s], APP, r.platform, v).class === 'safe');
        expect(hit, `${r.platform} ${v} is matched by safe rule ${hit?.id}`).toBeUndefined();
      }
    }
  });
});

describe('built-in 3CX pack: indicators', () => {
  const sha256s = new Set(pack.hashes.map((h) => h.sha256));

  it('lists every reference SHA-256 that the advisories confirm', () => {
    const confirmed = [
      'aa124a4b4df12b34e74ee7f6c683b2ebec4ce9a8edcf9be345823b4fdcf5d868', // 3CXDesktopApp-18.12.407.msi
      '59e1edf4d82fae4978e97512b0331b7eb21dd4b838b850ba46794d9c7a2c0983', // 3CXDesktopApp-18.12.416.msi
      'fad482ded2e25ce9e1dd3d3ecc3227af714bdfbbde04347dbc1b21d6a3670405', // 3CXDesktopApp.exe (18.12.416)
      'dde03348075512796241389dfea5560c20a3d2a2eac95c894e7bbed5e85a0acc', // 3CXDesktopApp.exe (18.12.407)
      '7986bbaee8940da11ce089383521ab420c443ab7b15ed42aed91fd31ce833896', // ffmpeg.dll
      'c485674ee63ec8d4e8fde9800788175a8b02d3f9416d0e763360fff7f8eb4e02', // ffmpeg.dll (signed)
      'cc4eedb7b1f77f02b962f4b05278fa7f8082708b5a12cacf928118520762b5e2', // third loader DLL build
      '11be1803e2e307b647a8a7e02d128335c448ff741bf06bf52b332e0bbf423b03', // d3dcompiler_47.dll
      '5407cda7d3a75e7b1e030b1f33337a56f293578ffa8b3ae19c671051ed314290', // 3CXDesktopApp-18.11.1213.dmg
      'e6bbc33815b9f20b0cf832d7401dd893fbc467c800728b5891336706da0dbcec', // 3cxdesktopapp-latest.dmg
      'a64fa9f1c76457ecc58402142a8728ce34ccba378c17318b3340083eeb7acc67', // libffmpeg.dylib
      'fee4f9dabc094df24d83ec1a8c4e4ff573e5d9973caa676f58086c99561382d7', // libffmpeg.dylib (second)
      '8ab3a5eaaf8c296080fadf56b265194681d7da5da7c02562953a4cb60e147423', // ICONIC stealer
      // version 2: Nextron's hash list (incl. Objective-See's UpdateAgent) and Sigma's rules
      '253f3a53796f1b0fbe64f7b05ae1d66bc2b0773588d00c3d2bf08572a497fa59', // ffmpeg.dll
      '2b5c2975a87c3e8c3cbad3b154a9f0fd772019fecb7c5da1c80cce227060fb84', // ffmpeg.dll
      '29ce6bca0ffcf5891ac6a554fdd0355dddd71fe8f6e8e3f833b5753d7bbc73d9', // 3CXDesktopApp-18.12.402.dmg
      '7d0200959c1c9742cb0dbca92dcfe4b5e61c48476dcfdfc177d0413ed88757c3', // 3CXDesktopApp-18.12.407.dmg
      '7c55c3dfa373b6b342390938029cb76ef31f609d9a07780772c6010a4297e321', // 3CXDesktopApp-18.12.416-full.nupkg
      '6c121f2b2efa6592c2c22b29218157ec9e63f385e7a1d7425857d603ddef8c59', // UpdateAgent (macOS)
      '54004dfaa48ca5fa91e3304fb99559a2395301c570026450882d6aad89132a02', // 18.12.407 executable (Sigma)
      'd45674f941be3cca2fbc1af42778043cc18cd86d95a2ecb9e6f0e212ed4c74ae', // 18.12.407 executable (Sigma)
      '5d99efa36f34aa6b43cd81e77544961c5c8d692c96059fef92c2df2624550734', // 3CXDesktopApp.exe 18.12.416 (Sigma, community)
      'a60a61bf844bc181d4540c9fac53203250a982e7c3ad6153869f01e19cc36203', // 18.12.416 executable (Sigma)
    ];
    for (const h of confirmed) expect(sha256s.has(h), h).toBe(true);
  });

  it('leaves out hashes of payloads that only ever lived in memory: no scan meets them on disk', () => {
    for (const h of [
      'f79c3b0adb6ec7bcc8bc9ae955a1571aaed6755a28c8b17b1d7595ee86840952', // samcli.dll, decrypted from d3dcompiler_47.dll
      'aa4e398b3bd8645016d8090ffc77d15f926a8e69258642191deb4e68688ff973', // decrypted payload
      '851c2c99ebafd4e5e9e140cfe3f2d03533846ca16f8151ae8ee0e83c692884b7', // decrypted downloader
      'ffde718e6839ef7123b6e7347969c50652e07877f245450f29133f062f3275ec', // "3CXDesktopApp-memory.exe" (a memory dump)
    ]) expect(sha256s.has(h), h).toBe(false);
  });

  it('hashes the macOS UpdateAgent where the dylib drops it, so its published SHA-256 can match', () => {
    expect(pack.candidateFiles).toContainEqual(expect.objectContaining({ platform: 'macos', location: { scope: 'user', path: 'Library/Application Support/3CX Desktop App/UpdateAgent' } }));
    expect(pack.hashes.find((h) => h.fileName === 'UpdateAgent')).toMatchObject({ platform: 'macos', singleSource: true });
  });

  it('names the MSI hashes by the versions Sophos and CrowdStrike/Elastic give', () => {
    const name = (sha: string) => pack.hashes.find((h) => h.sha256 === sha)?.fileName;
    expect(name('aa124a4b4df12b34e74ee7f6c683b2ebec4ce9a8edcf9be345823b4fdcf5d868')).toBe('3CXDesktopApp-18.12.407.msi');
    expect(name('59e1edf4d82fae4978e97512b0331b7eb21dd4b838b850ba46794d9c7a2c0983')).toBe('3CXDesktopApp-18.12.416.msi');
    expect(name('5407cda7d3a75e7b1e030b1f33337a56f293578ffa8b3ae19c671051ed314290')).toBe('3CXDesktopApp-18.11.1213.dmg');
  });

  it('lists each hash once', () => {
    expect(sha256s.size).toBe(pack.hashes.length);
    const sha1s = pack.hashes.flatMap((h) => (h.sha1 ? [h.sha1] : []));
    expect(new Set(sha1s).size).toBe(sha1s.length);
  });

  it('lists every C2 domain', () => {
    const domains = new Set(pack.network!.domains.map((d) => d.domain));
    const expected = [
      'akamaicontainer.com', 'akamaitechcloudservices.com', 'azuredeploystore.com', 'azureonlinecloud.com',
      'azureonlinestorage.com', 'dunamistrd.com', 'glcloudservice.com', 'journalide.org', 'msedgepackageinfo.com',
      'msstorageazure.com', 'msstorageboxes.com', 'officeaddons.com', 'officestoragebox.com', 'pbxcloudeservices.com',
      'pbxphonenetwork.com', 'pbxsources.com', 'qwepoi123098.com', 'sbmsa.wiki', 'sourceslabs.com',
      'visualstudiofactory.com', 'zacharryblogs.com',
      // beyond the reference: Mandiant (via 3CX) and Volexity's www. host names
      'msboxonline.com', 'www.azuredeploystore.com', 'www.journalide.org',
      // version 2: in Nextron's and Sigma's lists (both from CrowdStrike's post), one source
      'msedgeupdate.net',
    ];
    for (const d of expected) expect(domains.has(d), d).toBe(true);
    expect(domains.size).toBe(pack.network!.domains.length);
  });

  it('matches the IconStorages path, never GitHub addresses', () => {
    expect(pack.network!.urls.map((u) => u.url)).toContain('https://raw.githubusercontent.com/IconStorages/images/main/');
    expect(pack.network!.ips).toEqual([]);
  });

  it('names the attack artefacts in user profiles', () => {
    const at = (p: string) => pack.artifacts.find((a) => a.location.path === p);
    expect(at('Library/Application Support/3CX Desktop App/.main_storage')).toMatchObject({ platform: 'macos', class: 'compromised', location: { scope: 'user' } });
    expect(at('Library/Application Support/3CX Desktop App/UpdateAgent')).toMatchObject({ platform: 'macos', class: 'compromised', location: { scope: 'user' } });
    // Elastic puts the timer file under the app folder; clean builds are not proven never to make one.
    expect(at('AppData/Local/Programs/3CXDesktopApp/app/manifest')).toMatchObject({ platform: 'windows', class: 'attention', location: { scope: 'user' } });
  });

  it('hashes downloaded installers', () => {
    const paths = pack.candidateFiles.map((c) => `${c.platform}:${c.location.scope}:${c.location.path}`);
    expect(paths).toContain('windows:user:Downloads/3CXDesktopApp*.msi');
    expect(paths).toContain('macos:user:Downloads/3CXDesktopApp*.dmg');
  });

  it('records the signers the sources identify', () => {
    const win = pack.signers.find((s) => s.platform === 'windows');
    expect(win).toMatchObject({ disposition: 'compromised-generation', subject: '3CX Ltd', serial: '1b6611df9c9a4d6ecc8ed50c9b917873' });
    const mac = pack.signers.find((s) => s.platform === 'macos');
    expect(mac).toMatchObject({ disposition: 'compromised-generation', teamId: '33CF4654HL' });
    // The new certificate of 18.12.425 is not published in the sources used, so it is not claimed.
    expect(pack.signers.some((s) => s.disposition === 'trusted')).toBe(false);
  });
});

describe('built-in 3CX pack: sources and advice', () => {
  it('gives every source a unique https URL', () => {
    const urls = pack.sources.map((s) => s.url);
    for (const u of urls) expect(new URL(u).protocol, u).toBe('https:');
    expect(new Set(urls).size).toBe(urls.length);
  });

  it('cites every source from at least one indicator or application', () => {
    const cited = new Set([
      ...pack.applications.flatMap((a) => a.sources ?? []),
      ...pack.versionRules.flatMap((r) => r.sources),
      ...pack.hashes.flatMap((h) => h.sources),
      ...pack.signers.flatMap((s) => s.sources),
      ...pack.artifacts.flatMap((a) => a.sources),
      ...(pack.network ? [...pack.network.domains, ...pack.network.urls, ...pack.network.ips].flatMap((n) => n.sources) : []),
    ]);
    for (const s of pack.sources) expect(cited.has(s.id), `source ${s.id} is never cited`).toBe(true);
  });

  it('uses every advice entry', () => {
    const used = new Set([
      // The engine falls back to the first advice entry for unclassified and unreadable versions.
      pack.advice[0]!.id,
      ...pack.applications.flatMap((a) => (a.servedAdvice ? [a.servedAdvice] : [])),
      ...pack.versionRules.map((r) => r.advice),
      ...pack.hashes.map((h) => h.advice),
      ...pack.signers.map((s) => s.advice),
      ...pack.artifacts.map((a) => a.advice),
      ...(pack.network ? [pack.network.advice] : []),
    ]);
    for (const a of pack.advice) expect(used.has(a.id), `advice ${a.id} is never used`).toBe(true);
  });

  it('keeps end-user advice short, plain and linked only to https pages', () => {
    for (const a of pack.advice) {
      expect(a.text.length, a.id).toBeLessThanOrEqual(320);
      expect(a.text, a.id).not.toMatch(/\b(C2|IOC|IoC|SHA-?256|DLL|payload|EDR|shellcode)\b/);
      for (const l of a.links) expect(new URL(l.url).protocol).toBe('https:');
    }
  });

  it('covers the cases IT needs: compromised, outdated, file, network, signature, cleared', () => {
    const ids = pack.advice.map((a) => a.id);
    for (const id of ['compromised-build', 'outdated-build', 'known-bad-file', 'network-contact', 'signature-check', 'cleared-build']) expect(ids).toContain(id);
    expect(pack.advice.find((a) => a.id === 'compromised-build')!.steps.join(' ')).toMatch(/[Ii]solate/);
  });
});

describe('built-in 3CX pack: a broken copy is refused, naming the field', () => {
  function issuesOf(doc: Record<string, unknown>): { path: string; message: string }[] {
    const result = PackSchema.safeParse(doc);
    expect(result.success).toBe(false);
    return result.success ? [] : result.error.issues.map((i) => ({ path: i.path.join('.'), message: i.message }));
  }

  it('rejects a version rule citing an unknown source id', () => {
    const doc = rawPack();
    (doc.versionRules as { sources: string[] }[])[0]!.sources = ['no-such-advisory'];
    expect(issuesOf(doc)).toContainEqual({ path: 'versionRules.0.sources.0', message: 'unknown source id "no-such-advisory"' });
  });

  it('rejects an uppercase or short SHA-256', () => {
    const doc = rawPack();
    const hashes = doc.hashes as { sha256: string }[];
    hashes[0]!.sha256 = hashes[0]!.sha256.toUpperCase();
    hashes[1]!.sha256 = 'abc123';
    const paths = issuesOf(doc).map((i) => i.path);
    expect(paths).toContain('hashes.0.sha256');
    expect(paths).toContain('hashes.1.sha256');
  });

  it('rejects an artefact pointing at unknown advice and an absolute path', () => {
    const doc = rawPack();
    const arts = doc.artifacts as { advice: string; location: { path: string } }[];
    arts[0]!.advice = 'ghost-advice';
    arts[1]!.location.path = '/Users/alice/Library';
    const paths = issuesOf(doc).map((i) => i.path);
    expect(paths).toContain('artifacts.0.advice');
    expect(paths).toContain('artifacts.1.location.path');
  });

  it('reports the field through the loader too', () => {
    const doc = rawPack();
    (doc.hashes as { sha256: string }[])[2]!.sha256 = 'not-a-hash';
    let err: unknown;
    try {
      parsePackText(JSON.stringify(doc), '3cx-2023.json');
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(PackError);
    expect((err as PackError).problems.join('\n')).toMatch(/hashes\[2\]\.sha256: must be 64 lowercase hex/);
  });
});
