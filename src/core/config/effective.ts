/**
 * The effective configuration: every setting with the place it came from.
 *
 * Precedence, per setting: machine policy, then the per-machine settings file (sources.ts),
 * then the schema's default. A value that fails validation is reported, naming the setting
 * and the source, and dropped in favour of the next source that has a good value; if none
 * has, the last good value is used (`<stateDir>/config-last-good.json`, written after
 * every load), and only then the default. A source that cannot be read at all (a corrupt
 * policy file, reg.exe failing) is not the same as an absent one: settings the last good
 * configuration took from it keep their last good value, so a damaged policy never turns
 * into "no server".
 *
 * The enrolment token is a secret: `vigil config show` masks it and the last-good file
 * never contains it. It is needed only until the device has a credential
 * (enrolmentState below); after that the agent signs with its device key.
 */
import { mkdir, open, readFile, rename, chmod } from 'node:fs/promises';
import * as path from 'node:path';
import { z } from 'zod';
import { AgentConfigSchema, type AgentConfig } from './schema.js';
import { defaultStateDir } from './state-dir.js';
import { ProcessCommandRunner, type CommandRunner } from '../os/command-runner.js';
import type { CredentialLoad } from '../report/credential-store.js';
import { redactProxyUrl } from '../report/proxy-url.js';
import { defaultConfigSources, SECRET_SETTINGS, SETTING_KEYS, type ConfigSource, type SettingKey, type SourceKind } from './sources.js';

export type OriginKind = SourceKind | 'last-good' | 'default';

export interface SettingOrigin {
  kind: OriginKind;
  /** The source's name ("machine policy (...)", "settings file (...)", "last good configuration (...)", "default"). */
  source: string;
  /** For last-good values: the source the value originally came from. */
  from?: string;
}

export interface ConfigProblem {
  /** The source named, or the last-good file. */
  source: string;
  /** The setting, when the problem is one value. */
  key?: SettingKey;
  message: string;
}

export interface SourceStatus {
  kind: SourceKind;
  name: string;
  state: 'present' | 'absent' | 'error';
  problem?: string;
}

export interface EffectiveConfig {
  config: AgentConfig;
  /** Where each setting's value came from (every key of the schema). */
  origins: Record<SettingKey, SettingOrigin>;
  /** Bad values, unreadable sources, ignored entries: each names the source (and key). */
  problems: ConfigProblem[];
  sources: SourceStatus[];
  lastGood: { file: string; saved: boolean };
}

export interface LoadEffectiveConfigOptions {
  /** The sources in precedence order; default: this platform's (sources.ts). */
  sources?: ConfigSource[];
  platform?: NodeJS.Platform;
  /** Runs reg.exe for the Windows policy source (default: real processes). */
  runner?: CommandRunner;
  env?: NodeJS.ProcessEnv;
  /** The per-machine settings file instead of the platform's usual one (e.g. `--config FILE`). */
  settingsFile?: string;
  /** Where last-good lives; default: the effective stateDir setting, else the platform default. */
  stateDir?: string;
  /** Write the last-good file (default true; `vigil config show` only reads). */
  persistLastGood?: boolean;
  now?: () => Date;
}

export const LAST_GOOD_FILE = 'config-last-good.json';

const LastGoodSchema = z.object({
  version: z.literal(1),
  savedAt: z.string(),
  values: z.record(z.string(), z.object({ value: z.unknown(), source: z.string() })),
});
type LastGood = z.infer<typeof LastGoodSchema>;

const DEFAULT_ORIGIN: SettingOrigin = { kind: 'default', source: 'default' };

type Shape = typeof AgentConfigSchema.shape;
const fieldSchema = (key: SettingKey) => (AgentConfigSchema.shape as Shape)[key];

function issueText(issues: readonly { message: string }[]): string {
  return issues.map((i) => i.message).join('; ');
}

async function readLastGood(file: string): Promise<{ lastGood?: LastGood; problem?: string }> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    return code === 'ENOENT' ? {} : { problem: `cannot read: ${code ?? (err as Error).message}` };
  }
  try {
    const parsed = LastGoodSchema.safeParse(JSON.parse(text));
    if (parsed.success) return { lastGood: parsed.data };
    return { problem: 'not a last-good configuration; ignored' };
  } catch {
    return { problem: 'not valid JSON; ignored' };
  }
}

async function writeLastGood(file: string, data: LastGood): Promise<void> {
  await mkdir(path.dirname(file), { recursive: true, mode: 0o700 });
  const tmp = `${file}.tmp-${process.pid}`;
  const fh = await open(tmp, 'w', 0o600);
  try {
    await fh.writeFile(JSON.stringify(data, null, 2) + '\n');
    await fh.sync();
  } finally {
    await fh.close();
  }
  await chmod(tmp, 0o600);
  await rename(tmp, file);
}

interface Candidate {
  value: unknown;
  origin: SettingOrigin;
}

export async function loadEffectiveConfig(opts: LoadEffectiveConfigOptions = {}): Promise<EffectiveConfig> {
  const platform = opts.platform ?? process.platform;
  const sources =
    opts.sources ??
    defaultConfigSources({
      platform,
      runner: opts.runner ?? new ProcessCommandRunner(),
      ...(opts.env ? { env: opts.env } : {}),
      ...(opts.settingsFile ? { settingsFile: opts.settingsFile } : {}),
    });
  const problems: ConfigProblem[] = [];
  const statuses: SourceStatus[] = [];
  const reads = await Promise.all(sources.map(async (s) => ({ source: s, read: await s.read().catch((err: unknown) => ({ state: 'error' as const, problem: `could not be read: ${err instanceof Error ? err.message : String(err)}` })) })));
  for (const { source, read } of reads) {
    statuses.push({ kind: source.kind, name: source.name, state: read.state, ...(read.state === 'error' ? { problem: read.problem } : {}) });
    if (read.state === 'error') problems.push({ source: source.name, message: `${read.problem}; its settings keep their last good values` });
    if (read.state === 'present') for (const note of read.notes) problems.push({ source: source.name, message: note });
  }

  // Where last-good lives: an explicit state dir, else the first good stateDir value, else the default.
  let stateDir = opts.stateDir;
  if (stateDir === undefined) {
    for (const { read } of reads) {
      if (read.state !== 'present' || read.values.stateDir === undefined) continue;
      const ok = fieldSchema('stateDir').safeParse(read.values.stateDir);
      if (ok.success && typeof ok.data === 'string') {
        stateDir = ok.data;
        break;
      }
    }
  }
  const lastGoodFile = path.join(stateDir ?? defaultStateDir(platform, opts.env ?? process.env), LAST_GOOD_FILE);
  const lastGoodName = `last good configuration (${lastGoodFile})`;
  const lg = await readLastGood(lastGoodFile);
  if (lg.problem) problems.push({ source: lastGoodName, message: lg.problem });

  // Per setting: the good candidates in precedence order, ending with last-good (when it
  // applies) and the default. A bad value is reported here and skipped.
  const candidates = new Map<SettingKey, Candidate[]>();
  for (const key of SETTING_KEYS) {
    const list: Candidate[] = [];
    let sawBad = false;
    let stopAtLastGood = false;
    const remembered = lg.lastGood?.values[key];
    for (const { source, read } of reads) {
      if (read.state === 'error') {
        // The value this source gave last time stands in for it, ahead of lower sources.
        if (remembered && remembered.source === source.name) {
          stopAtLastGood = true;
          break;
        }
        continue;
      }
      if (read.state !== 'present' || !(key in read.values)) continue;
      const checked = fieldSchema(key).safeParse(read.values[key]);
      if (checked.success) list.push({ value: read.values[key], origin: { kind: source.kind, source: source.name } });
      else {
        sawBad = true;
        problems.push({ source: source.name, key, message: `bad value for ${key}: ${issueText(checked.error.issues)}; ignored` });
      }
    }
    if (remembered && !SECRET_SETTINGS.has(key) && (stopAtLastGood || sawBad || list.length > 0)) {
      list.push({ value: remembered.value, origin: { kind: 'last-good', source: lastGoodName, from: remembered.source } });
    }
    list.push({ value: undefined, origin: DEFAULT_ORIGIN });
    candidates.set(key, list);
  }

  // Choose the first candidate per setting; the whole-object checks (serverUrl against
  // allowInsecureHttp) may reject a choice, which then falls to the next candidate.
  let config: AgentConfig | undefined;
  for (let round = 0; round <= SETTING_KEYS.length * (sources.length + 3) && !config; round++) {
    const doc: Record<string, unknown> = {};
    for (const key of SETTING_KEYS) {
      const c = candidates.get(key)![0]!;
      if (c.value !== undefined) doc[key] = c.value;
    }
    const parsed = AgentConfigSchema.safeParse(doc);
    if (parsed.success) {
      config = parsed.data;
      break;
    }
    let dropped = false;
    for (const issue of parsed.error.issues) {
      const key = issue.path[0];
      if (typeof key !== 'string') continue;
      const list = candidates.get(key as SettingKey);
      if (!list || list.length <= 1) continue;
      const bad = list.shift()!;
      dropped = true;
      problems.push({ source: bad.origin.source, key: key as SettingKey, message: `bad value for ${key}: ${issue.message}; ignored` });
    }
    if (!dropped) break;
  }
  if (!config) {
    // Unreachable with the schema's own defaults; kept so a future schema cannot make this throw.
    problems.push({ source: 'default', message: 'no combination of values validates; using the defaults' });
    config = AgentConfigSchema.parse({});
    for (const key of SETTING_KEYS) candidates.set(key, [{ value: undefined, origin: DEFAULT_ORIGIN }]);
  }
  const origins = Object.fromEntries(SETTING_KEYS.map((k) => [k, candidates.get(k)![0]!.origin])) as Record<SettingKey, SettingOrigin>;

  let saved = false;
  if (opts.persistLastGood !== false) {
    const values: LastGood['values'] = {};
    for (const key of SETTING_KEYS) {
      const origin = origins[key];
      if (origin.kind === 'default' || SECRET_SETTINGS.has(key)) continue;
      values[key] = { value: (config as unknown as Record<string, unknown>)[key], source: origin.from ?? origin.source };
    }
    const unchanged = lg.lastGood !== undefined && JSON.stringify(lg.lastGood.values) === JSON.stringify(values);
    if (!unchanged) {
      try {
        await writeLastGood(lastGoodFile, { version: 1, savedAt: (opts.now?.() ?? new Date()).toISOString(), values });
        saved = true;
      } catch (err) {
        problems.push({ source: lastGoodName, message: `cannot save: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}` });
      }
    }
  }
  return { config, origins, problems, sources: statuses, lastGood: { file: lastGoodFile, saved } };
}

/** One line per problem, naming the source and the setting. */
export function formatConfigProblem(p: ConfigProblem): string {
  return p.key ? `${p.source}: ${p.key}: ${p.message}` : `${p.source}: ${p.message}`;
}

export const MASK = '********';

/** A setting's value for display: secrets masked, absent shown as undefined. */
export function displayValue(key: SettingKey, value: unknown): unknown {
  if (value === undefined) return undefined;
  if (SECRET_SETTINGS.has(key)) return MASK;
  // A proxy URL may carry a password (http://user:secret@proxy:3128).
  if (key === 'proxy' && typeof value === 'string' && value.includes('@')) return redactProxyUrl(value);
  return value;
}

/**
 * Whether the enrolment token is still needed: `enrolled` once the device holds a credential
 * issued by the configured server (the token was consumed at first enrolment and is not used
 * again), `pending` when it will enrol with the configured token, `missing-token` when it
 * cannot enrol, `no-server` when there is no server to report to.
 */
export type EnrolmentState = 'enrolled' | 'pending' | 'missing-token' | 'no-server';

export function enrolmentState(config: Pick<AgentConfig, 'serverUrl' | 'enrollToken'>, credential: CredentialLoad): EnrolmentState {
  if (config.serverUrl === undefined) return 'no-server';
  if (credential.state === 'present' && sameServer(credential.credential.serverUrl, config.serverUrl)) return 'enrolled';
  // Sealed by the account that runs the tray app: enrolled, though this process cannot sign.
  if (credential.state === 'sealed' && sameServer(credential.serverUrl, config.serverUrl)) return 'enrolled';
  return config.enrollToken !== undefined ? 'pending' : 'missing-token';
}

function sameServer(a: string, b: string): boolean {
  try {
    return new URL(a).href === new URL(b).href;
  } catch {
    return a === b;
  }
}

/**
 * Whether the `packs` setting is machine policy's (directly, or its last good value): those
 * packs must be signed by a trusted pack key (docs/PACKS.md).
 */
export function packsNamedByPolicy(origin: SettingOrigin): boolean {
  return origin.kind === 'policy' || (origin.kind === 'last-good' && (origin.from ?? '').startsWith('machine policy'));
}
