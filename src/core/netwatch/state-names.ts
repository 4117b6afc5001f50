/**
 * TCP state names as tools print them (netstat on Windows and macOS, lsof), mapped to the
 * Linux names used in Connection.state. Includes the de-DE names of Windows netstat
 * (HERGESTELLT, ABHÖREN, ...), as systeminformation's lib/network.js also maps them.
 */
import type { SocketState } from './connection.js';

const STATES: Record<string, SocketState> = {
  LISTENING: 'LISTEN',
  LISTEN: 'LISTEN',
  ESTABLISHED: 'ESTABLISHED',
  SYN_SENT: 'SYN_SENT',
  SYN_RECEIVED: 'SYN_RECV',
  SYN_RECV: 'SYN_RECV',
  FIN_WAIT_1: 'FIN_WAIT1',
  FIN_WAIT1: 'FIN_WAIT1',
  FIN_WAIT_2: 'FIN_WAIT2',
  FIN_WAIT2: 'FIN_WAIT2',
  TIME_WAIT: 'TIME_WAIT',
  CLOSED: 'CLOSE',
  CLOSE: 'CLOSE',
  CLOSE_WAIT: 'CLOSE_WAIT',
  LAST_ACK: 'LAST_ACK',
  CLOSING: 'CLOSING',
  BOUND: 'BOUND',
  IDLE: 'BOUND',
  // de-DE (Windows netstat)
  HERGESTELLT: 'ESTABLISHED',
  WARTEND: 'TIME_WAIT',
  SCHLIESSEN_WARTEN: 'CLOSE_WAIT',
  SYN_GESENDET: 'SYN_SENT',
  GESCHLOSSEN: 'CLOSE',
};

/** The state a tool's name stands for, or undefined when the name is not known. */
export function stateFromName(raw: string): SocketState | undefined {
  const up = raw.toUpperCase();
  // ABHÖREN arrives as "ABH\uFFFDREN" when netstat's OEM code page is decoded as UTF-8.
  return STATES[up] ?? (up.startsWith('ABH') ? 'LISTEN' : undefined);
}
