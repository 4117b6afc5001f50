/**
 * The offline hive reader against hives written two independent ways (hivex's hivexsh,
 * and our writer checked with hivex's hivexget), on every subkey-list kind, big data,
 * UTF-16 names, and on damaged and mutated files.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { LocalTargetFs } from '../../../src/core/os/target-fs.js';
import { HiveError, RegistryHive, hiveString, type HiveKey } from '../../../src/core/inventory/windows/registry-hive.js';
import { regValueFromHive } from '../../../src/core/inventory/windows/offline-uninstall-entries.js';
import {
  dword,
  emptyHive,
  fixChecksum,
  hivexget,
  hivexMkdirs,
  hivexSetStrings,
  hivexsh,
  REG_BINARY,
  REG_DWORD,
  REG_EXPAND_SZ,
  REG_MULTI_SZ,
  REG_SZ,
  sz,
  writeHive,
  type KeySpec,
} from '../../helpers/make-hive.js';
import { needsTools } from '../../helpers/system-tool.js';
import { MemoryFile } from '../../helpers/signing-memory-file.js';

function tmp(): string {
  return mkdtempSync(path.join(tmpdir(), 'vigil-hive-'));
}

async function openBuffer(buf: Buffer, label = 'test.hive'): Promise<RegistryHive> {
  return RegistryHive.open(new MemoryFile(buf), label);
}

async function valuesOf(h: RegistryHive, key: HiveKey): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const v of await h.values(key)) {
    const r = regValueFromHive(v);
    out[r.name] = `${r.type}:${r.data}`;
  }
  return out;
}

const tenKeys = (prefix: string): KeySpec[] => Array.from({ length: 10 }, (_, i) => ({ name: `${prefix}${i}`, values: [{ name: 'Index', type: REG_DWORD, data: dword(i) }] }));

describe('RegistryHive on hives hivex wrote (hivexsh)', needsTools('hivexsh'), () => {
  it('walks to the Uninstall key, case-insensitively, and reads its entries and values', async () => {
    const dir = tmp();
    const file = path.join(dir, 'SOFTWARE');
    writeFileSync(file, emptyHive());
    hivexsh(file, [
      ...hivexMkdirs(['Microsoft', 'Windows', 'CurrentVersion', 'Uninstall', '{8E9D3D55-0000-4A3C-9C4E-3CX000000001}']),
      ...hivexSetStrings({ DisplayName: '3CX Desktop App', DisplayVersion: '18.12.416', Publisher: '3CX', InstallLocation: 'C:\\Tools\\3CXDesktopApp' }),
      'cd ..',
      'add 7-Zip',
      'cd 7-Zip',
      'setval 2',
      'DisplayName',
      'string:7-Zip 23.01 (x64)',
      'NoModify',
      'dword:0x00000001',
    ]);
    const fs = new LocalTargetFs(dir);
    const handle = await fs.open('SOFTWARE');
    onTestFinished(() => handle.close());
    const h = await RegistryHive.open(handle, 'SOFTWARE');
    expect(h.dirty).toBe(false);
    const uninstall = await h.openPath(['MICROSOFT', 'windows', 'CurrentVersion', 'uninstall']);
    expect(uninstall).toBeDefined();
    const subs = await h.subkeys(uninstall!);
    expect(subs.map((s) => s.name).sort()).toEqual(['7-Zip', '{8E9D3D55-0000-4A3C-9C4E-3CX000000001}']);
    const threecx = subs.find((s) => s.name.startsWith('{'))!;
    expect(await valuesOf(h, threecx)).toEqual({
      DisplayName: 'REG_SZ:3CX Desktop App',
      DisplayVersion: 'REG_SZ:18.12.416',
      Publisher: 'REG_SZ:3CX',
      InstallLocation: 'REG_SZ:C:\\Tools\\3CXDesktopApp',
    });
    expect(await valuesOf(h, subs.find((s) => s.name === '7-Zip')!)).toEqual({ DisplayName: 'REG_SZ:7-Zip 23.01 (x64)', NoModify: 'REG_DWORD:0x1' });
    expect(await h.openPath(['Microsoft', 'NoSuchKey'])).toBeUndefined();
  });

  it('reads a key with many subkeys as hivex lays them out', async () => {
    const dir = tmp();
    const file = path.join(dir, 'NTUSER.DAT');
    writeFileSync(file, emptyHive());
    const lines = hivexMkdirs(['Software', 'Many']);
    for (let i = 0; i < 300; i++) lines.push(`add Entry${String(i).padStart(3, '0')}`);
    hivexsh(file, lines);
    const handle = await new LocalTargetFs(dir).open('NTUSER.DAT');
    onTestFinished(() => handle.close());
    const h = await RegistryHive.open(handle, 'NTUSER.DAT');
    const many = await h.openPath(['Software', 'Many']);
    const names = (await h.subkeys(many!)).map((k) => k.name);
    expect(names).toHaveLength(300);
    expect(new Set(names).size).toBe(300);
    expect(names).toContain('Entry299');
  });
});

describe('RegistryHive on hives our writer made, checked against hivexget', () => {
  const spec: KeySpec = {
    name: 'ROOT',
    subkeys: [
      { name: 'ViaLf', list: 'lf', subkeys: tenKeys('lf') },
      { name: 'ViaLh', list: 'lh', subkeys: tenKeys('lh') },
      { name: 'ViaLi', list: 'li', subkeys: tenKeys('li') },
      { name: 'ViaRi', list: 'ri', riChunk: 3, subkeys: tenKeys('ri') },
      {
        name: 'Téléphone ☎',
        utf16Name: true,
        values: [
          { name: '', type: REG_SZ, data: sz('default value') },
          { name: 'Größe ☎', utf16Name: true, type: REG_SZ, data: sz('ünïcode ☎ value') },
          { name: 'Path', type: REG_EXPAND_SZ, data: sz('%LOCALAPPDATA%\\Programs\\3CXDesktopApp') },
          { name: 'Multi', type: REG_MULTI_SZ, data: Buffer.from('one\0two\0\0', 'utf16le') },
          { name: 'Tiny', type: REG_BINARY, data: Buffer.from([0xde, 0xad]) },
          { name: 'Big', type: REG_BINARY, data: Buffer.alloc(40_000, 0x5a) },
        ],
      },
    ],
  };

  it('reads every subkey-list kind (lf, lh, li, ri) and every value form', async () => {
    const buf = writeHive(spec);
    const h = await openBuffer(buf);
    for (const [key, prefix] of [['ViaLf', 'lf'], ['ViaLh', 'lh'], ['ViaLi', 'li'], ['ViaRi', 'ri']] as const) {
      const k = await h.openPath([key]);
      const subs = await h.subkeys(k!);
      expect(subs.map((s) => s.name)).toEqual(Array.from({ length: 10 }, (_, i) => `${prefix}${i}`));
      expect(await valuesOf(h, subs[7]!)).toEqual({ Index: 'REG_DWORD:0x7' });
    }
    const uni = await h.openPath(['TÉLÉPHONE ☎']);
    expect(uni?.name).toBe('Téléphone ☎');
    const vals = await h.values(uni!);
    expect(vals.map((v) => v.name)).toEqual(['', 'Größe ☎', 'Path', 'Multi', 'Tiny', 'Big']);
    expect(hiveString(vals[1]!)).toBe('ünïcode ☎ value');
    expect(regValueFromHive(vals[0]!)).toEqual({ name: '(Default)', type: 'REG_SZ', data: 'default value' });
    expect(regValueFromHive(vals[2]!)).toEqual({ name: 'Path', type: 'REG_EXPAND_SZ', data: '%LOCALAPPDATA%\\Programs\\3CXDesktopApp' });
    expect(regValueFromHive(vals[3]!).data).toBe('one\\0two');
    expect(regValueFromHive(vals[4]!)).toEqual({ name: 'Tiny', type: 'REG_BINARY', data: 'DEAD' });
    expect(vals[5]!.data.equals(Buffer.alloc(40_000, 0x5a))).toBe(true); // big data, three segments
  });

  it('hivex reads the same hive the same way (so the writer is not only our own reading of the format)', needsTools('hivexget'), () => {
    const dir = tmp();
    const file = path.join(dir, 'own.hive');
    writeFileSync(file, writeHive(spec));
    expect(hivexget(file, '\\ViaRi\\ri7')).toMatch(/^"Index"=dword:00000007$/m);
    expect(hivexget(file, '\\ViaLi\\li3')).toMatch(/^"Index"=dword:00000003$/m);
    const uni = hivexget(file, '\\Téléphone ☎');
    expect(uni).toMatch(/^"@"="default value"$/m);
    expect(uni).toMatch(/^"Größe ☎"="ünïcode ☎ value"$/m);
    // The big value comes back whole from hivex too (40,000 bytes as hex pairs).
    const big = /"Big"=hex\(3\):([0-9a-f,\\\s]+)/.exec(uni)?.[1]?.replace(/[^0-9a-f]/g, '');
    expect(big).toBe('5a'.repeat(40_000));
  });
});

describe('RegistryHive on damaged input', () => {
  const good = () => writeHive({ name: 'ROOT', subkeys: [{ name: 'Software', subkeys: [{ name: 'A', values: [{ name: 'V', type: REG_SZ, data: sz('x'.repeat(40)) }] }] }] });

  it('refuses what is not a usable hive, naming why', async () => {
    const cases: Array<[string, Buffer, RegExp]> = [
      ['empty', Buffer.alloc(0), /too small/],
      ['not a hive', Buffer.concat([Buffer.from('MZ'), Buffer.alloc(9000)]), /no "regf" signature/],
      ['bad checksum', (() => { const b = good(); b.writeUInt32LE(b.readUInt32LE(508) ^ 1, 508); return b; })(), /checksum/],
      ['version 2.5', (() => { const b = good(); b.writeUInt32LE(2, 20); fixChecksum(b); return b; })(), /unsupported hive format version 2\.5/],
      ['a log file', (() => { const b = good(); b.writeUInt32LE(1, 28); fixChecksum(b); return b; })(), /transaction log/],
      ['bins past the end', (() => { const b = good(); b.writeUInt32LE(1 << 20, 40); fixChecksum(b); return b; })(), /does not fit the file/],
      ['root outside', (() => { const b = good(); b.writeUInt32LE(0x7ffff8, 36); fixChecksum(b); return b; })(), /key cell offset 0x7ffff8 is outside the hive bins/],
      ['root not a key', (() => { const b = good(); b.writeUInt32LE(0x20, 36); fixChecksum(b); return b; })(), /cell 0x20 is not a key \(nk\) record/],
    ];
    for (const [what, buf, why] of cases) {
      const err = await openBuffer(buf, what).then(() => undefined, (e: unknown) => e);
      expect(err, what).toBeInstanceOf(HiveError);
      expect((err as Error).message, what).toMatch(why);
      expect((err as Error).message.startsWith(`${what}: `), what).toBe(true);
    }
  });

  it('says when the hive was not cleanly closed', async () => {
    const h = await openBuffer(writeHive({ name: 'ROOT' }, { dirty: true }));
    expect(h.dirty).toBe(true);
  });

  it('a damaged subkey list or value is an error for that key only', async () => {
    const buf = good();
    const h0 = await openBuffer(buf);
    const a = await h0.openPath(['Software', 'A']);
    const software = await h0.openPath(['Software']);
    // Break the value's vk signature.
    const vkAt = 4096 + 4 + (await (async () => {
      const list = buf.readUInt32LE(4096 + 4 + a!.offset + 40);
      return buf.readUInt32LE(4096 + 4 + list);
    })());
    buf.write('xx', vkAt, 'latin1');
    // Break the subkey list signature of Software.
    buf.write('zz', 4096 + 4 + software!.subkeyListOffset, 'latin1');
    const h = await openBuffer(buf);
    await expect(h.values(a!)).rejects.toThrow(/is not a value \(vk\) record/);
    await expect(h.subkeys(software!)).rejects.toThrow(/is not a subkey list \(signature "zz"\)/);
  });

  it('2,000 mutated hives: every failure is a HiveError, every walk ends', async () => {
    const base = writeHive({ name: 'ROOT', subkeys: [{ name: 'Software', list: 'ri', subkeys: tenKeys('k').map((k) => ({ ...k, values: [...(k.values ?? []), { name: 'Big', type: REG_BINARY, data: Buffer.alloc(20_000, 1) }] })) }] });
    let seed = 12345;
    const rand = (n: number) => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return seed % n;
    };
    let opened = 0;
    for (let i = 0; i < 2000; i++) {
      const buf = Buffer.from(base);
      // Mutations land in the hive bins (the base block has a checksum) and sometimes in it.
      for (let m = 0; m < 1 + rand(4); m++) {
        const at = rand(8) === 0 ? rand(4096) : 4096 + rand(buf.length - 4096);
        buf[at] = rand(256);
      }
      if (rand(2) === 0) fixChecksum(buf);
      const file = rand(10) === 0 ? buf.subarray(0, rand(buf.length)) : buf;
      try {
        const h = await openBuffer(file);
        opened++;
        const walk = async (k: HiveKey, depth: number): Promise<void> => {
          if (depth > 4) return;
          await h.values(k).catch((e: unknown) => expect(e).toBeInstanceOf(HiveError));
          const subs = await h.subkeys(k).catch((e: unknown) => {
            expect(e).toBeInstanceOf(HiveError);
            return [];
          });
          for (const s of subs.slice(0, 20)) await walk(s, depth + 1);
        };
        await walk(await h.root(), 0);
      } catch (e) {
        expect(e).toBeInstanceOf(HiveError);
      }
    }
    expect(opened).toBeGreaterThan(100);
  });
});
