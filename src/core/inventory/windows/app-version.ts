/**
 * The one application version Vigil compares against a pack's rules, chosen from what a
 * VERSIONINFO resource holds.
 *
 * What electron-builder writes (app-builder-lib WinPackager.signAndEditResources, through
 * rcedit): `--set-file-version <buildVersion>` and `--set-product-version
 * <getVersionInWeirdWindowsForm()>`. rcedit stores each both as the VS_FIXEDFILEINFO number
 * and as the same-named StringFileInfo string. buildVersion is package.json's version
 * ("18.12.416"), or "18.12.416.<n>" when the build machine set BUILD_NUMBER; the "weird
 * Windows form" is always four parts, "18.12.416.0" or "18.12.416.<n>". So one executable
 * typically says 18.12.416.0 in its fixed info and "18.12.416" in one of its strings.
 *
 * Decision:
 * 1. The fixed info wins over the strings. It is binary and always four numbers; the strings
 *    are free text any tool may set to anything ("18.12.416 beta", "1, 0, 0, 1"). The
 *    product version is preferred to the file version: it is the version of the application
 *    the file ships with, which is what advisories name. An all-zero fixed version is
 *    treated as absent (some tools fill the strings and leave the numbers at 0.0.0.0).
 * 2. The fourth part is dropped when it is 0, because the packs, like 3CX's advisories, name
 *    three-part versions ("18.12.416"); electron-builder's fourth part is a build counter,
 *    not part of the version the vendor published.
 * 3. A non-zero fourth part is also dropped when a version string says the same three
 *    parts without it: that string is the package.json version, and the fourth part is
 *    that build's BUILD_NUMBER. Otherwise it is kept, since for software that is not
 *    electron-built (e.g. Chrome's 120.0.6099.109) the fourth part is significant, and
 *    inventing a shorter version could make a rule match that should not.
 * 4. Without fixed info, the ProductVersion string, then FileVersion, is used: its leading
 *    dotted number (commas as rc.exe's old "1, 0, 0, 1" style accepted), trimmed as in 2.
 *
 * Version comparison itself (verdict/classify-version.ts) treats a missing part as 0, so
 * "18.12.416" and "18.12.416.0" compare equal either way; the trimming keeps what the report
 * shows identical to what the advisory says.
 */
import type { PeVersionInfo } from './version-info-block.js';

/** The leading dotted number of a version string, up to four parts: "18, 12, 416, 0 beta" -> [18,12,416,0]. */
export function leadingVersionNumbers(text: string): number[] | undefined {
  const m = /^\s*v?(\d{1,9}(?:\s*[.,]\s*\d{1,9}){0,3})/i.exec(text);
  if (!m) return undefined;
  return m[1]!.split(/\s*[.,]\s*/).map((n) => Number.parseInt(n, 10));
}

function fixedParts(version: string | undefined): number[] | undefined {
  if (!version) return undefined;
  const parts = version.split('.').map((n) => Number.parseInt(n, 10));
  if (parts.length !== 4 || parts.some((n) => !Number.isInteger(n))) return undefined;
  return parts.every((n) => n === 0) ? undefined : parts;
}

const join = (parts: readonly number[]) => parts.join('.');

function dropZeroFourth(parts: number[]): number[] {
  return parts.length === 4 && parts[3] === 0 ? parts.slice(0, 3) : parts;
}

export function normaliseAppVersion(info: PeVersionInfo): string | undefined {
  const texts = [info.strings.ProductVersion, info.strings.FileVersion]
    .filter((s): s is string => typeof s === 'string')
    .map(leadingVersionNumbers)
    .filter((p): p is number[] => p !== undefined);
  const fixed = fixedParts(info.fixedProductVersion) ?? fixedParts(info.fixedFileVersion);
  if (fixed) {
    if (fixed[3] === 0) return join(fixed.slice(0, 3));
    const three = join(fixed.slice(0, 3));
    if (texts.some((t) => t.length === 3 && join(t) === three)) return three;
    return join(fixed);
  }
  const text = texts[0];
  return text ? join(dropZeroFourth(text)) : undefined;
}
