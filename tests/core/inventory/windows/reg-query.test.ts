/**
 * parseRegQuery on the recorded reg.exe outputs in tests/fixtures/windows/reg (Windows 10/11
 * format, see its README) and on malformed output. The parser is total: odd lines become
 * problems with their line numbers, never exceptions.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { dwordValue, keyName, MAX_PROBLEMS, multiStringValue, parseRegQuery, stringValue, type RegKey } from '../../../../src/core/inventory/windows/reg-query.js';

const FIXTURES = fileURLToPath(new URL('../../../fixtures/windows/reg/', import.meta.url));
const fixture = (name: string) => readFileSync(`${FIXTURES}${name}`, 'utf8');
const ALICE = 'S-1-5-21-3623811015-3361044348-30300820-1001';
const JURGEN = 'S-1-5-21-3623811015-3361044348-30300820-1002';

function key(keys: RegKey[], name: string): RegKey {
  const k = keys.find((x) => keyName(x.path) === name);
  if (!k) throw new Error(`no key ${name}`);
  return k;
}

describe('parseRegQuery on recorded outputs', () => {
  it('reads every key of HKLM Uninstall /s, value-less stock keys included', () => {
    const r = parseRegQuery(fixture('hklm-uninstall.stdout.txt'));
    expect(r.problems).toEqual([]);
    expect(r.errors).toEqual([]);
    expect(r.keys.map((k) => keyName(k.path))).toEqual([
      '7-Zip', 'AddressBook', 'Connection Manager', 'DirectDrawEx', 'DXM_Runtime', 'Fontcore', 'Git_is1', 'IE40', 'IE4Data', 'IE5BAKEX',
      'IEData', 'MobileOptionPack', 'MPlayer2', 'SchedulingAgent', 'WIC', '{5740BD44-B58D-321A-AFC0-6D3D4556DD6C}',
    ]);
    expect(key(r.keys, 'AddressBook')).toEqual({ path: 'HKEY_LOCAL_MACHINE\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\Uninstall\\AddressBook', values: [] });
    expect(key(r.keys, 'Connection Manager').values).toEqual([{ name: 'SystemComponent', type: 'REG_DWORD', data: '0x1' }]);
  });

  it('keeps data with spaces and quotes, and names with spaces and colons, as printed', () => {
    const r = parseRegQuery(fixture('hklm-uninstall.stdout.txt'));
    const zip = key(r.keys, '7-Zip');
    expect(stringValue(zip, 'DisplayName')).toBe('7-Zip 23.01 (x64)');
    expect(stringValue(zip, 'UninstallString')).toBe('"C:\\Program Files\\7-Zip\\Uninstall.exe"');
    expect(stringValue(zip, 'InstallLocation')).toBe('C:\\Program Files\\7-Zip\\');
    expect(dwordValue(zip, 'EstimatedSize')).toBe(0x1638);
    const git = key(r.keys, 'Git_is1');
    expect(stringValue(git, 'Inno Setup: App Path')).toBe('C:\\Program Files\\Git');
    expect(stringValue(git, 'Inno Setup: Deselected Components')).toBe('');
    expect(stringValue(git, 'QuietUninstallString')).toBe('"C:\\Program Files\\Git\\unins000.exe" /SILENT');
    expect(git.values).toHaveLength(28);
  });

  it('reads an MSI entry: empty values, REG_EXPAND_SZ, DWORD version fields', () => {
    const msi = key(parseRegQuery(fixture('hklm-uninstall.stdout.txt')).keys, '{5740BD44-B58D-321A-AFC0-6D3D4556DD6C}');
    expect(msi.values.find((v) => v.name === 'UninstallString')).toEqual({
      name: 'UninstallString',
      type: 'REG_EXPAND_SZ',
      data: 'MsiExec.exe /X{5740BD44-B58D-321A-AFC0-6D3D4556DD6C}',
    });
    expect(stringValue(msi, 'InstallLocation')).toBe('');
    expect(dwordValue(msi, 'Version')).toBe((14 << 24) | (38 << 16) | 33130);
    expect(stringValue(msi, 'displayname')).toBe('Microsoft Visual C++ 2022 X64 Additional Runtime - 14.38.33130');
  });

  it('parses CRLF and LF output alike', () => {
    for (const name of ['hklm-uninstall.stdout.txt', 'profilelist.stdout.txt', 'hku.stdout.txt']) {
      const crlf = fixture(name);
      expect(crlf).toContain('\r\n');
      expect(parseRegQuery(crlf.replace(/\r\n/g, '\n'))).toEqual(parseRegQuery(crlf));
    }
  });

  it('lists the loaded hives of `reg query HKU`', () => {
    const r = parseRegQuery(fixture('hku.stdout.txt'));
    expect(r.problems).toEqual([]);
    expect(r.keys.map((k) => k.path)).toEqual([
      'HKEY_USERS\\.DEFAULT',
      'HKEY_USERS\\S-1-5-19',
      'HKEY_USERS\\S-1-5-20',
      `HKEY_USERS\\${ALICE}`,
      `HKEY_USERS\\${ALICE}_Classes`,
      `HKEY_USERS\\${JURGEN}`,
      `HKEY_USERS\\${JURGEN}_Classes`,
      'HKEY_USERS\\S-1-12-1-2837419210-1093483265-2839112594-3186743519',
      'HKEY_USERS\\S-1-12-1-2837419210-1093483265-2839112594-3186743519_Classes',
      'HKEY_USERS\\S-1-5-18',
    ]);
    expect(r.keys.every((k) => k.values.length === 0)).toBe(true);
  });

  it('reads ProfileList: REG_EXPAND_SZ paths, REG_BINARY SIDs, non-ASCII folder names', () => {
    const r = parseRegQuery(fixture('profilelist.stdout.txt'));
    expect(r.problems).toEqual([]);
    expect(stringValue(r.keys[0]!, 'ProfilesDirectory')).toBe('%SystemDrive%\\Users');
    expect(stringValue(key(r.keys, JURGEN), 'ProfileImagePath')).toBe('C:\\Users\\Jürgen');
    expect(key(r.keys, 'S-1-5-18').values.find((v) => v.name === 'Sid')).toEqual({ name: 'Sid', type: 'REG_BINARY', data: '010100000000000512000000' });
  });

  it('keeps non-ASCII data decoded from UTF-8 intact', () => {
    const r = parseRegQuery(fixture(`hku-${JURGEN}-uninstall.stdout.txt`));
    const entry = r.keys.find((k) => stringValue(k, 'DisplayName')?.startsWith('3CX'))!;
    expect(stringValue(entry, 'UninstallString')).toBe('"C:\\Users\\Jürgen\\AppData\\Local\\Programs\\3CXDesktopApp\\Uninstall 3CX Desktop App.exe" /currentuser');
  });
});

describe('parseRegQuery value forms', () => {
  const K = 'HKEY_CURRENT_USER\\Software\\Vigil';
  const one = (line: string) => parseRegQuery(`\r\n${K}\r\n${line}\r\n\r\n`);

  it.each([
    ['    (Default)    REG_SZ    C:\\Program Files\\App\\app.exe', { name: '(Default)', type: 'REG_SZ', data: 'C:\\Program Files\\App\\app.exe' }],
    ['    (Standard)    REG_SZ    x', { name: '(Standard)', type: 'REG_SZ', data: 'x' }],
    ['    (默认)    REG_SZ    "C:\\Users\\user\\AppData\\Local\\Programs\\ZCode\\ZCode.exe" "%1"', { name: '(默认)', type: 'REG_SZ', data: '"C:\\Users\\user\\AppData\\Local\\Programs\\ZCode\\ZCode.exe" "%1"' }],
    ['    Path    REG_EXPAND_SZ    %SystemRoot%\\system32;%USERPROFILE%\\bin', { name: 'Path', type: 'REG_EXPAND_SZ', data: '%SystemRoot%\\system32;%USERPROFILE%\\bin' }],
    ['    Security Packages    REG_MULTI_SZ    kerberos\\0msv1_0\\0schannel', { name: 'Security Packages', type: 'REG_MULTI_SZ', data: 'kerberos\\0msv1_0\\0schannel' }],
    ['    LastCheck    REG_QWORD    0x1d9e3a4b5c6d7e8', { name: 'LastCheck', type: 'REG_QWORD', data: '0x1d9e3a4b5c6d7e8' }],
    ['    Bounds    REG_BINARY    0030000000200000', { name: 'Bounds', type: 'REG_BINARY', data: '0030000000200000' }],
    ['    Marker    REG_NONE    ', { name: 'Marker', type: 'REG_NONE', data: '' }],
    ['    Empty    REG_SZ    ', { name: 'Empty', type: 'REG_SZ', data: '' }],
    ['    Trimmed    REG_SZ', { name: 'Trimmed', type: 'REG_SZ', data: '' }],
    ['    Padded    REG_SZ    two trailing spaces  ', { name: 'Padded', type: 'REG_SZ', data: 'two trailing spaces  ' }],
    ['    My    Odd Name    REG_SZ    v', { name: 'My    Odd Name', type: 'REG_SZ', data: 'v' }],
    ['    Cmd    REG_SZ    echo    REG_SZ    inside', { name: 'Cmd', type: 'REG_SZ', data: 'echo    REG_SZ    inside' }],
    ['     Leading space    REG_SZ    v', { name: ' Leading space', type: 'REG_SZ', data: 'v' }],
  ])('%s', (line, value) => {
    const r = one(line);
    expect(r.problems).toEqual([]);
    expect(r.keys).toEqual([{ path: K, values: [value] }]);
  });

  it('decodes REG_MULTI_SZ and REG_DWORD data', () => {
    expect(multiStringValue('kerberos\\0msv1_0\\0schannel')).toEqual(['kerberos', 'msv1_0', 'schannel']);
    expect(multiStringValue('')).toEqual([]);
    const k = one('    Flags    REG_DWORD    0xffffffff').keys[0]!;
    expect(dwordValue(k, 'flags')).toBe(0xffffffff);
    expect(dwordValue(k, 'missing')).toBeUndefined();
    expect(stringValue(k, 'Flags')).toBeUndefined(); // a DWORD is not a string
  });

  it('reads the "End of search" line /f adds and ERROR lines', () => {
    const r = parseRegQuery(`\r\n${K}\r\n    DisplayName    REG_SZ    3CX Desktop App\r\n\r\nEnd of search: 1 match(es) found.\r\n`);
    expect(r.matchCount).toBe(1);
    expect(r.problems).toEqual([]);
    expect(parseRegQuery('ERROR: Access is denied.\r\n').errors).toEqual(['Access is denied.']);
  });

  it('strips a byte-order mark', () => {
    expect(parseRegQuery(`\uFEFF\r\n${K}\r\n    A    REG_SZ    b\r\n`).keys).toEqual([{ path: K, values: [{ name: 'A', type: 'REG_SZ', data: 'b' }] }]);
  });
});

describe('parseRegQuery on malformed output', () => {
  it('reports each odd line with its line number and keeps the rest', () => {
    const text = [
      '    Orphan    REG_SZ    before any key', // 1
      '',
      'HKEY_LOCAL_MACHINE\\SOFTWARE\\Vigil', // 3
      '    Good    REG_SZ    ok', // 4
      '    Bad    REG_FOO    x', // 5
      '    Dword    REG_DWORD    12', // 6
      '    Qword    REG_QWORD    0x12345678901234567', // 7
      '    Blob    REG_BINARY    ABC', // 8
      'Active code page: 65001', // 9
      '\tTabbed    REG_SZ    x', // 10
      'a continuation of a multi-line REG_SZ', // 11
      'HKEY_LOCAL_MACHINE\\SOFTWARE\\Other', // 12
    ].join('\r\n');
    const r = parseRegQuery(text);
    expect(r.keys).toEqual([
      { path: 'HKEY_LOCAL_MACHINE\\SOFTWARE\\Vigil', values: [{ name: 'Good', type: 'REG_SZ', data: 'ok' }] },
      { path: 'HKEY_LOCAL_MACHINE\\SOFTWARE\\Other', values: [] },
    ]);
    expect(r.problems.map((p) => p.line)).toEqual([1, 5, 6, 7, 8, 9, 10, 11]);
    expect(r.problems[0]!.message).toMatch(/before any key/);
    expect(r.problems[1]!.message).toMatch(/unknown value type REG_FOO/);
    expect(r.problems[2]!.message).toMatch(/REG_DWORD data/);
    expect(r.problems[5]!.message).toMatch(/unrecognised line: "Active code page: 65001"/);
  });

  it('lists at most MAX_PROBLEMS problems and counts the rest', () => {
    const r = parseRegQuery(Array.from({ length: 200 }, (_, i) => `garbage ${i}`).join('\n'));
    expect(r.problems).toHaveLength(MAX_PROBLEMS + 1);
    expect(r.problems.at(-1)!.message).toBe(`${200 - MAX_PROBLEMS} more unrecognised lines not listed`);
  });

  it('shortens a very long odd line in its problem', () => {
    const r = parseRegQuery('x'.repeat(10_000));
    expect(r.problems[0]!.message.length).toBeLessThan(200);
  });

  it('never throws, and every problem names a line of the input', () => {
    const line = fc.oneof(
      fc.string({ maxLength: 60 }),
      fc.constantFrom('HKEY_USERS\\S-1-5-18', '    A    REG_SZ    b', '    A    REG_DWORD    0xZ', 'ERROR: x', 'End of search: 3 match(es) found.', '\r', ''),
      fc.tuple(fc.string({ maxLength: 10 }), fc.constantFrom('REG_SZ', 'REG_BINARY', 'REG_QWORD', 'REG_X'), fc.string({ maxLength: 10 })).map(([n, t, d]) => `    ${n}    ${t}    ${d}`),
    );
    fc.assert(
      fc.property(fc.array(line, { maxLength: 30 }), fc.constantFrom('\n', '\r\n'), (lines, eol) => {
        const text = lines.join(eol);
        const r = parseRegQuery(text);
        const count = text.split(/\r?\n/).length;
        for (const p of r.problems) {
          expect(p.line).toBeGreaterThanOrEqual(1);
          expect(p.line).toBeLessThanOrEqual(count);
        }
        for (const k of r.keys) expect(k.path.startsWith('HKEY_')).toBe(true);
      }),
      { numRuns: 300, seed: 4242 },
    );
  });
});
