/**
 * Turning network and DNS matches into findings, with ids that stay the same for the
 * same (pack, indicator, process, remote address) or (pack, indicator, name) so that a
 * backend de-duplicates them across polls, agent restarts and repeated reports.
 *
 * A process is one running instance: its pid together with its executable path (else
 * its name), so a reused pid is not mistaken for the process that held it before. The
 * executable alone is not enough: two processes of one program are two sources of
 * traffic (Electron's network process and its updater share an exe path), and on a
 * machine where the test runner, a local service and the client are all `node`, keying
 * by path let whichever socket the kernel listed first - even an inbound one - stand in
 * for all of them, hiding the process that actually dialled out. A restarted client is
 * therefore a new finding: it is beaconing again, which is worth an alert.
 */
import type { Finding } from '../../shared/scan.js';
import { makeFinding } from '../verdict/finding.js';
import type { Connection } from './connection.js';
import type { ConnectionMatch } from './connection-matcher.js';
import type { DnsCacheMatch, HostsMatch } from './dns-evidence.js';
import type { AddressHit, IndicatorRef, PackNetworkInfo } from './indicator-table.js';

/**
 * One process instance: pid plus executable (path, else name); '' when not known (a
 * TIME_WAIT leftover, or a socket whose owner could not be read), so all unattributed
 * sockets to one address are one finding.
 */
export function processIdentity(c: Pick<Connection, 'pid' | 'processName' | 'processPath'>): string {
  const exe = c.processPath ? `path:${c.processPath.toLowerCase()}` : c.processName ? `name:${c.processName.toLowerCase()}` : '';
  if (c.pid) return exe ? `pid:${c.pid}|${exe}` : `pid:${c.pid}`;
  return exe;
}

export function describeProcess(c: Pick<Connection, 'pid' | 'processName' | 'processPath' | 'state'>): string {
  const name = c.processName ?? (c.processPath ? c.processPath.split(/[\\/]/).pop() : undefined);
  if (name && c.pid) return `${name} (pid ${c.pid})`;
  if (c.pid) return `process ${c.pid}`;
  if (c.state === 'TIME_WAIT') return 'A program that has already closed the connection';
  return 'A program this agent could not identify';
}

/** Title words and detail for an indicator the pack marks as resting on one public source. */
function sourcing(ref: IndicatorRef, detail: Record<string, string | number | boolean>): string {
  if (!ref.singleSource) return '';
  detail.singleSource = true;
  return ' (one public source)';
}

function hostLabel(hit: AddressHit, address: string): string {
  return hit.indicator.kind === 'domain' ? `${hit.indicator.value} (${address})` : address;
}

export function connectionFinding(match: ConnectionMatch, hit: AddressHit, pack: PackNetworkInfo | undefined, firstSeen: Date): Finding {
  const c = match.connection;
  const detail: Record<string, string | number | boolean> = {
    protocol: c.protocol,
    state: c.stateRaw ?? c.state,
    direction: match.direction,
    localAddress: c.local.address,
    localPort: c.local.port,
    indicatorKind: hit.indicator.kind,
  };
  if (hit.resolvedAt) detail.resolvedAt = hit.resolvedAt.toISOString();
  if (!c.pid) detail.process = c.state === 'TIME_WAIT' ? 'not identified: the connection had already closed (TIME_WAIT)' : 'not identified';
  const evidence: Finding['evidence'] = {
    indicator: hit.indicator.value,
    remote: { address: c.remote.address, port: c.remote.port, ...(hit.indicator.kind === 'domain' ? { host: hit.indicator.value } : {}) },
    detail,
  };
  if (c.pid) {
    evidence.process = { pid: c.pid };
    if (c.processName) evidence.process.name = c.processName;
    if (c.processPath) evidence.process.path = c.processPath;
  }
  const single = sourcing(hit.indicator, detail);
  const title = `${describeProcess(c)} ${c.state === 'TIME_WAIT' ? 'was connected' : 'is connected'} to ${hostLabel(hit, c.remote.address)}, a server named by the "${pack?.packTitle ?? hit.indicator.packId}" incident pack${single}.`;
  return makeFinding({
    category: 'network',
    severity: 'compromised',
    title,
    packId: hit.indicator.packId,
    ruleId: `network.${hit.indicator.kind}`,
    evidence,
    ...(pack?.advice ? { advice: pack.advice } : {}),
    identity: ['network', hit.indicator.packId, hit.indicator.value, processIdentity(c), c.remote.address],
    observedAt: firstSeen,
  });
}

export function dnsCacheFinding(m: DnsCacheMatch, pack: PackNetworkInfo | undefined, source: string, firstSeen: Date): Finding {
  const detail: Record<string, string | number | boolean> = { source, lookedUp: m.entry, negative: m.negative, blocked: m.blocked };
  if (m.addresses.length) detail.addresses = m.addresses.join(', ');
  if (m.ttl !== undefined) detail.ttl = m.ttl;
  const outcome = m.negative ? ' (the lookup found no address)' : m.blocked ? ' (a DNS filter answered with a blocking address)' : '';
  const single = sourcing(m.indicator, detail);
  return makeFinding({
    category: 'dns',
    severity: 'compromised',
    title: `This PC looked up ${m.matchedName}${outcome}, a server named by the "${pack?.packTitle ?? m.indicator.packId}" incident pack${single}.`,
    packId: m.indicator.packId,
    ruleId: 'dns.cache',
    evidence: { indicator: m.indicator.value, detail },
    ...(pack?.advice ? { advice: pack.advice } : {}),
    identity: ['dns', 'cache', m.indicator.packId, m.indicator.value, m.matchedName],
    observedAt: firstSeen,
  });
}

export function hostsFinding(m: HostsMatch, pack: PackNetworkInfo | undefined, hostsPath: string, firstSeen: Date): Finding {
  const what = m.blocked
    ? `The hosts file blocks ${m.name} (maps it to ${m.entry.address})`
    : `The hosts file redirects ${m.name} to ${m.entry.address}`;
  const detail: Record<string, string | number | boolean> = { line: m.entry.line, address: m.entry.address, name: m.name, blocked: m.blocked };
  const single = sourcing(m.indicator, detail);
  return makeFinding({
    category: 'dns',
    severity: m.severity,
    title: `${what}; ${m.name} is a server named by the "${pack?.packTitle ?? m.indicator.packId}" incident pack${single}.`,
    packId: m.indicator.packId,
    ruleId: m.blocked ? 'dns.hosts-block' : 'dns.hosts-redirect',
    evidence: { path: hostsPath, indicator: m.indicator.value, detail },
    // No pack advice: it is written for a compromise (isolate the PC), which a hosts line is
    // not. A block is the recommended mitigation; a redirect is for IT to explain.
    identity: ['dns', 'hosts', m.indicator.packId, m.indicator.value, m.name, m.entry.address],
    observedAt: firstSeen,
  });
}
