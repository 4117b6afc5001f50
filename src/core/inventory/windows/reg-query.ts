/**
 * Parses the text `reg query <KEY> [/s]` prints (reg.exe on Windows 10 and 11; built from
 * recorded outputs of `reg query ...\Uninstall /s`, `reg query HKU` and `reg query
 * ...\ProfileList /s`, see tests/fixtures/windows/reg/README.md):
 *
 *   <blank line>
 *   HKEY_LOCAL_MACHINE\SOFTWARE\Microsoft\Windows\CurrentVersion\Uninstall\7-Zip
 *       DisplayName    REG_SZ    7-Zip 23.01 (x64)
 *       NoModify    REG_DWORD    0x1
 *   <blank line>
 *   HKEY_LOCAL_MACHINE\...\Uninstall\AddressBook          (a key without values)
 *
 * A key line starts at column 0 with the full root name (HKEY_LOCAL_MACHINE, HKEY_USERS...).
 * A value line is four spaces, the name, four spaces, the type, four spaces and the data
 * (nothing after the type when the data is empty; some copies lose the trailing spaces).
 * The name may contain spaces ("Inno Setup: App Path") and the data anything, so the line
 * is split at the first "    REG_<TYPE>" that is followed by four spaces or the line end.
 * Data is kept as printed: REG_DWORD/REG_QWORD as "0x" hex, REG_BINARY/REG_NONE as hex
 * digit pairs, REG_MULTI_SZ with "\0" between the strings; the helpers below decode them.
 * The default value's name is printed localised ("(Default)", "(Standard)", "(默认)").
 * With /f, reg ends with "End of search: N match(es) found."; an "ERROR: ..." line (reg
 * prints those on stderr, but a merged stream may carry one) is collected as an error.
 *
 * Pure and total: any other line becomes a problem naming its line number; nothing throws.
 */

export interface RegValue {
  /** As printed; the unnamed default value shows as "(Default)" in its localised form. */
  name: string;
  /** REG_SZ, REG_EXPAND_SZ, REG_MULTI_SZ, REG_DWORD, REG_QWORD, REG_BINARY, REG_NONE... */
  type: string;
  /** As printed (see the module comment); '' when empty. */
  data: string;
}

export interface RegKey {
  /** Full path as printed, e.g. HKEY_USERS\S-1-5-21-...\Software\...\Uninstall\{GUID}. */
  path: string;
  values: RegValue[];
}

export interface RegQueryProblem {
  /** 1-based line number in the output. */
  line: number;
  message: string;
}

export interface RegQueryParse {
  keys: RegKey[];
  /** "ERROR: ..." lines reg.exe printed, without the prefix. */
  errors: string[];
  /** From a closing "End of search: N match(es) found." line. */
  matchCount?: number;
  problems: RegQueryProblem[];
}

/** At most this many problems are listed; a summary line counts the rest. */
export const MAX_PROBLEMS = 50;

const KEY_LINE = /^HKEY_(?:LOCAL_MACHINE|CURRENT_USER|USERS|CLASSES_ROOT|CURRENT_CONFIG)(?:\\.*)?$/;
const VALUE_LINE = /^ {4}(.*?) {4}(REG_[A-Z0-9_]+)(?: {4}(.*))?$/;
const END_OF_SEARCH = /^End of search: (\d+) match(?:es|\(es\))? found\.?$/;
const KNOWN_TYPES = new Set([
  'REG_SZ',
  'REG_EXPAND_SZ',
  'REG_MULTI_SZ',
  'REG_DWORD',
  'REG_DWORD_BIG_ENDIAN',
  'REG_QWORD',
  'REG_BINARY',
  'REG_NONE',
  'REG_LINK',
  'REG_RESOURCE_LIST',
  'REG_FULL_RESOURCE_DESCRIPTOR',
  'REG_RESOURCE_REQUIREMENTS_LIST',
]);
const HEX_PAIRS = /^(?:[0-9A-Fa-f]{2})*$/;
const DATA_FORMAT: Record<string, RegExp> = {
  REG_DWORD: /^0x[0-9a-fA-F]{1,8}$/,
  REG_DWORD_BIG_ENDIAN: /^0x[0-9a-fA-F]{1,8}$/,
  REG_QWORD: /^0x[0-9a-fA-F]{1,16}$/,
  REG_BINARY: HEX_PAIRS,
  REG_NONE: HEX_PAIRS,
};

function excerpt(line: string): string {
  return JSON.stringify(line.length > 120 ? `${line.slice(0, 120)}...` : line);
}

export function parseRegQuery(text: string): RegQueryParse {
  const result: RegQueryParse = { keys: [], errors: [], problems: [] };
  let dropped = 0;
  const problem = (line: number, message: string) => {
    if (result.problems.length < MAX_PROBLEMS) result.problems.push({ line, message });
    else dropped++;
  };
  const lines = text.replace(/^\uFEFF/, '').split(/\r?\n/);
  let current: RegKey | undefined;
  lines.forEach((raw, i) => {
    const n = i + 1;
    const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    if (line.trim() === '') return;
    if (KEY_LINE.test(line)) {
      current = { path: line, values: [] };
      result.keys.push(current);
      return;
    }
    const value = VALUE_LINE.exec(line);
    if (value) {
      const [, name, type, data = ''] = value as unknown as [string, string, string, string | undefined];
      if (!current) return problem(n, `value line before any key line: ${excerpt(line)}`);
      if (!KNOWN_TYPES.has(type)) return problem(n, `unknown value type ${type}: ${excerpt(line)}`);
      const format = DATA_FORMAT[type];
      if (format && !format.test(data)) return problem(n, `${type} data is not in the form reg.exe prints: ${excerpt(line)}`);
      current.values.push({ name, type, data });
      return;
    }
    if (line.startsWith('ERROR: ')) {
      result.errors.push(line.slice('ERROR: '.length).trim());
      return;
    }
    const end = END_OF_SEARCH.exec(line);
    if (end) {
      result.matchCount = Number(end[1]);
      return;
    }
    problem(n, `unrecognised line: ${excerpt(line)}`);
  });
  if (dropped > 0) result.problems.push({ line: lines.length, message: `${dropped} more unrecognised lines not listed` });
  return result;
}

/** The last path segment: the key's own name. */
export function keyName(path: string): string {
  const i = path.lastIndexOf('\\');
  return i < 0 ? path : path.slice(i + 1);
}

/** A value's data by name, case-insensitively (registry names are), if it has that type. */
export function stringValue(key: RegKey, name: string): string | undefined {
  const wanted = name.toLowerCase();
  const v = key.values.find((x) => x.name.toLowerCase() === wanted);
  return v && (v.type === 'REG_SZ' || v.type === 'REG_EXPAND_SZ') ? v.data : undefined;
}

/** REG_DWORD "0x1f" -> 31. */
export function dwordValue(key: RegKey, name: string): number | undefined {
  const wanted = name.toLowerCase();
  const v = key.values.find((x) => x.name.toLowerCase() === wanted);
  return v && v.type === 'REG_DWORD' ? Number.parseInt(v.data.slice(2), 16) : undefined;
}

/** REG_MULTI_SZ "a\0b\0c" -> ["a", "b", "c"]; '' -> []. */
export function multiStringValue(data: string): string[] {
  return data === '' ? [] : data.split('\\0');
}
