/**
 * Generates every tray and app icon from the one vector source,
 * assets/icons/vigil-icons.svg, and writes them under assets/ (or --out DIR).
 *
 *   npx tsx scripts/make-icons.ts [--out DIR]
 *   npx tsx scripts/make-icons.ts --sheet docs/img/tray-icons.png   (README overview)
 *
 * Rasteriser: Debian's Chromium driven by playwright-core (the only SVG renderer on the
 * build machines), each icon an element screenshot with a transparent background. The
 * outputs are committed, so building the app never needs Chromium; tests/main/icons.test.ts
 * regenerates into a temp folder and checks names, formats and sizes.
 *
 * What is written (state = ok | attention | compromised | unknown):
 *   tray/<state>-<16|24|32|48>.png and @2x twins   Linux tray, notifications
 *   tray/<state>.ico                                Windows tray: 16–64 px (100–400 % scaling)
 *   tray/<state>Template.png, …Template@2x.png      macOS menu bar: black + alpha, 16 / 32 px
 *   app/vigil-<16…1024>.png, app/vigil.ico          window / installer / dock icon
 *
 * The .ico container is written here (buildIco): a 6-byte ICONDIR, one 16-byte
 * ICONDIRENTRY per image, then the images as PNG (allowed since Windows Vista).
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Page } from 'playwright-core';

const root = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
export const ICON_SOURCE = path.join(root, 'assets/icons/vigil-icons.svg');

export const STATES = ['ok', 'attention', 'compromised', 'unknown'] as const;
export type IconState = (typeof STATES)[number];
export const TRAY_PNG_SIZES = [16, 24, 32, 48] as const;
export const TRAY_ICO_SIZES = [16, 20, 24, 32, 40, 48, 64] as const;
export const TEMPLATE_SIZE = 16;
export const APP_PNG_SIZES = [16, 32, 48, 64, 128, 256, 512, 1024] as const;
export const APP_ICO_SIZES = [16, 24, 32, 48, 64, 128, 256] as const;

export interface PlannedIcon {
  /** Path relative to the output folder. */
  file: string;
  kind: 'png' | 'ico';
  state: IconState | 'app';
  variant: 'color' | 'template';
  /** Pixel sizes: one for a PNG, several for an ICO. */
  sizes: number[];
}

/** Every file the script writes, in order. */
export function iconPlan(): PlannedIcon[] {
  const plan: PlannedIcon[] = [];
  for (const state of STATES) {
    for (const s of TRAY_PNG_SIZES) {
      plan.push({ file: `tray/${state}-${s}.png`, kind: 'png', state, variant: 'color', sizes: [s] });
      plan.push({ file: `tray/${state}-${s}@2x.png`, kind: 'png', state, variant: 'color', sizes: [s * 2] });
    }
    plan.push({ file: `tray/${state}.ico`, kind: 'ico', state, variant: 'color', sizes: [...TRAY_ICO_SIZES] });
    plan.push({ file: `tray/${state}Template.png`, kind: 'png', state, variant: 'template', sizes: [TEMPLATE_SIZE] });
    plan.push({ file: `tray/${state}Template@2x.png`, kind: 'png', state, variant: 'template', sizes: [TEMPLATE_SIZE * 2] });
  }
  for (const s of APP_PNG_SIZES) plan.push({ file: `app/vigil-${s}.png`, kind: 'png', state: 'app', variant: 'color', sizes: [s] });
  plan.push({ file: 'app/vigil.ico', kind: 'ico', state: 'app', variant: 'color', sizes: [...APP_ICO_SIZES] });
  return plan;
}

/** Builds an .ico from PNG images (ascending size; 256 is written as 0 in the directory). */
export function buildIco(images: readonly { size: number; png: Buffer }[]): Buffer {
  const sorted = [...images].sort((a, b) => a.size - b.size);
  const header = Buffer.alloc(6);
  header.writeUInt16LE(0, 0); // reserved
  header.writeUInt16LE(1, 2); // type: icon
  header.writeUInt16LE(sorted.length, 4);
  const dir = Buffer.alloc(16 * sorted.length);
  let offset = header.length + dir.length;
  sorted.forEach((img, i) => {
    if (img.size < 1 || img.size > 256) throw new RangeError(`icon size ${img.size} out of range`);
    const e = i * 16;
    dir.writeUInt8(img.size === 256 ? 0 : img.size, e); // width
    dir.writeUInt8(img.size === 256 ? 0 : img.size, e + 1); // height
    dir.writeUInt8(0, e + 2); // colours in palette: none
    dir.writeUInt8(0, e + 3); // reserved
    dir.writeUInt16LE(1, e + 4); // colour planes
    dir.writeUInt16LE(32, e + 6); // bits per pixel
    dir.writeUInt32LE(img.png.length, e + 8);
    dir.writeUInt32LE(offset, e + 12);
    offset += img.png.length;
  });
  return Buffer.concat([header, dir, ...sorted.map((i) => i.png)]);
}

/** Width and height from a PNG's IHDR; throws if it is not a PNG. */
export function pngDimensions(buf: Buffer): { width: number; height: number } {
  const sig = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  if (buf.length < 24 || !buf.subarray(0, 8).equals(sig) || buf.toString('latin1', 12, 16) !== 'IHDR') throw new Error('not a PNG');
  return { width: buf.readUInt32BE(16), height: buf.readUInt32BE(20) };
}

/** The DOM calls the render callback makes, typed just enough (this file has no DOM lib). */
interface SvgNode {
  style: { display: string; setProperty(name: string, value: string): void };
  setAttribute(name: string, value: string): void;
  querySelector(selector: string): SvgNode | null;
  cloneNode(deep: boolean): SvgNode;
  append(...nodes: SvgNode[]): void;
  innerHTML: string;
}
interface IconPageScope {
  document: { getElementById(id: string): SvgNode | null; createElementNS(ns: string, tag: string): SvgNode };
}

async function render(page: Page, svg: string, state: IconState | 'app', variant: 'color' | 'template', px: number): Promise<Buffer> {
  await page.evaluate(
    ({ svg, state, variant, px }) => {
      const { document } = globalThis as unknown as IconPageScope;
      const host = document.getElementById('host')!;
      host.innerHTML = svg;
      const el = host.querySelector('svg')!;
      el.setAttribute('data-state', state);
      el.setAttribute('data-variant', variant);
      el.setAttribute('width', String(px));
      el.setAttribute('height', String(px));
      el.style.display = 'block';
      if (variant === 'template') {
        // Cut the glyph out of the black disc: a mask that is white everywhere but the glyph.
        const ns = 'http://www.w3.org/2000/svg';
        const glyph = el.querySelector(`.state-${state}`)!;
        const mask = document.createElementNS(ns, 'mask');
        mask.setAttribute('id', 'knockout');
        const bg = document.createElementNS(ns, 'rect');
        bg.setAttribute('width', '32');
        bg.setAttribute('height', '32');
        bg.setAttribute('fill', '#fff');
        mask.append(bg);
        const cut = glyph.cloneNode(true);
        cut.style.setProperty('--glyph', '#000');
        mask.append(cut);
        el.append(mask);
        el.querySelector('.disc')!.setAttribute('mask', 'url(#knockout)');
        glyph.style.display = 'none';
      }
    },
    { svg, state, variant, px },
  );
  const png = await page.locator('#host svg').screenshot({ omitBackground: true, animations: 'disabled' });
  const dim = pngDimensions(png);
  if (dim.width !== px || dim.height !== px) throw new Error(`rendered ${dim.width}x${dim.height}, wanted ${px}x${px}`);
  return png;
}

export interface MakeIconsOptions {
  outDir?: string;
  chromiumPath?: string;
  /** Only these files (relative paths); all when absent. */
  only?: (p: PlannedIcon) => boolean;
}

export async function makeIcons(opts: MakeIconsOptions = {}): Promise<PlannedIcon[]> {
  const outDir = opts.outDir ?? path.join(root, 'assets');
  const svg = readFileSync(ICON_SOURCE, 'utf8').replace(/^<\?xml[^>]*>\s*/, '');
  const plan = iconPlan().filter(opts.only ?? (() => true));
  const browser = await chromium.launch({
    executablePath: opts.chromiumPath ?? process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run', '--disable-sync', '--force-color-profile=srgb'],
  });
  try {
    const page = await browser.newPage({ viewport: { width: 1100, height: 1100 }, deviceScaleFactor: 1 });
    await page.setContent('<!doctype html><html><body style="margin:0;background:transparent"><div id="host"></div></body></html>');
    for (const icon of plan) {
      const file = path.join(outDir, icon.file);
      mkdirSync(path.dirname(file), { recursive: true });
      if (icon.kind === 'png') {
        writeFileSync(file, await render(page, svg, icon.state, icon.variant, icon.sizes[0]!));
      } else {
        const images = [];
        for (const size of icon.sizes) images.push({ size, png: await render(page, svg, icon.state, icon.variant, size) });
        writeFileSync(file, buildIco(images));
      }
    }
  } finally {
    await browser.close();
  }
  return plan;
}

/**
 * A labelled overview of the tray icons at real size and enlarged, on light, dark and
 * coloured taskbars, for the README (docs/img/tray-icons.png). Uses the files in
 * `assetsDir`, so it shows exactly what ships.
 */
export async function makeIconSheet(outFile: string, assetsDir = path.join(root, 'assets'), chromiumPath?: string): Promise<void> {
  const b64 = (f: string) => readFileSync(path.join(assetsDir, f)).toString('base64');
  const img = (f: string, w: number, alt: string) =>
    `<img alt="${alt}" src="data:image/png;base64,${b64(f)}" width="${w}" height="${w}" style="image-rendering:pixelated">`;
  const labels: Record<IconState, string> = { ok: 'OK', attention: 'Attention', compromised: 'Compromised', unknown: 'Unknown' };
  let rows = '';
  for (const [bg, fg, name] of [['#f3f3f3', '#1f2328', 'light taskbar'], ['#202020', '#f0f0f0', 'dark taskbar'], ['#2b5797', '#ffffff', 'coloured taskbar']] as const) {
    rows += `<tr style="background:${bg};color:${fg}"><th>${name}</th>`;
    for (const s of STATES) rows += `<td>${img(`tray/${s}-16.png`, 16, s)} ${img(`tray/${s}-24.png`, 24, s)} ${img(`tray/${s}-16@2x.png`, 32, s)} ${img(`tray/${s}Template@2x.png`, 32, s)} ${img(`tray/${s}-24.png`, 72, s)}</td>`;
    rows += '</tr>';
  }
  const head = `<tr><th></th>${STATES.map((s) => `<th>${labels[s]}</th>`).join('')}</tr>`;
  const html = `<!doctype html><body style="margin:0;font:13px system-ui,sans-serif"><table style="border-collapse:collapse" cellpadding="8">${head}${rows}</table>
    <p style="margin:6px 8px;color:#555">Each: 16 px, 24 px, 16 px @2x, macOS template @2x, 24 px enlarged.</p></body>`;
  const browser = await chromium.launch({
    executablePath: chromiumPath ?? process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run', '--disable-sync', '--force-color-profile=srgb'],
  });
  try {
    const page = await browser.newPage({ viewport: { width: 900, height: 300 }, deviceScaleFactor: 1 });
    await page.setContent(html);
    mkdirSync(path.dirname(outFile), { recursive: true });
    await page.locator('body').screenshot({ path: outFile });
  } finally {
    await browser.close();
  }
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const sheet = process.argv.indexOf('--sheet');
  if (sheet > 0) {
    const out = path.resolve(process.argv[sheet + 1] ?? 'docs/img/tray-icons.png');
    await makeIconSheet(out);
    console.log(`wrote ${out}`);
    process.exit(0);
  }
  const i = process.argv.indexOf('--out');
  const outDir = i > 0 ? path.resolve(process.argv[i + 1] ?? '') : undefined;
  const written = await makeIcons(outDir ? { outDir } : {});
  console.log(`wrote ${written.length} icon files to ${outDir ?? path.join(root, 'assets')}`);
}
