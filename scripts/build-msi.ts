/**
 * Builds the per-machine Vigil MSI from packaging/msi/vigil.wxs with msitools' wixl
 * (Debian/Ubuntu: `apt-get install wixl msitools osslsigncode`). docs/DEPLOY.md says why
 * this, and not electron-builder's `msi` target, is the release build.
 *
 *   npx tsx scripts/build-msi.ts --payload out/win-unpacked --out out/Vigil-0.1.0-x64.msi
 *   npx tsx scripts/build-msi.ts --placeholder --out /tmp/Vigil-placeholder.msi
 *
 * Steps:
 *   1. copy the payload (electron-builder's win-unpacked) into a work folder next to the
 *      two .wxs files: wixl needs Source paths relative to the .wxs (absolute ones trip a
 *      GLib assertion in wixl 0.101);
 *   2. generate payload.wxs: one component per file, stable ids derived from the relative
 *      path, the main executable as File Id VigilExe (the Run value and the shortcut
 *      point at it);
 *   3. `wixl -a x64 -D Version=... -D PayloadKind=...`;
 *   4. msibuild: add the public properties to SecureCustomProperties (wixl cannot declare
 *      Secure properties) and import the shortcut's AppUserModelID row;
 *   5. sign with osslsigncode when WIN_CSC_LINK / CSC_LINK name a .pfx/.p12 (path or
 *      base64) with WIN_CSC_KEY_PASSWORD / CSC_KEY_PASSWORD; otherwise say loudly that
 *      the MSI is unsigned. (Azure Trusted Signing signs on the Windows runner instead,
 *      see .github/workflows/release.yml.)
 *
 * --placeholder builds from a clearly labelled placeholder payload for CI machines that
 * cannot download Electron's Windows binaries: Vigil.exe is a text file saying so, the
 * MSI's VIGIL_PAYLOAD property is "placeholder" and its summary comment says so too.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const repo = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
export const WXS_SOURCE = path.join(repo, 'packaging', 'msi', 'vigil.wxs');
export const APP_USER_MODEL_ID = 'com.vigil.agent';
/** Public properties msiexec takes on the command line (docs/DEPLOY.md). */
export const PUBLIC_PROPERTIES = ['VIGIL_SERVER_URL', 'VIGIL_ENROLL_TOKEN', 'VIGIL_TENANT', 'VIGIL_ALLOW_QUIT', 'VIGIL_PACK_KEYS', 'VIGIL_KEEP_DATA'] as const;
/** The executable electron-builder writes (win.executableName in electron-builder.yml). */
export const MAIN_EXE = 'Vigil.exe';
/** The service host (WinSW, renamed) and its configuration; vigil.wxs installs the service from it. */
export const SERVICE_EXE = 'VigilService.exe';
export const SERVICE_XML = 'VigilService.xml';
export const SERVICE_XML_SOURCE = path.join(repo, 'packaging', 'msi', SERVICE_XML);
/** Restart after 10 s, 10 s, 60 s; the failure count resets after a day (MsiServiceConfigFailureActions). */
export const SERVICE_RECOVERY = { actions: [1, 1, 1], delaysMs: [10_000, 10_000, 60_000], resetPeriodSec: 86_400 } as const;

export interface BuildMsiOptions {
  /** electron-builder's win-unpacked folder; omitted with placeholder. */
  payloadDir?: string;
  placeholder?: boolean;
  out: string;
  /** ProductVersion x.y.z; default package.json's version. */
  version?: string;
  env?: NodeJS.ProcessEnv;
  /** Progress and warnings (default: stderr). */
  log?: (line: string) => void;
  /** WinSW's executable, copied in as VigilService.exe when the payload has none (docs/DEPLOY.md). */
  serviceWrapper?: string;
}

export interface BuildMsiResult {
  msi: string;
  version: string;
  payloadKind: 'release' | 'placeholder';
  files: string[];
  signed: boolean;
}

function run(cmd: string, args: string[], cwd: string): string {
  try {
    return execFileSync(cmd, args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    throw new Error(`${cmd} ${args.join(' ')} failed: ${e.stderr?.trim() || e.message}`);
  }
}

function packageVersion(): string {
  return (JSON.parse(readFileSync(path.join(repo, 'package.json'), 'utf8')) as { version: string }).version;
}

/** MSI ProductVersion: major.minor.build, each within the Windows Installer limits. */
export function msiVersion(version: string): string {
  const m = /^(\d+)\.(\d+)\.(\d+)/.exec(version);
  if (!m || Number(m[1]) > 255 || Number(m[2]) > 255 || Number(m[3]) > 65535) {
    throw new Error(`version ${JSON.stringify(version)} is not an MSI ProductVersion (major<=255.minor<=255.build<=65535)`);
  }
  return `${Number(m[1])}.${Number(m[2])}.${Number(m[3])}`;
}

function listFiles(dir: string, rel = ''): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(path.join(dir, rel), { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
    const r = rel ? `${rel}/${entry.name}` : entry.name;
    if (entry.isDirectory()) out.push(...listFiles(dir, r));
    else if (entry.isFile()) out.push(r);
    else throw new Error(`payload entry ${r} is neither a file nor a folder`);
  }
  return out;
}

const id = (prefix: string, rel: string) => `${prefix}_${createHash('sha256').update(rel).digest('hex').slice(0, 24)}`;
const xmlAttr = (s: string) => s.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/**
 * payload.wxs for `files` (paths relative to the payload root, `/`-separated), whose
 * copies sit under `payload/` next to it. Ids are stable across builds of the same tree.
 */
export function payloadFragment(all: readonly string[]): string {
  if (!all.includes(MAIN_EXE)) throw new Error(`the payload has no ${MAIN_EXE} at its root`);
  if (!all.includes(SERVICE_EXE)) throw new Error(`the payload has no ${SERVICE_EXE} (the service host, WinSW) at its root: give --service-wrapper`);
  // The service host's file is vigil.wxs's own component (ServiceInstall belongs to it).
  const files = all.filter((f) => f !== SERVICE_EXE);
  type Dir = { name: string; rel: string; dirs: Map<string, Dir>; files: string[] };
  const root: Dir = { name: '', rel: '', dirs: new Map(), files: [] };
  for (const f of files) {
    const parts = f.split('/');
    let d = root;
    for (const p of parts.slice(0, -1)) {
      let next = d.dirs.get(p);
      if (!next) {
        next = { name: p, rel: d.rel ? `${d.rel}/${p}` : p, dirs: new Map(), files: [] };
        d.dirs.set(p, next);
      }
      d = next;
    }
    d.files.push(f);
  }
  const components: string[] = [];
  const render = (d: Dir, indent: string): string[] => {
    const lines: string[] = [];
    for (const f of d.files) {
      const cid = id('c', f);
      const fid = f === MAIN_EXE ? 'VigilExe' : id('f', f);
      components.push(cid);
      lines.push(
        `${indent}<Component Id="${cid}" Guid="*" Win64="yes">`,
        `${indent}  <File Id="${fid}" Name="${xmlAttr(path.posix.basename(f))}" Source="payload/${xmlAttr(f)}" KeyPath="yes" />`,
        `${indent}</Component>`,
      );
    }
    for (const sub of d.dirs.values()) {
      lines.push(`${indent}<Directory Id="${id('d', sub.rel)}" Name="${xmlAttr(sub.name)}">`, ...render(sub, `${indent}  `), `${indent}</Directory>`);
    }
    return lines;
  };
  const body = render(root, '      ');
  return [
    '<?xml version="1.0" encoding="utf-8"?>',
    '<!-- Generated by scripts/build-msi.ts from the payload folder; do not edit. -->',
    '<Wix xmlns="http://schemas.microsoft.com/wix/2006/wi">',
    '  <Fragment>',
    '    <DirectoryRef Id="INSTALLDIR">',
    ...body,
    '    </DirectoryRef>',
    '  </Fragment>',
    '  <Fragment>',
    '    <ComponentGroup Id="PayloadFiles">',
    ...components.map((c) => `      <ComponentRef Id="${c}" />`),
    '    </ComponentGroup>',
    '  </Fragment>',
    '</Wix>',
    '',
  ].join('\n');
}

/** A payload that is clearly not the app: for CI where Electron's Windows zip cannot be downloaded. */
export function writePlaceholderPayload(dir: string): void {
  const notice = 'PLACEHOLDER PAYLOAD: this is not Vigil. It exists so the MSI definition can be built and inspected\n' +
    'on a machine that cannot download Electron\'s Windows binaries. Never distribute an MSI built from it.\n';
  mkdirSync(path.join(dir, 'resources'), { recursive: true });
  writeFileSync(path.join(dir, MAIN_EXE), notice);
  writeFileSync(path.join(dir, 'resources', 'app.asar'), notice);
  writeFileSync(path.join(dir, 'PLACEHOLDER-PAYLOAD.txt'), notice);
  writeFileSync(path.join(dir, SERVICE_EXE), notice);
}

function msibuildQuery(msi: string, sql: string, cwd: string): void {
  run('msibuild', [msi, '-q', sql], cwd);
}

/** The signing material from the environment, electron-builder's names (never a file in the repo). */
export function msiSigningFromEnv(env: NodeJS.ProcessEnv): { link: string; password: string } | undefined {
  const link = env.WIN_CSC_LINK || env.CSC_LINK;
  if (!link) return undefined;
  return { link, password: env.WIN_CSC_KEY_PASSWORD || env.CSC_KEY_PASSWORD || '' };
}

function signMsi(msi: string, signing: { link: string; password: string }, work: string, env: NodeJS.ProcessEnv): void {
  let pfx = signing.link;
  if (!existsSync(pfx)) {
    pfx = path.join(work, 'signing.pfx');
    writeFileSync(pfx, Buffer.from(signing.link.replace(/^data:[^,]*,/, ''), 'base64'), { mode: 0o600 });
  }
  const signed = `${msi}.signed`;
  const args = ['sign', '-pkcs12', pfx, '-pass', signing.password, '-h', 'sha256', '-n', 'Vigil'];
  const ts = env.VIGIL_TIMESTAMP_URL ?? (env.ELECTRON_BUILDER_OFFLINE === 'true' ? undefined : 'http://timestamp.digicert.com');
  if (ts) args.push('-ts', ts);
  args.push('-in', msi, '-out', signed);
  run('osslsigncode', args, work);
  rmSync(msi);
  cpSync(signed, msi);
  rmSync(signed);
}

export function buildMsi(opts: BuildMsiOptions): BuildMsiResult {
  const log = opts.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const env = opts.env ?? process.env;
  if (!opts.placeholder && !opts.payloadDir) throw new Error('give --payload DIR (electron-builder win-unpacked) or --placeholder');
  if (opts.placeholder && opts.payloadDir) throw new Error('--payload and --placeholder exclude each other');
  const version = msiVersion(opts.version ?? packageVersion());
  const payloadKind = opts.placeholder ? 'placeholder' : 'release';
  const work = mkdtempSync(path.join(tmpdir(), 'vigil-msi-'));
  try {
    const payload = path.join(work, 'payload');
    if (opts.placeholder) writePlaceholderPayload(payload);
    else {
      if (!statSync(opts.payloadDir!).isDirectory()) throw new Error(`${opts.payloadDir} is not a folder`);
      cpSync(opts.payloadDir!, payload, { recursive: true });
    }
    if (opts.serviceWrapper) cpSync(opts.serviceWrapper, path.join(payload, SERVICE_EXE));
    if (!existsSync(path.join(payload, SERVICE_XML))) cpSync(SERVICE_XML_SOURCE, path.join(payload, SERVICE_XML));
    const files = listFiles(payload);
    writeFileSync(path.join(work, 'payload.wxs'), payloadFragment(files));
    writeFileSync(path.join(work, 'vigil.wxs'), readFileSync(WXS_SOURCE));
    const msi = path.join(work, 'Vigil.msi');
    run('wixl', ['-a', 'x64', '-D', `Version=${version}`, '-D', `PayloadKind=${payloadKind}`, '-o', msi, 'vigil.wxs', 'payload.wxs'], work);

    // wixl cannot mark properties Secure; its MajorUpgrade wrote the row with its own two.
    const secure = ['WIX_DOWNGRADE_DETECTED', 'WIX_UPGRADE_DETECTED', ...PUBLIC_PROPERTIES].join(';');
    msibuildQuery(msi, `UPDATE \`Property\` SET \`Value\`='${secure}' WHERE \`Property\`='SecureCustomProperties'`, work);
    // The Start-menu shortcut's AppUserModelID (toasts need it); wixl has no ShortcutProperty.
    writeFileSync(
      path.join(work, 'MsiShortcutProperty.idt'),
      [
        'MsiShortcutProperty\tShortcut_\tPropertyKey\tPropVariantValue',
        's72\ts72\ts255\ts255',
        'MsiShortcutProperty\tMsiShortcutProperty',
        `VigilAumid\tVigilStartMenu\tSystem.AppUserModel.ID\t${APP_USER_MODEL_ID}`,
        '',
      ].join('\r\n'),
    );
    run('msibuild', [msi, '-i', 'MsiShortcutProperty.idt'], work);
    // wixl drops ServiceInstall/@Vital: a service that cannot be installed fails the install.
    msibuildQuery(msi, "UPDATE `ServiceInstall` SET `ErrorControl`=32769 WHERE `ServiceInstall`='VigilServiceInstall'", work);
    // The service's recovery actions; wixl has no util:ServiceConfig. Event 1+4: on install
    // and reinstall. Windows Installer 5.0 (the package's InstallerVersion is 500).
    writeFileSync(
      path.join(work, 'MsiServiceConfigFailureActions.idt'),
      [
        'MsiServiceConfigFailureActions\tName\tEvent\tResetPeriod\tRebootMessage\tCommand\tActions\tDelayActions\tComponent_',
        's72\ts255\ti2\tI4\tL255\tL255\tS255\tS255\ts72',
        'MsiServiceConfigFailureActions\tMsiServiceConfigFailureActions',
        `VigilRecovery\tVigil\t5\t${SERVICE_RECOVERY.resetPeriodSec}\t\t\t${SERVICE_RECOVERY.actions.join('[~]')}\t${SERVICE_RECOVERY.delaysMs.join('[~]')}\tAgentService`,
        '',
      ].join('\r\n'),
    );
    run('msibuild', [msi, '-i', 'MsiServiceConfigFailureActions.idt'], work);

    let signed = false;
    const signing = msiSigningFromEnv(env);
    if (payloadKind === 'placeholder') {
      log('build-msi: PLACEHOLDER PAYLOAD - this MSI installs no working app; never distribute it.');
    } else if (signing) {
      signMsi(msi, signing, work, env);
      signed = true;
      log('build-msi: MSI signed with osslsigncode.');
    } else {
      log('build-msi: WARNING: UNSIGNED MSI - no WIN_CSC_LINK/CSC_LINK in the environment. Windows SmartScreen and many RMMs will warn; sign it before release.');
    }
    mkdirSync(path.dirname(path.resolve(opts.out)), { recursive: true });
    cpSync(msi, opts.out);
    log(`build-msi: wrote ${opts.out} (${payloadKind} payload, ${files.length} files, ProductVersion ${version})`);
    return { msi: opts.out, version, payloadKind, files, signed };
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

function cli(argv: string[]): number {
  const { values } = parseArgs({
    args: argv,
    options: {
      payload: { type: 'string' },
      placeholder: { type: 'boolean', default: false },
      out: { type: 'string' },
      version: { type: 'string' },
      'service-wrapper': { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
    strict: true,
  });
  if (values.help || !values.out) {
    process.stdout.write('usage: tsx scripts/build-msi.ts (--payload DIR | --placeholder) --out FILE.msi [--version X.Y.Z] [--service-wrapper winsw.exe]\n');
    return values.help ? 0 : 64;
  }
  buildMsi({
    out: values.out,
    placeholder: values.placeholder,
    ...(values.payload ? { payloadDir: values.payload } : {}),
    ...(values.version ? { version: values.version } : {}),
    ...(values['service-wrapper'] ? { serviceWrapper: values['service-wrapper'] } : {}),
  });
  return 0;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  try {
    process.exitCode = cli(process.argv.slice(2));
  } catch (err) {
    process.stderr.write(`build-msi: ${(err as Error).message}\n`);
    process.exitCode = 1;
  }
}
