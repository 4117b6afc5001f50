/**
 * The machine agent's service definitions for Linux and macOS, and the install scripts
 * that put them in place: the systemd unit checked by `systemd-analyze verify` (where the
 * tool exists), the LaunchDaemon plist read with our own plist reader, both named by
 * electron-builder.yml's extraResources where the scripts look for them.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import yaml from 'js-yaml';
import { describe, expect, it } from 'vitest';
import { parsePlist } from '../../src/core/inventory/macos/plist.js';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const read = (rel: string) => readFileSync(path.join(repo, rel), 'utf8');
const UNIT = 'packaging/linux/vigil.service';
const DAEMON = 'packaging/macos/com.vigil.service.plist';

const hasAnalyze = spawnSync('sh', ['-c', 'command -v systemd-analyze']).status === 0;
if (!hasAnalyze) {
  if (process.env.CI === 'true') throw new Error('service-units: systemd-analyze is missing (Debian package systemd)');
  console.log('SKIP systemd-analyze verify: install the Debian package systemd');
}

/** `systemd-analyze verify` of the unit with ExecStart's binary swapped for an executable that exists here. */
function analyze(unitText: string): { status: number | null; stderr: string } {
  const dir = mkdtempSync(path.join(tmpdir(), 'vigil-unit-'));
  const exe = path.join(dir, 'vigil');
  writeFileSync(exe, '#!/bin/sh\n');
  chmodSync(exe, 0o755);
  const unit = path.join(dir, 'vigil.service');
  writeFileSync(unit, unitText.replaceAll('/opt/Vigil/vigil', exe));
  const r = spawnSync('systemd-analyze', ['verify', unit], { encoding: 'utf8' });
  return { status: r.status, stderr: r.stderr.trim() };
}

describe('the systemd unit', () => {
  it.skipIf(!hasAnalyze)('passes systemd-analyze verify without a warning (and a broken copy does not)', () => {
    expect(analyze(read(UNIT))).toEqual({ status: 0, stderr: '' });
    expect(analyze(read(UNIT).replace('Restart=on-failure', 'Restart=sometimes')).stderr).toMatch(/restart specifier/);
    expect(analyze(read(UNIT).replace('[Install]', '[Instal]')).stderr).not.toBe('');
  });

  it('runs the app as the machine agent, as root, restarted on failure, state 0700', () => {
    const unit = read(UNIT);
    const service = unit.slice(unit.indexOf('[Service]'), unit.indexOf('[Install]'));
    expect(service).toMatch(/^ExecStart=\/opt\/Vigil\/vigil run --machine --no-sandbox$/m);
    expect(service).not.toMatch(/^User=/m);
    expect(service).toMatch(/^Restart=on-failure$/m);
    expect(service).toMatch(/^StateDirectory=vigil$/m);
    expect(service).toMatch(/^StateDirectoryMode=0700$/m);
    expect(service).toMatch(/^RuntimeDirectory=vigil$/m);
    expect(unit).toMatch(/^WantedBy=multi-user.target$/m);
  });
});

describe('the LaunchDaemon', () => {
  it('is a valid plist for our reader: root, at load, kept alive after a crash, the machine agent', () => {
    const d = parsePlist(readFileSync(path.join(repo, DAEMON))) as Record<string, unknown>;
    expect(d.Label).toBe('com.vigil.service');
    expect(d.ProgramArguments).toEqual(['/Applications/Vigil.app/Contents/MacOS/Vigil', 'run', '--machine']);
    expect(d.UserName).toBe('root');
    expect(d.RunAtLoad).toBe(true);
    expect(d.KeepAlive).toEqual({ SuccessfulExit: false });
    expect(d.Umask).toBe(63); // 077
    expect(() => parsePlist(Buffer.from(read(DAEMON).replace('</dict>\n</plist>', '</plist>')))).toThrow();
  });
});

describe('the installers put them in place', () => {
  const cfg = yaml.load(read('electron-builder.yml')) as Record<string, { extraResources?: { from: string; to: string }[] }>;

  it('deb: the unit ships in resources/, after-install installs, enables and (re)starts it; after-remove removes it', () => {
    expect(cfg.linux!.extraResources).toEqual([{ from: UNIT, to: 'vigil.service' }]);
    const post = read('packaging/linux/after-install.sh');
    expect(post).toContain('install -m 644 /opt/Vigil/resources/vigil.service /lib/systemd/system/vigil.service');
    expect(post).toMatch(/systemctl enable vigil\.service/);
    expect(post).toMatch(/systemctl restart vigil\.service/);
    expect(post).toMatch(/"autostart": "machine"/);
    expect(read('packaging/linux/after-remove.sh')).toMatch(/systemctl disable --now vigil\.service/);
    for (const s of ['packaging/linux/after-install.sh', 'packaging/linux/after-remove.sh']) expect(execFileSync('sh', ['-n', path.join(repo, s)]).toString()).toBe('');
  });

  it('pkg: the plist ships in Resources, postinstall installs and bootstraps it as root:wheel 644', () => {
    expect(cfg.mac!.extraResources).toEqual([{ from: DAEMON, to: 'com.vigil.service.plist' }]);
    const post = read('packaging/macos/pkg-scripts/postinstall');
    expect(post).toContain('install -m 644 -o root -g wheel /Applications/Vigil.app/Contents/Resources/com.vigil.service.plist "$DAEMON"');
    expect(post).toMatch(/launchctl bootout system\/com\.vigil\.service/);
    expect(post).toMatch(/launchctl bootstrap system "\$DAEMON"/);
    expect(execFileSync('sh', ['-n', path.join(repo, 'packaging/macos/pkg-scripts/postinstall')]).toString()).toBe('');
  });
});
