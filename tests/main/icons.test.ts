/**
 * Regenerates every icon from assets/icons/vigil-icons.svg into a temp folder with
 * Debian's Chromium (scripts/make-icons.ts) and checks the result: names, PNG signature
 * and dimensions, the ICO directory, template images being black + alpha, and that the
 * committed assets/ holds the same set of files with the same dimensions.
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildIco, iconPlan, makeIcons, pngDimensions, STATES, type PlannedIcon } from '../../scripts/make-icons.js';
import { trayIconFile } from '../../src/main/tray-icon-state.js';
import { decodePng, pixel } from './png.js';
import { needsTools, toolPath } from '../helpers/system-tool.js';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const assets = path.join(repo, 'assets');

interface IcoEntry {
  width: number;
  height: number;
  bitCount: number;
  planes: number;
  png: Buffer;
}

function readIco(buf: Buffer): IcoEntry[] {
  expect(buf.readUInt16LE(0)).toBe(0);
  expect(buf.readUInt16LE(2)).toBe(1);
  const n = buf.readUInt16LE(4);
  const out: IcoEntry[] = [];
  for (let i = 0; i < n; i++) {
    const e = 6 + i * 16;
    const size = buf.readUInt32LE(e + 8);
    const offset = buf.readUInt32LE(e + 12);
    expect(offset + size).toBeLessThanOrEqual(buf.length);
    out.push({
      width: buf.readUInt8(e) || 256,
      height: buf.readUInt8(e + 1) || 256,
      planes: buf.readUInt16LE(e + 4),
      bitCount: buf.readUInt16LE(e + 6),
      png: buf.subarray(offset, offset + size),
    });
  }
  return out;
}

function listFiles(dir: string, rel = ''): string[] {
  return readdirSync(path.join(dir, rel), { withFileTypes: true }).flatMap((d) =>
    d.isDirectory() ? listFiles(dir, path.join(rel, d.name)) : [path.join(rel, d.name).split(path.sep).join('/')],
  );
}

function checkIcon(dir: string, icon: PlannedIcon) {
  const buf = readFileSync(path.join(dir, icon.file));
  if (icon.kind === 'png') {
    expect(pngDimensions(buf)).toEqual({ width: icon.sizes[0], height: icon.sizes[0] });
  } else {
    const entries = readIco(buf);
    expect(entries.map((e) => e.width)).toEqual(icon.sizes);
    for (const e of entries) {
      expect(e.height).toBe(e.width);
      expect(e.planes).toBe(1);
      expect(e.bitCount).toBe(32);
      expect(pngDimensions(e.png)).toEqual({ width: e.width, height: e.height });
    }
  }
}

describe('ICO writer', () => {
  it('writes a directory that points at each PNG', () => {
    const fake = (n: number) => {
      const b = Buffer.alloc(40);
      Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]).copy(b);
      b.write('IHDR', 12, 'latin1');
      b.writeUInt32BE(n, 16);
      b.writeUInt32BE(n, 20);
      return b;
    };
    const ico = buildIco([{ size: 256, png: fake(256) }, { size: 16, png: fake(16) }]);
    const entries = readIco(ico);
    expect(entries.map((e) => e.width)).toEqual([16, 256]);
    expect(ico.readUInt8(6 + 16)).toBe(0); // 256 is stored as 0
    expect(ico.readUInt32LE(6 + 12)).toBe(6 + 32);
    expect(() => buildIco([{ size: 300, png: fake(300) }])).toThrow(RangeError);
  });
});

describe('committed icons', () => {
  it('every planned file is in assets/ with the planned dimensions', () => {
    for (const icon of iconPlan()) checkIcon(assets, icon);
  });

  it('every tray icon the app asks for exists', () => {
    for (const s of STATES) for (const p of ['win32', 'darwin', 'linux']) expect(existsSync(path.join(assets, trayIconFile(s, p)))).toBe(true);
    expect(existsSync(path.join(assets, 'app/vigil.ico'))).toBe(true);
    expect(existsSync(path.join(assets, 'app/vigil-256.png'))).toBe(true);
  });
});

describe('regenerating the icons with Chromium', needsTools('chromium'), () => {
  let out = '';
  beforeAll(async () => {
    out = mkdtempSync(path.join(tmpdir(), 'vigil-icons-'));
    await makeIcons({ outDir: out, chromiumPath: toolPath('chromium') });
  }, 120_000);

  it('writes exactly the committed set of files', () => {
    const generated = listFiles(out).sort();
    expect(generated).toEqual(iconPlan().map((p) => p.file).sort());
    const committed = listFiles(assets).filter((f) => !f.startsWith('icons/')).sort();
    expect(committed).toEqual(generated);
  });

  it('PNG signature, dimensions and ICO directories are right', () => {
    for (const icon of iconPlan()) checkIcon(out, icon);
  });

  it('tray PNGs: transparent corners, the status colour in the disc', () => {
    const expectColour: Record<string, (p: number[]) => boolean> = {
      ok: ([r, g, b]) => g! > r! + 40 && g! > b! + 40,
      attention: ([r, g, b]) => r! > 180 && g! > 120 && b! < 80,
      compromised: ([r, g, b]) => r! > 150 && g! < 80 && b! < 80,
      unknown: ([r, g, b]) => Math.abs(r! - g!) < 20 && Math.abs(g! - b!) < 25 && r! > 80 && r! < 160,
    };
    for (const s of STATES) {
      const img = decodePng(readFileSync(path.join(out, `tray/${s}-24@2x.png`)));
      expect(pixel(img, 0, 0)[3]).toBe(0);
      expect(pixel(img, 47, 47)[3]).toBe(0);
      const rim = pixel(img, 8, 24); // inside the disc, left of the glyph
      expect(rim[3]).toBe(255);
      expect(expectColour[s]!(rim)).toBe(true);
    }
  });

  it('macOS template images are black + alpha, with the glyph cut out', () => {
    for (const s of STATES) {
      const img = decodePng(readFileSync(path.join(out, `tray/${s}Template@2x.png`)));
      let opaque = 0;
      for (let y = 0; y < img.height; y++)
        for (let x = 0; x < img.width; x++) {
          const [r, g, b, a] = pixel(img, x, y);
          if (a > 0) expect([r, g, b]).toEqual([0, 0, 0]);
          if (a === 255) opaque++;
        }
      expect(opaque).toBeGreaterThan(200);
      // The disc's centre column holds glyph ink in every state, so some of it is cut out.
      let holes = 0;
      for (let y = 8; y < 24; y++) if (pixel(img, 16, y)[3] < 128) holes++;
      expect(holes).toBeGreaterThan(0);
    }
  });

  it('the same state looks different without colour: the glyphs differ', () => {
    const alpha = (s: string) => decodePng(readFileSync(path.join(out, `tray/${s}Template@2x.png`))).data.filter((_, i) => i % 4 === 3);
    const masks = STATES.map(alpha);
    for (let i = 0; i < masks.length; i++)
      for (let j = i + 1; j < masks.length; j++) {
        let diff = 0;
        for (let k = 0; k < masks[i]!.length; k++) if (Math.abs(masks[i]![k]! - masks[j]![k]!) > 128) diff++;
        expect(diff).toBeGreaterThan(20);
      }
  });
});
