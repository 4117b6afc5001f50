/**
 * Parsers for the output of Apple's code-signing tools (all three print to stderr):
 *
 * `codesign -dv --verbose=4 PATH` (macOS 12-14), key=value lines such as
 *     Executable=/Applications/3CX Desktop App.app/Contents/MacOS/3CX Desktop App
 *     Identifier=com.electron.3cx-desktop-app
 *     Format=app bundle with Mach-O universal (x86_64 arm64)
 *     CodeDirectory v=20500 size=1234 flags=0x10000(runtime) hashes=28+7 location=embedded
 *     Hash type=sha256 size=32
 *     CDHash=5c1d1d6b1a...
 *     Signature=adhoc                      (ad-hoc signatures only)
 *     Authority=Developer ID Application: 3CX (33CF4654HL)   (leaf -> root, one per line)
 *     Timestamp=Mar 22, 2023 at 11:11:09 AM
 *     TeamIdentifier=33CF4654HL            ("not set" when ad-hoc)
 *     Runtime Version=12.3.0
 * or "PATH: code object is not signed at all".
 *
 * `codesign --verify --deep --strict --verbose=2 PATH`: exit 0 with "PATH: valid on disk" and
 * "PATH: satisfies its Designated Requirement"; exit 1 with the reason, e.g.
 * "PATH: a sealed resource is missing or invalid" followed by "file modified: ...".
 *
 * `spctl --assess -vv --type exec PATH`: "PATH: accepted" / "PATH: rejected" (exit 3),
 * then "source=Notarized Developer ID" (or "Unnotarized Developer ID", "no usable
 * signature"...) and "origin=Developer ID Application: NAME (TEAMID)".
 *
 * All parsers are pure and accept any text.
 *
 * Checked against real output published by others (tests/fixtures/macos/codesign/README.md,
 * "real captures (published)"): `codesign -dvv` and `spctl -a -vv -t execute` on Google
 * Chrome (fleetdm/fleet issue #23476): several CodeDirectory flags
 * ("0x12a00(kill,restrict,library-validation,runtime)"), the three-certificate authority
 * chain, TeamIdentifier, "Notarized Developer ID". Parsed as is, no change needed. The
 * other shapes above are still from modelled fixtures only.
 */
export interface CodesignDisplay {
  notSigned: boolean;
  /** The tool's error line when it printed no key=value data. */
  error?: string;
  executable?: string;
  identifier?: string;
  format?: string;
  codeDirectoryFlags?: string[];
  codeDirectoryFlagsValue?: number;
  hashType?: string;
  cdHash?: string;
  adHoc: boolean;
  authorities: string[];
  timestamp?: string;
  signedTime?: string;
  teamId?: string;
  runtimeVersion?: string;
}

export function parseCodesignDisplay(text: string): CodesignDisplay {
  const out: CodesignDisplay = { notSigned: false, adHoc: false, authorities: [] };
  let sawKey = false;
  const errors: string[] = [];
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trimEnd();
    if (!line) continue;
    if (/code object is not signed at all/.test(line)) {
      out.notSigned = true;
      continue;
    }
    const eq = line.indexOf('=');
    if (eq <= 0 || /^\S.*: /.test(line.slice(0, eq))) {
      errors.push(line);
      continue;
    }
    sawKey = true;
    const key = line.slice(0, eq);
    const value = line.slice(eq + 1);
    switch (key) {
      case 'Executable':
        out.executable = value;
        break;
      case 'Identifier':
        out.identifier = value;
        break;
      case 'Format':
        out.format = value;
        break;
      case 'CodeDirectory v': {
        const flags = /flags=(0x[0-9a-f]+)(?:\(([^)]*)\))?/i.exec(value);
        if (flags) {
          out.codeDirectoryFlagsValue = parseInt(flags[1]!, 16);
          out.codeDirectoryFlags = flags[2] ? flags[2].split(',').filter(Boolean) : [];
        }
        break;
      }
      case 'Hash type':
        out.hashType = value.split(/\s+/)[0];
        break;
      case 'CDHash':
        out.cdHash = value.toLowerCase();
        break;
      case 'Signature':
        if (value === 'adhoc') out.adHoc = true;
        break;
      case 'Authority':
        out.authorities.push(value);
        break;
      case 'Timestamp':
        out.timestamp = value;
        break;
      case 'Signed Time':
        out.signedTime = value;
        break;
      case 'TeamIdentifier':
        if (value !== 'not set') out.teamId = value;
        break;
      case 'Runtime Version':
        out.runtimeVersion = value;
        break;
      default:
        break;
    }
  }
  if (!sawKey && !out.notSigned && errors.length) out.error = errors.join('\n');
  return out;
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/**
 * codesign prints times in the machine's locale and time zone, e.g. "Mar 22, 2023 at
 * 11:11:09 AM" (en_US) or "22 Mar 2023 at 11:11:09" (en_GB). Both are read as local time;
 * other forms give undefined (the text is kept).
 */
export function parseCodesignTime(text: string): Date | undefined {
  let m = /^([A-Z][a-z]{2}) (\d{1,2}), (\d{4}) at (\d{1,2}):(\d{2}):(\d{2})(?:\s*([AP]M))?$/.exec(text.trim());
  let month: string, day: string, year: string;
  if (m) [month, day, year] = [m[1]!, m[2]!, m[3]!];
  else {
    m = /^(\d{1,2}) ([A-Z][a-z]{2}) (\d{4}) at (\d{1,2}):(\d{2}):(\d{2})(?:\s*([AP]M))?$/.exec(text.trim());
    if (!m) return undefined;
    [day, month, year] = [m[1]!, m[2]!, m[3]!];
  }
  const mon = MONTHS.indexOf(month);
  if (mon < 0) return undefined;
  let hour = Number(m[4]);
  if (m[7] === 'PM' && hour < 12) hour += 12;
  if (m[7] === 'AM' && hour === 12) hour = 0;
  const d = new Date(Number(year), mon, Number(day), hour, Number(m[5]), Number(m[6]));
  return Number.isNaN(d.getTime()) ? undefined : d;
}

export type CodesignVerifyOutcome = 'valid' | 'unsigned' | 'modified' | 'revoked' | 'invalid';

export interface CodesignVerify {
  outcome: CodesignVerifyOutcome;
  /** The reason lines, without the "PATH: " prefix; empty when valid. */
  message: string;
}

const MODIFIED = [
  /a sealed resource is missing or invalid/,
  /code or signature have been modified/,
  /code has no resources but signature indicates they must be present/,
  /resource envelope is obsolete/,
  /nested code is modified or invalid/,
  /main executable failed strict validation/,
  /file (modified|added|missing):/,
];

export function parseCodesignVerify(exitCode: number | null, text: string): CodesignVerify {
  const lines = text
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter(Boolean);
  const reasons = lines
    .filter((l) => !/: valid on disk$/.test(l) && !/: satisfies its Designated Requirement$/.test(l))
    .map((l) => l.replace(/^.*?: (?=[a-z])/, ''));
  const message = reasons.join('\n');
  if (exitCode === 0) return { outcome: 'valid', message };
  if (/not signed at all/.test(text)) return { outcome: 'unsigned', message };
  if (MODIFIED.some((re) => re.test(text))) return { outcome: 'modified', message };
  if (/revoked/i.test(text)) return { outcome: 'revoked', message };
  return { outcome: 'invalid', message: message || `codesign --verify exited ${exitCode ?? 'abnormally'}` };
}

export interface SpctlAssessment {
  accepted: boolean;
  /** "rejected (the code is valid but does not seem to be an app)": not an app bundle. */
  notAnApp: boolean;
  source?: string;
  origin?: string;
  message: string;
}

export function parseSpctl(exitCode: number | null, text: string): SpctlAssessment | undefined {
  const lines = text.split(/\r?\n/).map((l) => l.trim()).filter(Boolean);
  const verdict = lines.find((l) => /: (accepted|rejected)\b/.test(l));
  const other = lines.find((l) => /^\S.*: /.test(l) && !l.includes('='));
  if (!verdict && !other) return undefined;
  const out: SpctlAssessment = {
    accepted: !!verdict && / accepted\b/.test(verdict) && exitCode === 0,
    notAnApp: !!verdict && /does not seem to be an app/.test(verdict),
    message: (verdict ?? other!).replace(/^.*?: (?=(accepted|rejected|[a-z]))/, ''),
  };
  for (const l of lines) {
    if (l.startsWith('source=')) out.source = l.slice(7);
    else if (l.startsWith('origin=')) out.origin = l.slice(7);
  }
  return out;
}
