/**
 * The machine agent's last log entries, kept in memory for `open-logs`. The service's log
 * file sits in the machine state folder, which only administrators read; a user asking
 * "open logs" gets these entries instead (each scrubbed for that user by the channel) and
 * the tray writes them next to its own log. Fields pass through the logger's secret
 * redaction first, so no token reaches a user.
 */
import { redact, type LogFields, type Logger, type LogLevel } from '../logging/logger.js';
import { LOCAL_CHANNEL_LIMITS, type ServiceLogEntry } from '../../shared/local-channel.js';

const MAX_TEXT = 600;

export class RecentLog {
  private readonly ring: ServiceLogEntry[] = [];

  constructor(
    private readonly capacity: number = LOCAL_CHANNEL_LIMITS.maxLogEntries,
    private readonly now: () => Date = () => new Date(),
  ) {}

  /** A logger that writes to `inner` and keeps info and above here. */
  tee(inner: Logger, base: LogFields = {}): Logger {
    const keep = (level: LogLevel, msg: string, fields?: LogFields) => {
      if (level === 'debug') return;
      const all = { ...base, ...fields };
      const extra = Object.keys(all).length ? ' ' + JSON.stringify(redact(all)) : '';
      this.push({ at: this.now().toISOString(), level, msg: (msg + extra).slice(0, MAX_TEXT) });
    };
    return {
      debug: (m, f) => inner.debug(m, f),
      info: (m, f) => (keep('info', m, f), inner.info(m, f)),
      warn: (m, f) => (keep('warn', m, f), inner.warn(m, f)),
      error: (m, f) => (keep('error', m, f), inner.error(m, f)),
      child: (fields) => this.tee(inner.child(fields), { ...base, ...fields }),
    };
  }

  entries(): ServiceLogEntry[] {
    return [...this.ring];
  }

  private push(e: ServiceLogEntry): void {
    this.ring.push(e);
    if (this.ring.length > this.capacity) this.ring.splice(0, this.ring.length - this.capacity);
  }
}
