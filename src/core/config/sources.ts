/**
 * Where settings come from, one small adapter per place, each returning the values it
 * holds (already mapped to AgentConfigSchema's keys) or saying it is absent or unreadable.
 * Precedence and validation are effective.ts's job; an adapter only reads and converts.
 *
 * Machine policy (an administrator or an MDM/RMM wrote it; highest precedence):
 *   Windows  HKLM\SOFTWARE\Policies\Vigil (64-bit view), read with `reg query` and the
 *            project's reg.exe output parser. The MSI writes ServerUrl, EnrollToken, Tenant,
 *            AllowQuit, PackKeys and Autostart there as REG_SZ; Group Policy may write REG_DWORD or
 *            REG_MULTI_SZ. Value names match settings case-insensitively.
 *   macOS    /Library/Managed Preferences/com.vigil.agent.plist, which macOS writes from a
 *            configuration profile's com.vigil.agent payload (XML or binary plist).
 *   Linux    /etc/vigil/policy.json.
 * The per-machine settings file an installer or IT writes (next precedence):
 *   Windows  %ProgramData%\Vigil\config.json; macOS /Library/Application Support/Vigil/
 *   config.json; Linux /etc/vigil/config.json (or `--config FILE`).
 *
 * Conversions (registry and plist values are not always the JSON type the schema wants):
 * an empty string means "not set" (the MSI writes every value, empty when its property was
 * not given); numbers accept REG_DWORD or decimal text; booleans accept 1/0, true/false,
 * yes/no; lists accept REG_MULTI_SZ, an array, or text separated by ";"; trusted pack keys
 * (packKeys, the MSI's VIGIL_PACK_KEYS) accept `keyId:publicKey` text separated by ";", a
 * REG_MULTI_SZ of those, or a JSON array of { keyId, publicKey }. Anything else is
 * passed on unchanged, so the schema rejects it and the problem names the key and source.
 */
import { readFile } from 'node:fs/promises';
import * as path from 'node:path';
import type { CommandRunner } from '../os/command-runner.js';
import { parseRegQuery, type RegValue } from '../inventory/windows/reg-query.js';
import { isPlistDict, parsePlist, PlistError } from '../inventory/macos/plist.js';
import type { AgentConfigInput } from './schema.js';
import { convertPackKeys } from '../pack/trusted-keys.js';

export type SettingKey = keyof AgentConfigInput & string;
type SettingKind = 'string' | 'number' | 'boolean' | 'string-list' | 'pack-keys';

/** Every setting and the JSON type it takes; `satisfies` keeps it in step with the schema. */
export const SETTING_KINDS = {
  serverUrl: 'string',
  enrollToken: 'string',
  tenant: 'string',
  scanIntervalSec: 'number',
  heartbeatIntervalSec: 'number',
  watchIntervalSec: 'number',
  packs: 'string-list',
  packKeys: 'pack-keys',
  allowQuit: 'boolean',
  autostart: 'string',
  proxy: 'string',
  logLevel: 'string',
  stateDir: 'string',
  allowInsecureHttp: 'boolean',
} as const satisfies Record<SettingKey, SettingKind>;

export const SETTING_KEYS = Object.keys(SETTING_KINDS) as SettingKey[];
/** Settings never printed and never written to the state directory. */
export const SECRET_SETTINGS: ReadonlySet<SettingKey> = new Set<SettingKey>(['enrollToken']);
/** Settings holding paths, resolved against a settings file's folder when relative. */
const PATH_SETTINGS: ReadonlySet<SettingKey> = new Set<SettingKey>(['packs', 'stateDir']);

export type SourceKind = 'policy' | 'file';

export type SourceRead =
  | { state: 'absent' }
  | {
      state: 'present';
      /** Schema key -> converted value (not yet validated). */
      values: Partial<Record<SettingKey, unknown>>;
      /** Entries that were ignored (unknown names), each naming the entry. */
      notes: string[];
    }
  /** The place exists but cannot be read or parsed: its values are unknown, not absent. */
  | { state: 'error'; problem: string };

export interface ConfigSource {
  kind: SourceKind;
  /** How problems and `vigil config show` name it, e.g. "machine policy (/etc/vigil/policy.json)". */
  name: string;
  read(): Promise<SourceRead>;
}

const lowerKeys = new Map(SETTING_KEYS.map((k) => [k.toLowerCase(), k]));

/** The schema key a source's entry name stands for (case-insensitive), if any. */
export function settingKeyFor(name: string): SettingKey | undefined {
  return lowerKeys.get(name.toLowerCase());
}

const TRUE_WORDS = new Set(['1', 'true', 'yes', 'on']);
const FALSE_WORDS = new Set(['0', 'false', 'no', 'off']);

/**
 * Converts one raw value towards the JSON type of `key`. Returns `undefined` for "not set"
 * (an empty string or an empty list). Values that cannot be converted are returned as they
 * are, for the schema to reject with its own message.
 */
export function convertSetting(key: SettingKey, raw: unknown): unknown {
  if (raw === '' || raw === null || raw === undefined) return undefined;
  if (typeof raw === 'bigint') raw = Number(raw);
  const kind: SettingKind = SETTING_KINDS[key];
  switch (kind) {
    case 'string':
      return raw;
    case 'number':
      if (typeof raw === 'string' && /^\s*\d+\s*$/.test(raw)) return Number(raw.trim());
      return raw;
    case 'boolean':
      if (typeof raw === 'number' && (raw === 0 || raw === 1)) return raw === 1;
      if (typeof raw === 'string') {
        const w = raw.trim().toLowerCase();
        if (TRUE_WORDS.has(w)) return true;
        if (FALSE_WORDS.has(w)) return false;
      }
      return raw;
    case 'string-list': {
      let list: unknown = raw;
      if (typeof raw === 'string') list = raw.split(';');
      if (Array.isArray(list) && list.every((x) => typeof x === 'string')) {
        const items = (list as string[]).map((s) => s.trim()).filter((s) => s !== '');
        return items.length ? items : undefined;
      }
      return raw;
    }
    case 'pack-keys':
      return convertPackKeys(raw);
  }
}

function collect(entries: Iterable<[string, unknown]>, describe: (name: string) => string): { values: Partial<Record<SettingKey, unknown>>; notes: string[] } {
  const values: Partial<Record<SettingKey, unknown>> = {};
  const notes: string[] = [];
  for (const [name, raw] of entries) {
    const key = settingKeyFor(name);
    if (!key) {
      notes.push(`${describe(name)} is not a Vigil setting; ignored`);
      continue;
    }
    const v = convertSetting(key, raw);
    if (v !== undefined) values[key] = v;
  }
  return { values, notes };
}

/** A registry value as JSON-ish: REG_SZ text, REG_DWORD/QWORD number, REG_MULTI_SZ list. */
function registryData(v: RegValue): unknown {
  switch (v.type) {
    case 'REG_SZ':
    case 'REG_EXPAND_SZ':
      return v.data;
    case 'REG_DWORD':
    case 'REG_QWORD':
      return Number.parseInt(v.data.slice(2), 16);
    case 'REG_MULTI_SZ':
      return v.data === '' ? [] : v.data.split('\\0');
    default:
      return { registryType: v.type };
  }
}

export const WINDOWS_POLICY_KEY = 'HKLM\\SOFTWARE\\Policies\\Vigil';
const REG_NOT_FOUND = /unable to find|cannot find|not find|nicht finden|introuvable|no se puede encontrar/i;

/**
 * HKLM\SOFTWARE\Policies\Vigil through `reg query <key> /reg:64` (reg.exe prints the key
 * line, then one line per value; a missing key is exit code 1 with "ERROR: The system was
 * unable to find the specified registry key or value." on stderr). Subkeys are ignored.
 */
export function windowsPolicySource(runner: CommandRunner, key = WINDOWS_POLICY_KEY): ConfigSource {
  const name = `machine policy (${key})`;
  return {
    kind: 'policy',
    name,
    async read() {
      const res = await runner.run('reg', ['query', key, '/reg:64'], { timeoutMs: 15_000, maxBytes: 1024 * 1024 });
      if (res.code !== 0) {
        const message = `${res.stderr} ${res.stdout}`.trim();
        if (res.code === 1 && REG_NOT_FOUND.test(message)) return { state: 'absent' };
        return { state: 'error', problem: `reg query failed: ${res.error ?? (message.replace(/^ERROR:\s*/, '') || `exit code ${res.code}`)}` };
      }
      const parsed = parseRegQuery(res.stdout);
      const wanted = key.replace(/^HKLM\\/i, 'HKEY_LOCAL_MACHINE\\').toLowerCase();
      const own = parsed.keys.find((k) => k.path.toLowerCase() === wanted);
      if (!own) {
        if (parsed.problems.length) return { state: 'error', problem: `unreadable reg query output: line ${parsed.problems[0]!.line}: ${parsed.problems[0]!.message}` };
        return { state: 'absent' };
      }
      const { values, notes } = collect(
        own.values.map((v) => [v.name, registryData(v)] as [string, unknown]),
        (n) => `registry value "${n}"`,
      );
      for (const p of parsed.problems) notes.push(`reg query output line ${p.line}: ${p.message}`);
      return { state: 'present', values, notes };
    },
  };
}

export const MACOS_POLICY_DOMAIN = 'com.vigil.agent';
export const MACOS_MANAGED_PREFERENCES = `/Library/Managed Preferences/${MACOS_POLICY_DOMAIN}.plist`;

/** Keys macOS or profile tools add to managed preferences that are not settings. */
const PLIST_HOUSEKEEPING = /^(Payload|PayloadUUID|PayloadIdentifier|PayloadType|PayloadVersion|PayloadDisplayName|mcx_.*)$/;

/** A source's file: its bytes, or what its absence or unreadability means for the source. */
async function readSourceFile(file: string): Promise<Buffer | SourceRead> {
  try {
    return await readFile(file);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return { state: 'absent' };
    return { state: 'error', problem: `cannot read: ${code ?? (err as Error).message}` };
  }
}

/** A configuration profile's managed preferences for com.vigil.agent (XML or binary plist). */
export function macosManagedPreferencesSource(file = MACOS_MANAGED_PREFERENCES): ConfigSource {
  const name = `machine policy (${file})`;
  return {
    kind: 'policy',
    name,
    async read() {
      const got = await readSourceFile(file);
      if (!Buffer.isBuffer(got)) return got;
      const buf = got;
      let doc;
      try {
        doc = parsePlist(buf);
      } catch (err) {
        return { state: 'error', problem: `not a property list (${err instanceof PlistError ? err.message : String(err)})` };
      }
      if (!isPlistDict(doc)) return { state: 'error', problem: 'the property list is not a dictionary' };
      const entries = Object.entries(doc).filter(([k]) => !PLIST_HOUSEKEEPING.test(k)) as [string, unknown][];
      return { state: 'present', ...collect(entries, (n) => `key "${n}"`) };
    },
  };
}

const MAX_SETTINGS_BYTES = 256 * 1024;

/**
 * A JSON settings file: Linux machine policy (/etc/vigil/policy.json) or the per-machine
 * settings file. Relative paths in `packs` and `stateDir` are relative to the file.
 */
export function jsonFileSource(file: string, kind: SourceKind): ConfigSource {
  const name = kind === 'policy' ? `machine policy (${file})` : `settings file (${file})`;
  return {
    kind,
    name,
    async read() {
      const got = await readSourceFile(file);
      if (!Buffer.isBuffer(got)) return got;
      const buf = got;
      if (buf.length > MAX_SETTINGS_BYTES) return { state: 'error', problem: `${buf.length} bytes is too large for a settings file` };
      let doc: unknown;
      try {
        doc = JSON.parse(buf.toString('utf8').replace(/^\uFEFF/, ''));
      } catch (err) {
        return { state: 'error', problem: `not valid JSON (${(err as Error).message})` };
      }
      if (doc === null || typeof doc !== 'object' || Array.isArray(doc)) return { state: 'error', problem: 'not a JSON object' };
      const { values, notes } = collect(Object.entries(doc), (n) => `"${n}"`);
      const base = path.dirname(path.resolve(file));
      for (const key of PATH_SETTINGS) {
        const v = values[key];
        if (typeof v === 'string') values[key] = path.resolve(base, v);
        else if (Array.isArray(v) && v.every((x) => typeof x === 'string')) values[key] = v.map((x: string) => path.resolve(base, x));
      }
      return { state: 'present', values, notes };
    },
  };
}

/** The per-machine settings file's usual place on each platform. */
export function machineSettingsFile(platform: NodeJS.Platform = process.platform, env: NodeJS.ProcessEnv = process.env): string {
  if (platform === 'win32') return path.win32.join(env.ProgramData ?? 'C:\\ProgramData', 'Vigil', 'config.json');
  if (platform === 'darwin') return '/Library/Application Support/Vigil/config.json';
  return '/etc/vigil/config.json';
}

export const LINUX_POLICY_FILE = '/etc/vigil/policy.json';

/** This platform's sources in precedence order: machine policy, then the settings file. */
export function defaultConfigSources(opts: { platform?: NodeJS.Platform; runner: CommandRunner; env?: NodeJS.ProcessEnv; settingsFile?: string }): ConfigSource[] {
  const platform = opts.platform ?? process.platform;
  const policy =
    platform === 'win32' ? windowsPolicySource(opts.runner) : platform === 'darwin' ? macosManagedPreferencesSource() : jsonFileSource(LINUX_POLICY_FILE, 'policy');
  return [policy, jsonFileSource(opts.settingsFile ?? machineSettingsFile(platform, opts.env), 'file')];
}
