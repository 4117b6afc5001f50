/**
 * Realistic reports for reporting tests and the ingest bench: shaped like what `vigil check`
 * produces for a Windows PC with the trojanised 3CX DesktopApp 18.12.416 (hashes are the
 * published ones for the March 2023 incident; nothing here is malware).
 */
import { makeFinding } from '../../../src/core/verdict/finding.js';
import { computeVerdict } from '../../../src/core/verdict/compute-verdict.js';
import { alertFromFinding } from '../../../src/core/report/alert-from-finding.js';
import { buildHeartbeatDraft } from '../../../src/core/report/heartbeat-draft.js';
import type { Finding, Install, ScanReport } from '../../../src/shared/scan.js';
import type { Alert, Heartbeat } from '../../../src/shared/protocol.js';

const ADVICE = {
  id: 'isolate',
  title: 'Isolate this PC',
  text: 'Disconnect the PC from the network and call your IT partner: this 3CX build was trojanised.',
  steps: ['Unplug the network cable or turn off Wi-Fi.', 'Do not sign in to other accounts from this PC.'],
  links: [{ label: '3CX security alert', url: 'https://www.3cx.com/blog/news/desktopapp-security-alert/' }],
};

export function compromisedInstall(user = 'reception'): Install {
  return {
    application: '3cx-desktopapp',
    applicationName: '3CX Desktop App',
    platform: 'windows',
    user,
    location: `C:/Users/${user}/AppData/Local/Programs/3CXDesktopApp`,
    version: '18.12.416',
    versionSource: 'versioninfo',
    publisher: '3CX Ltd',
    versionClass: 'compromised',
    files: [
      { role: 'executable', path: `C:/Users/${user}/AppData/Local/Programs/3CXDesktopApp/3CXDesktopApp.exe`, size: 150_593_536, sha256: 'fad482ded2e25ce9e1dd3d3ecc3227af714bdfbbde04347dbc1b21d6a3670405' },
      { role: 'companion', path: `C:/Users/${user}/AppData/Local/Programs/3CXDesktopApp/ffmpeg.dll`, size: 2_818_552, sha256: '7986bbaee8940da11ce089383521ab420c443ab7b15ed42aed91fd31ce833896' },
      { role: 'companion', path: `C:/Users/${user}/AppData/Local/Programs/3CXDesktopApp/d3dcompiler_47.dll`, size: 4_916_856, sha256: '11be1803e2e307b647a8a7e02d128335c448ff741bf06bf52b332e0bbf423b03' },
    ],
  };
}

export function compromisedFindings(observedAt = new Date('2026-11-20T09:00:00Z'), user = 'reception'): Finding[] {
  const base = `C:/Users/${user}/AppData/Local/Programs/3CXDesktopApp`;
  return [
    makeFinding({ category: 'install', severity: 'compromised', packId: '3cx-2023', ruleId: 'win-compromised', application: '3cx-desktopapp', title: '3CX Desktop App 18.12.416 is a compromised build.', evidence: { path: `${base}/3CXDesktopApp.exe`, user, version: '18.12.416', versionSource: 'versioninfo' }, advice: ADVICE, observedAt }),
    makeFinding({ category: 'hash', severity: 'compromised', packId: '3cx-2023', ruleId: 'hash-ffmpeg', application: '3cx-desktopapp', title: 'ffmpeg.dll matches the trojanised library from the 3CX incident.', evidence: { path: `${base}/ffmpeg.dll`, user, sha256: '7986bbaee8940da11ce089383521ab420c443ab7b15ed42aed91fd31ce833896', size: 2_818_552 }, advice: ADVICE, observedAt }),
    makeFinding({ category: 'artifact', severity: 'compromised', packId: '3cx-2023', ruleId: 'win-manifest', title: 'The attack\'s "manifest" timestamp file is present.', evidence: { path: `C:/Users/${user}/AppData/Local/3CXDesktopApp/manifest`, user }, advice: ADVICE, observedAt }),
    makeFinding({ category: 'install', severity: 'info', packId: '3cx-2023', ruleId: 'win-ok', application: '3cx-desktopapp', title: '3CX Desktop App 18.12.425 found for admin, a cleared build.', evidence: { path: 'C:/Users/admin/AppData/Local/Programs/3CXDesktopApp/3CXDesktopApp.exe', user: 'admin', version: '18.12.425' }, observedAt }),
  ];
}

export function scanReport(opts: { hostname?: string; compromised?: boolean; startedAt?: Date } = {}): ScanReport {
  const startedAt = opts.startedAt ?? new Date('2026-11-20T09:00:00Z');
  const findings = opts.compromised === false ? [] : compromisedFindings(startedAt);
  return {
    agentVersion: '0.1.0',
    host: { hostname: opts.hostname ?? 'RECEPTION-PC', platform: 'windows', osRelease: '10.0.19045', arch: 'x64' },
    target: { platform: 'windows', root: 'C:/', live: true },
    startedAt: startedAt.toISOString(),
    durationMs: 412,
    packs: [{ id: '3cx-2023', version: 3, title: '3CX DesktopApp supply-chain compromise (March 2023)', origin: 'builtin' }],
    installs: opts.compromised === false ? [] : [compromisedInstall()],
    findings,
    notes: [],
    verdict: computeVerdict(findings),
  };
}

/** A connection-match finding as the watcher would raise it; `i` makes each one distinct. */
export function connectionFinding(i: number, observedAt = new Date(Date.UTC(2026, 10, 20, 9, 0, 0) + i * 1000)): Finding {
  return makeFinding({
    category: 'network',
    severity: 'compromised',
    packId: '3cx-2023',
    ruleId: 'c2-domain',
    title: `3CXDesktopApp.exe connected to akamaicontainer.com, a command-and-control address of the 3CX attack (event ${i}).`,
    evidence: { indicator: 'akamaicontainer.com', remote: { address: '203.0.113.7', port: 443, host: 'akamaicontainer.com' }, process: { pid: 4100 + i, name: '3CXDesktopApp.exe' } },
    identity: ['network', '3cx-2023', 'c2-domain', 'akamaicontainer.com', i],
    observedAt,
  });
}

export function connectionAlert(i: number): Alert {
  return alertFromFinding('connection', connectionFinding(i), new Date(Date.UTC(2026, 10, 20, 9, 0, 0) + i * 1000));
}

export function heartbeatFor(deviceId: string, opts: { sentAt?: Date; hostname?: string; compromised?: boolean } = {}): Heartbeat {
  const report = scanReport({ ...(opts.hostname ? { hostname: opts.hostname } : {}), ...(opts.compromised !== undefined ? { compromised: opts.compromised } : {}) });
  const draft = buildHeartbeatDraft({
    now: opts.sentAt ?? new Date(),
    agentVersion: '0.1.0',
    host: report.host,
    verdict: report.verdict,
    lastScanAt: report.startedAt,
    installs: report.installs,
    findings: report.findings,
    packs: report.packs,
    connectionWatch: 'on',
    problems: [],
  });
  return { ...draft, deviceId, outbox: { pendingAlerts: 0, droppedAlerts: 0, rejectedAlerts: 0, oldestPendingAt: null } };
}
