import { redact, type LogFields, type Logger, type LogLevel } from '../../src/core/logging/logger.js';

export interface LogEntry {
  level: LogLevel;
  msg: string;
  fields: LogFields;
}

/** A Logger that keeps entries in memory (redacted, as every real sink is). */
export function memoryLogger(entries: LogEntry[] = [], base: LogFields = {}): Logger & { entries: LogEntry[] } {
  const emit = (level: LogLevel, msg: string, fields?: LogFields) => entries.push({ level, msg, fields: redact({ ...base, ...fields }) as LogFields });
  return {
    entries,
    debug: (m, f) => emit('debug', m, f),
    info: (m, f) => emit('info', m, f),
    warn: (m, f) => emit('warn', m, f),
    error: (m, f) => emit('error', m, f),
    child: (fields) => memoryLogger(entries, { ...base, ...fields }),
  };
}
