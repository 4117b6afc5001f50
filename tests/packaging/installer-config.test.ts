/**
 * electron-builder.yml's installer targets and signing settings, validated against the
 * installed app-builder-lib's own JSON schema (scheme.json, the same Ajv settings
 * electron-builder uses), plus the release workflow and the signing scripts: no secret in
 * the repository, an unsigned build warns loudly, and the self-integrity publisher is set
 * from the environment.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, statSync, writeFileSync, copyFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { createRequire } from 'node:module';
import yaml from 'js-yaml';
import { Ajv } from 'ajv';
import { describe, expect, it } from 'vitest';

const require = createRequire(import.meta.url);
const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const read = (rel: string) => readFileSync(path.join(repo, rel), 'utf8');
type Obj = Record<string, unknown>;
const cfg = () => yaml.load(read('electron-builder.yml')) as Obj;
const targets = (platform: Obj) => (platform.target as { target: string }[]).map((t) => t.target);

describe('electron-builder.yml installers', () => {
  it('validates against app-builder-lib/scheme.json', () => {
    const schema = JSON.parse(readFileSync(require.resolve('app-builder-lib/scheme.json'), 'utf8'));
    const validate = new Ajv({ strict: false, allErrors: true }).compile(schema);
    validate(cfg());
    expect(validate.errors ?? []).toEqual([]);
    // The schema really rejects mistakes (so the check above means something).
    expect(validate({ ...cfg(), nsis: { ...(cfg().nsis as Obj), perMachineByDefault: true } })).toBe(false);
    expect(validate({ ...cfg(), mac: { ...(cfg().mac as Obj), hardenedRuntime: 'yes' } })).toBe(false);
  });

  it('Windows: win-unpacked for the MSI, NSIS as the per-user fallback', () => {
    const c = cfg();
    const win = c.win as Obj;
    expect(targets(win)).toEqual(['dir', 'nsis']);
    expect(win.executableName).toBe('Vigil'); // scripts/build-msi.ts MAIN_EXE
    expect(c.nsis).toMatchObject({ oneClick: true, perMachine: false });
    // No electron-builder msi target: the MSI is packaging/msi/vigil.wxs (docs/DEPLOY.md).
    expect(targets(win)).not.toContain('msi');
    expect(c.msi).toBeUndefined();
  });

  it('macOS: dmg and pkg with hardened runtime, entitlements and notarization', () => {
    const c = cfg();
    const mac = c.mac as Obj;
    expect(targets(mac)).toEqual(expect.arrayContaining(['dmg', 'pkg']));
    expect(mac).toMatchObject({ hardenedRuntime: true, notarize: true });
    for (const key of ['entitlements', 'entitlementsInherit']) {
      const plist = read(mac[key] as string);
      expect(plist).toContain('com.apple.security.cs.allow-jit');
      expect(plist).not.toContain('disable-library-validation');
    }
    const pkg = c.pkg as Obj;
    expect(pkg.installLocation).toBe('/Applications');
    const postinstall = path.join(repo, 'build', pkg.scripts as string, 'postinstall');
    expect(statSync(postinstall).mode & 0o111).not.toBe(0);
    const script = readFileSync(postinstall, 'utf8');
    expect(script).toContain('/Library/LaunchAgents/com.vigil.agent.plist');
    expect(script).toContain('<string>--autostart</string>');
    expect(execFileSync('sh', ['-n', postinstall]).toString()).toBe('');
  });

  it('Linux: AppImage and deb, the deb installing an autostart entry for every user', () => {
    const c = cfg();
    expect(targets(c.linux as Obj)).toEqual(expect.arrayContaining(['AppImage', 'deb']));
    const deb = c.deb as Obj;
    const after = read(deb.afterInstall as string);
    expect(after).toContain('/etc/xdg/autostart/vigil.desktop');
    expect(after).toContain('--autostart');
    for (const s of [deb.afterInstall, deb.afterRemove] as string[]) execFileSync('sh', ['-n', path.join(repo, s)]);
  });

  it('holds no signing secret: certificates and passwords come only from the environment', () => {
    const text = read('electron-builder.yml');
    const c = cfg();
    const json = JSON.stringify(c);
    for (const key of ['certificateFile', 'certificatePassword', 'cscLink', 'cscKeyPassword', 'certificateSha1', 'azureSignOptions', 'identity']) expect(json).not.toContain(`"${key}"`);
    expect(text).not.toMatch(/BEGIN (RSA |EC )?PRIVATE KEY|MII[A-Za-z0-9+/]{60}/);
  });
});

describe('.github/workflows/release.yml', () => {
  const wf = () => yaml.load(read('.github/workflows/release.yml')) as { on: Obj; jobs: Record<string, { 'runs-on': string; steps: Obj[]; env?: Record<string, string> }> };

  it('builds on Windows and macOS runners and attaches MSI, NSIS, pkg and dmg', () => {
    const w = wf();
    expect(w.jobs.windows!['runs-on']).toMatch(/^windows-/);
    expect(w.jobs.macos!['runs-on']).toMatch(/^macos-/);
    const all = read('.github/workflows/release.yml');
    expect(all).toContain('scripts/build-msi.ts --payload out/win-unpacked');
    expect(all).toContain('apt-get install -y wixl msitools osslsigncode');
    expect(all).toMatch(/npx electron-builder .*--mac --universal/);
    const attach = w.jobs.release!.steps.map((s) => String(s.run ?? '')).join('\n');
    for (const ext of ['*.msi', '*-user-setup.exe', '*.pkg', '*.dmg']) expect(attach).toContain(`'${ext}'`);
  });

  it('checks signing on both runners before building, and takes secrets only from secrets', () => {
    const w = wf();
    for (const job of ['windows', 'macos']) {
      const steps = w.jobs[job]!.steps.map((s) => String(s.run ?? ''));
      const check = steps.findIndex((s) => s.includes('scripts/release-check-signing.mjs'));
      const build = steps.findIndex((s) => s.includes('npx electron-builder'));
      expect(check, job).toBeGreaterThan(-1);
      expect(check, job).toBeLessThan(build);
      expect(steps.some((s) => s.includes(`scripts/release-set-publisher.mjs --platform ${job === 'windows' ? 'windows' : 'macos'}`)), job).toBe(true);
    }
    for (const job of Object.values(w.jobs)) {
      for (const [k, v] of Object.entries(job.env ?? {})) {
        if (/PASSWORD|SECRET|CSC_LINK|API_KEY/.test(k)) expect(v, k).toMatch(/^\$\{\{ secrets\.[A-Z0-9_]+ \}\}$/);
      }
    }
  });
});

describe('scripts/release-check-signing.mjs', () => {
  const script = path.join(repo, 'scripts/release-check-signing.mjs');
  const run = (args: string[], env: Record<string, string>) => {
    const dir = mkdtempSync(path.join(tmpdir(), 'vigil-sigcheck-'));
    const summary = path.join(dir, 'summary.md');
    const output = path.join(dir, 'output');
    writeFileSync(summary, '');
    writeFileSync(output, '');
    const r = spawnSync(process.execPath, [script, ...args], { env: { PATH: process.env.PATH ?? '', GITHUB_STEP_SUMMARY: summary, GITHUB_OUTPUT: output, ...env }, encoding: 'utf8' });
    return { ...r, summary: readFileSync(summary, 'utf8'), output: readFileSync(output, 'utf8') };
  };

  it('an unsigned build says so loudly, and fails only when signing is required', () => {
    const r = run(['--platform', 'windows'], {});
    expect(r.status).toBe(0);
    expect(r.stderr).toContain('UNSIGNED WINDOWS BUILD');
    expect(r.stdout).toMatch(/^::warning title=UNSIGNED windows build::/m);
    expect(r.summary).toContain('**windows: UNSIGNED**');
    expect(r.output).toContain('signed=false');
    const mac = run(['--platform', 'macos', '--require'], { CSC_LINK: 'x', CSC_KEY_PASSWORD: 'y' });
    expect(mac.status).toBe(1);
    expect(mac.stderr).toMatch(/missing: notarization/);
    expect(mac.stderr).toMatch(/missing: Developer ID Installer/);
  });

  it('reports the signing method without printing secret values', () => {
    const r = run(['--platform', 'windows', '--require'], { WIN_CSC_LINK: 'c2VjcmV0LXBmeA==', WIN_CSC_KEY_PASSWORD: 'hunter2', VIGIL_PUBLISHER_SUBJECTS: 'CN=Vigil Ltd' });
    expect(r.status).toBe(0);
    expect(r.output).toContain('signed=true');
    expect(r.stdout + r.stderr + r.summary + r.output).not.toMatch(/hunter2|c2VjcmV0LXBmeA==/);
    const mac = run(['--platform', 'macos'], { CSC_LINK: 'a', CSC_KEY_PASSWORD: 'b', CSC_INSTALLER_LINK: 'c', CSC_INSTALLER_KEY_PASSWORD: 'd', APPLE_API_KEY: '/k.p8', APPLE_API_KEY_ID: 'K', APPLE_API_ISSUER: 'I', APPLE_TEAM_ID: 'ABCDE12345' });
    expect(mac.status).toBe(0);
    expect(mac.output).toContain('method=Developer ID + notarization');
    expect(run(['--platform', 'linux'], {}).status).toBe(64);
  });

  it('a signed build with no publisher pinned for its platform fails, with or without --require (an empty-pin release config)', () => {
    // Only an Apple Team ID: the Windows build is signed but pins no Windows publisher.
    const win = run(['--platform', 'windows'], { WIN_CSC_LINK: 'c2VjcmV0LXBmeA==', WIN_CSC_KEY_PASSWORD: 'hunter2', APPLE_TEAM_ID: 'ABCDE12345' });
    expect(win.status).toBe(1);
    expect(win.stderr).toContain('the windows build will be signed (Authenticode certificate (CSC_LINK)) but pins no publisher for its self-integrity check: set VIGIL_PUBLISHER_SUBJECTS or VIGIL_PUBLISHER_THUMBPRINTS');
    expect(win.stdout).toMatch(/^::error title=windows publisher not pinned::/m);
    expect(win.summary).toContain('**windows: signed, but no publisher pinned**');
    expect(win.stdout + win.stderr + win.summary + win.output).not.toMatch(/hunter2|c2VjcmV0LXBmeA==|ABCDE12345/);
    const mac = run(['--platform', 'macos'], { CSC_LINK: 'a', CSC_KEY_PASSWORD: 'b', CSC_INSTALLER_LINK: 'c', CSC_INSTALLER_KEY_PASSWORD: 'd', APPLE_API_KEY: '/k.p8', APPLE_API_KEY_ID: 'K', APPLE_API_ISSUER: 'I', VIGIL_PUBLISHER_SUBJECTS: 'CN=Vigil Ltd' });
    expect(mac.status).toBe(1);
    expect(mac.stderr).toContain('set APPLE_TEAM_ID');
    // An unsigned test build is still only a warning.
    expect(run(['--platform', 'windows'], {}).status).toBe(0);
  });
});

describe('scripts/release-set-publisher.mjs', () => {
  const script = path.join(repo, 'scripts/release-set-publisher.mjs');
  const original = () => read('src/core/self-integrity/build-signing.ts');
  function copy(): string {
    const dir = mkdtempSync(path.join(tmpdir(), 'vigil-publisher-'));
    const file = path.join(dir, 'build-signing.ts');
    copyFileSync(path.join(repo, 'src/core/self-integrity/build-signing.ts'), file);
    return file;
  }
  const run = (args: string[], env: Record<string, string>) => spawnSync(process.execPath, [script, ...args], { env: { PATH: process.env.PATH ?? '', ...env }, encoding: 'utf8' });

  it('writes the expected publisher into a copy of build-signing.ts, which then loads', async () => {
    const file = copy();
    const thumb = 'AB:'.repeat(19) + 'AB';
    const r = run(['--platform', 'windows', '--file', file], { VIGIL_PUBLISHER_SUBJECTS: 'CN=Vigil Ltd, O=Vigil Ltd, C=GB|Vigil Ltd', VIGIL_PUBLISHER_THUMBPRINTS: thumb, APPLE_TEAM_ID: 'ABCDE12345' });
    expect(r.status, r.stderr).toBe(0);
    const mod = (await import(pathToFileURL(file).href)) as typeof import('../../src/core/self-integrity/build-signing.js');
    expect(mod.BUILD_SIGNING).toEqual({
      expectSigned: true,
      windows: { subjects: ['CN=Vigil Ltd, O=Vigil Ltd, C=GB', 'Vigil Ltd'], thumbprints: ['ab'.repeat(20)] },
      macos: { teamIds: ['ABCDE12345'] },
    });
  });

  it('without variables: a development build, file untouched; with --require (a tag build) it fails', () => {
    const file = copy();
    expect(run(['--platform', 'windows', '--file', file], {}).status).toBe(0);
    expect(readFileSync(file, 'utf8')).toBe(original());
    const tag = run(['--platform', 'macos', '--require', '--file', file], {});
    expect(tag.status).toBe(1);
    expect(tag.stderr).toContain('a macos release must pin its publisher, and this one has no macOS publisher pinned: set APPLE_TEAM_ID');
    expect(readFileSync(file, 'utf8')).toBe(original());
  });

  it('an empty-pin release config: only an Apple Team ID set fails the Windows build, only a Windows subject fails the macOS build', () => {
    const file = copy();
    const win = run(['--platform', 'windows', '--file', file], { APPLE_TEAM_ID: 'ABCDE12345' });
    expect(win.status).toBe(1);
    expect(win.stderr).toMatch(/a windows release must pin its publisher, and this one has no Windows publisher pinned: set VIGIL_PUBLISHER_SUBJECTS and\/or VIGIL_PUBLISHER_THUMBPRINTS/);
    expect(readFileSync(file, 'utf8')).toBe(original());
    const mac = run(['--platform', 'macos', '--file', file], { VIGIL_PUBLISHER_SUBJECTS: 'CN=Vigil Ltd', VIGIL_PUBLISHER_THUMBPRINTS: ' , ' });
    expect(mac.status).toBe(1);
    expect(mac.stderr).toMatch(/no macOS publisher pinned/);
    expect(readFileSync(file, 'utf8')).toBe(original());
    // Each platform with its own pin builds.
    expect(run(['--platform', 'macos', '--file', file], { APPLE_TEAM_ID: 'ABCDE12345' }).status).toBe(0);
    expect(run(['--platform', 'windows', '--require', '--file', copy()], { VIGIL_PUBLISHER_THUMBPRINTS: 'ab'.repeat(32) }).status).toBe(0);
  });

  it('refuses to run without a platform, and a thumbprint that is no SHA-1 or SHA-256', () => {
    expect(run(['--file', copy()], { APPLE_TEAM_ID: 'X' }).status).toBe(64);
    const bad = run(['--platform', 'windows', '--file', copy()], { VIGIL_PUBLISHER_THUMBPRINTS: 'abcd' });
    expect(bad.status).toBe(1);
    expect(bad.stderr).toMatch(/thumbprint abcd is neither SHA-1/);
  });
});
