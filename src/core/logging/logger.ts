/**
 * A plain structured logger for the CLI, the headless agent and the server: one JSON
 * object per line. The tray app routes the same interface to electron-log instead.
 *
 * Secrets never reach a log: any field whose name looks like a credential is replaced by
 * "[redacted]" before it is written, however deeply it is nested.
 */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

export type LogFields = Record<string, unknown>;

export interface Logger {
  debug(msg: string, fields?: LogFields): void;
  info(msg: string, fields?: LogFields): void;
  warn(msg: string, fields?: LogFields): void;
  error(msg: string, fields?: LogFields): void;
  child(fields: LogFields): Logger;
}

const ORDER: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

const SECRET_KEY = /token|secret|password|passwd|credential|authorization|apikey|api_key|devicekey|device_key|privatekey|private_key|^key$|hmac|signature/i;

export function redact(value: unknown, depth = 0): unknown {
  if (depth > 8 || value === null || typeof value !== 'object') return value;
  if (value instanceof Error) return { name: value.name, message: value.message };
  if (Array.isArray(value)) return value.map((v) => redact(v, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) {
    out[k] = SECRET_KEY.test(k) && v !== undefined && v !== null && v !== '' ? '[redacted]' : redact(v, depth + 1);
  }
  return out;
}

export interface JsonLoggerOptions {
  level?: LogLevel;
  /** Where lines go; stderr by default so that stdout stays machine-readable. */
  write?: (line: string) => void;
  fields?: LogFields;
  now?: () => Date;
}

export function createJsonLogger(opts: JsonLoggerOptions = {}): Logger {
  const min = ORDER[opts.level ?? 'info'];
  const write = opts.write ?? ((line: string) => process.stderr.write(line + '\n'));
  const now = opts.now ?? (() => new Date());
  const base = opts.fields ?? {};
  const emit = (level: LogLevel, msg: string, fields?: LogFields) => {
    if (ORDER[level] < min) return;
    const record = redact({ time: now().toISOString(), level, msg, ...base, ...fields }) as LogFields;
    write(JSON.stringify(record));
  };
  return {
    debug: (m, f) => emit('debug', m, f),
    info: (m, f) => emit('info', m, f),
    warn: (m, f) => emit('warn', m, f),
    error: (m, f) => emit('error', m, f),
    child: (fields) => createJsonLogger({ ...opts, fields: { ...base, ...fields } }),
  };
}

/** A logger that drops everything: for library calls where the caller did not ask for logs. */
export const silentLogger: Logger = {
  debug: () => {},
  info: () => {},
  warn: () => {},
  error: () => {},
  child: () => silentLogger,
};
