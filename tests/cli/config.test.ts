/**
 * `vigil config show`: through the real CLI entry (runCli, so the command is registered),
 * on this machine's sources (Linux: /etc/vigil/policy.json, absent here; the settings file
 * given with --config), and with recorded Windows policy through configMain's deps. The
 * enrolment token never appears in the output.
 */
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from '../../src/cli/main.js';
import { configMain } from '../../src/cli/commands/config.js';
import type { CliIo } from '../../src/cli/io.js';
import { RecordedCommandRunner } from '../../src/core/os/command-runner.js';
import { jsonFileSource, windowsPolicySource, WINDOWS_POLICY_KEY } from '../../src/core/config/sources.js';
import { LAST_GOOD_FILE } from '../../src/core/config/effective.js';

const TOKEN = 'vigil_enroll_SECRET_0123456789abcdef';

function io(cwd: string): CliIo & { out: string; err: string } {
  const o = {
    out: '',
    err: '',
    stdout: (t: string) => void (o.out += t),
    stderr: (t: string) => void (o.err += t),
    env: {},
    cwd,
    interrupted: new Promise<void>(() => {}),
  };
  return o;
}

const tmp = () => mkdtempSync(path.join(tmpdir(), 'vigil-cfgcli-'));

describe('vigil config show', () => {
  it.skipIf(existsSync('/etc/vigil/policy.json') || process.platform !== 'linux')('prints each value with its source and masks the token (human output)', async () => {
    const dir = tmp();
    writeFileSync(path.join(dir, 'config.json'), JSON.stringify({ serverUrl: 'https://vigil.partner.example', enrollToken: TOKEN, tenant: 'Contoso Dental' }));
    const c = io(dir);
    const code = await runCli(['config', 'show', '--config', 'config.json', '--state-dir', 'state'], c);
    expect(c.err).toBe('');
    expect(code).toBe(0);
    expect(c.out).not.toContain(TOKEN);
    expect(c.out).toMatch(/serverUrl\s+https:\/\/vigil\.partner\.example\s+\[settings file \(.*config\.json\)\]/);
    expect(c.out).toMatch(/enrollToken\s+\*{8}\s+\[settings file/);
    expect(c.out).toMatch(/scanIntervalSec\s+3600\s+\[default\]/);
    expect(c.out).toMatch(/absent\s+machine policy \(\/etc\/vigil\/policy\.json\)/);
    expect(c.out).toContain('enrolment: not enrolled yet; will enrol with the configured token');
    // Read-only: no last-good file written.
    expect(existsSync(path.join(dir, 'state', LAST_GOOD_FILE))).toBe(false);
  });

  it('--json: machine policy from the registry wins, problems name key and source, exit 1', async () => {
    const dir = tmp();
    const settings = path.join(dir, 'config.json');
    writeFileSync(settings, JSON.stringify({ serverUrl: 'https://file.example', scanIntervalSec: 1200 }));
    const runner = new RecordedCommandRunner({
      [RecordedCommandRunner.key('reg', ['query', WINDOWS_POLICY_KEY, '/reg:64'])]: [
        '',
        'HKEY_LOCAL_MACHINE\\SOFTWARE\\Policies\\Vigil',
        '    ServerUrl    REG_SZ    https://msi.example',
        `    EnrollToken    REG_SZ    ${TOKEN}`,
        '    ScanIntervalSec    REG_DWORD    0x5',
        '',
      ].join('\r\n'),
    });
    const c = io(dir);
    const code = await configMain(['show', '--json', '--state-dir', dir], c, { load: { sources: [windowsPolicySource(runner), jsonFileSource(settings, 'file')] } });
    expect(code).toBe(1);
    expect(c.out).not.toContain(TOKEN);
    const doc = JSON.parse(c.out);
    expect(doc.settings.serverUrl).toEqual({ value: 'https://msi.example', source: 'policy', sourceName: 'machine policy (HKLM\\SOFTWARE\\Policies\\Vigil)' });
    expect(doc.settings.enrollToken).toMatchObject({ value: '********', source: 'policy' });
    expect(doc.settings.scanIntervalSec).toEqual({ value: 1200, source: 'file', sourceName: `settings file (${settings})` });
    expect(doc.settings.tenant).toEqual({ source: 'default', sourceName: 'default' });
    expect(doc.problems).toEqual([
      { source: 'machine policy (HKLM\\SOFTWARE\\Policies\\Vigil)', key: 'scanIntervalSec', message: expect.stringMatching(/^bad value for scanIntervalSec: .*; ignored$/) },
    ]);
    expect(doc.enrolment).toBe('pending');
    expect(doc.lastGoodFile).toBe(path.join(dir, LAST_GOOD_FILE));
  });

  it('usage errors exit 64; --help exits 0', async () => {
    const c = io(tmp());
    expect(await runCli(['config'], c)).toBe(64);
    expect(c.err).toMatch(/missing subcommand/);
    expect(await runCli(['config', 'edit'], c)).toBe(64);
    expect(await runCli(['config', 'show', '--bogus'], c)).toBe(64);
    const h = io(tmp());
    expect(await runCli(['config', 'show', '--help'], h)).toBe(0);
    expect(h.out).toMatch(/usage: vigil config show/);
    const top = io(tmp());
    await runCli(['--help'], top);
    expect(top.out).toMatch(/config\s+show the effective settings/);
  });
});
