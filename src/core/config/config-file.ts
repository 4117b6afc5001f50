/**
 * Settings from a JSON file (`vigil run --config FILE`). Relative paths in it (packs,
 * stateDir) are relative to the file, so a config and its packs can be copied together.
 * Problems are returned as values naming the file and the setting, never thrown.
 */
import { readFile } from 'node:fs/promises';
import * as path from 'node:path';
import { AgentConfigSchema, type AgentConfig } from './schema.js';

export type ConfigLoad = { ok: true; config: AgentConfig } | { ok: false; problems: string[] };

const MAX_CONFIG_BYTES = 256 * 1024;

export function parseAgentConfig(doc: unknown, source: string, baseDir: string): ConfigLoad {
  const parsed = AgentConfigSchema.safeParse(doc);
  if (!parsed.success) {
    return {
      ok: false,
      problems: parsed.error.issues.map((i) => `${source}: ${i.path.length ? i.path.join('.') : '(top level)'}: ${i.message}`),
    };
  }
  const config = parsed.data;
  return {
    ok: true,
    config: {
      ...config,
      packs: config.packs.map((p) => path.resolve(baseDir, p)),
      ...(config.stateDir !== undefined ? { stateDir: path.resolve(baseDir, config.stateDir) } : {}),
    },
  };
}

export async function loadAgentConfigFile(file: string): Promise<ConfigLoad> {
  let text: string;
  try {
    const buf = await readFile(file);
    if (buf.length > MAX_CONFIG_BYTES) return { ok: false, problems: [`${file}: ${buf.length} bytes is too large for a settings file`] };
    text = buf.toString('utf8');
  } catch (err) {
    return { ok: false, problems: [`${file}: cannot read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`] };
  }
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    return { ok: false, problems: [`${file}: not valid JSON (${(err as Error).message})`] };
  }
  return parseAgentConfig(doc, file, path.dirname(path.resolve(file)));
}
