/**
 * Property lists, XML or binary, from bytes: the entry point the macOS inventory uses to
 * read an app bundle's Contents/Info.plist. Pure: no I/O, no globals.
 *
 * The format is told by the first bytes, as CoreFoundation does: "bplist00" is binary,
 * anything else is read as UTF-8 XML. Every failure, whatever the input, is a PlistError;
 * nothing else escapes, parsing always ends, and the limits (PlistLimits) bound its time
 * and memory. See plist-value.ts for how plist types map to JS values.
 */
import { PlistError } from './plist-error.js';
import { parseBinaryPlist } from './plist-binary.js';
import { parseXmlPlist } from './plist-xml.js';
import { DEFAULT_PLIST_LIMITS, type PlistLimits, type PlistValue } from './plist-value.js';

export { PlistError, type PlistFormat, type PlistLocation } from './plist-error.js';
export {
  DEFAULT_PLIST_LIMITS,
  isPlistDict,
  type PlistDict,
  type PlistLimits,
  type PlistValue,
} from './plist-value.js';

const BINARY_MAGIC = 'bplist00';

function startsWithAscii(buf: Uint8Array, text: string): boolean {
  if (buf.length < text.length) return false;
  for (let i = 0; i < text.length; i += 1) if (buf[i] !== text.charCodeAt(i)) return false;
  return true;
}

export function parsePlist(buf: Uint8Array, limits: Partial<PlistLimits> = {}): PlistValue {
  const effective: PlistLimits = { ...DEFAULT_PLIST_LIMITS, ...limits };
  if (buf.length === 0) throw new PlistError('unknown', 'empty input', { offset: 0 });
  if (buf.length > effective.maxBytes) {
    throw new PlistError('unknown', `input of ${buf.length} bytes is over the ${effective.maxBytes}-byte limit`, {
      offset: effective.maxBytes,
    });
  }
  if (startsWithAscii(buf, 'bplist')) {
    if (!startsWithAscii(buf, BINARY_MAGIC)) {
      // bplist15/16/17 are newer private formats; nothing in an app bundle uses them.
      const version = Buffer.from(buf.subarray(6, 8)).toString('latin1');
      throw new PlistError('binary', `unsupported binary plist version ${JSON.stringify(version)}`, { offset: 6 });
    }
    return parseBinaryPlist(buf, effective);
  }
  if ((buf[0] === 0xfe && buf[1] === 0xff) || (buf[0] === 0xff && buf[1] === 0xfe)) {
    throw new PlistError('xml', 'UTF-16 text is not supported (plists are read as UTF-8)', { line: 1, column: 1 });
  }
  return parseXmlPlist(buf, effective);
}
