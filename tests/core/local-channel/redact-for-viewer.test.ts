import { describe, expect, it } from 'vitest';
import { OTHER_PROFILE, OTHER_PROFILE_ADVICE, OTHER_USER, redactForViewer, type RedactableState } from '../../../src/core/local-channel/redact-for-viewer.js';
import { makeFinding } from '../../../src/core/verdict/finding.js';
import type { Install } from '../../../src/shared/scan.js';

const install = (user: string | undefined, location: string): Install => ({
  application: '3cx-desktop-app',
  applicationName: '3CX Desktop App',
  platform: 'windows',
  ...(user ? { user } : {}),
  location,
  version: '18.12.416',
  versionClass: 'compromised',
  files: [{ role: 'executable', path: `${location}/3CXDesktopApp.exe`, sha256: 'ab'.repeat(32) }],
});

const ADVICE = { id: 'compromised-build', title: 'Remove it', text: 'Uninstall it now.', steps: ['Quit it', 'Uninstall it'], links: [{ label: 'Vendor notice', url: 'https://example.com/notice' }] };
const BASE = makeState();
const state = (): RedactableState => structuredClone(BASE);

function makeState(): RedactableState {
  return {
    installs: [
      install('alice', 'Users/alice/AppData/Local/Programs/3CXDesktopApp'),
      install('bob', 'C:\\Users\\bob\\AppData\\Local\\Programs\\3CXDesktopApp'),
      install(undefined, 'Program Files/3CX Desktop App'),
    ],
    findings: [
      makeFinding({ category: 'install', severity: 'compromised', ruleId: 'r', advice: ADVICE, title: 'Compromised 3CX in Users/alice/AppData/Local/Programs/3CXDesktopApp (alice)', evidence: { user: 'alice', path: 'Users/alice/AppData/Local/Programs/3CXDesktopApp/3CXDesktopApp.exe', version: '18.12.416' } }),
      makeFinding({ category: 'install', severity: 'compromised', ruleId: 'r', title: 'Compromised 3CX for bob', advice: ADVICE, evidence: { user: 'bob', path: 'C:\\Users\\bob\\AppData\\Local\\Programs\\3CXDesktopApp\\3CXDesktopApp.exe', version: '18.12.416' } }),
      makeFinding({ category: 'network', severity: 'compromised', ruleId: 'c', title: 'Connection to a 3CX C2 host', evidence: { indicator: 'msstorageazure.com', process: { pid: 42, name: '3CXDesktopApp', path: '/home/carol/.local/bin/3cx' }, remote: { address: '203.0.113.5', port: 443 } } }),
      makeFinding({ category: 'scan', severity: 'unknown', ruleId: 'u', title: 'Could not check /root/.config: permission denied', evidence: { error: 'EACCES on /root/.config for root' } }),
      makeFinding({ category: 'install', severity: 'attention', ruleId: 'm', title: 'Old build in Program Files', evidence: { path: 'Program Files/3CX Desktop App/3CXDesktopApp.exe' } }),
    ],
    problems: ['alice and bob share a PC; C:\\Users\\bob\\AppData could not be read'],
    lastScanError: null,
  };
}

describe('redactForViewer', () => {
  it('shows the viewer her own profile in full and other profiles without their names or paths', () => {
    const { state: s, otherProfiles } = redactForViewer(state(), { profile: 'alice', caseInsensitive: true });
    expect(s.installs[0]).toEqual(state().installs[0]);
    expect(s.findings[0]).toEqual(state().findings[0]);
    expect(s.installs[1]).toMatchObject({ location: OTHER_PROFILE, version: '18.12.416', versionClass: 'compromised' });
    expect(s.installs[1]!.user).toBeUndefined();
    expect(s.installs[1]!.files[0]!.path).toBe(`${OTHER_PROFILE}/3CXDesktopApp.exe`);
    expect(s.installs[2]).toEqual(state().installs[2]);
    expect(s.findings[1]!.title).toBe(`Compromised 3CX for ${OTHER_USER}`);
    expect(s.findings[1]!.evidence).toEqual({ version: '18.12.416', detail: { profile: OTHER_PROFILE } });
    // Advice the viewer could not follow in someone else's account is replaced, links kept.
    expect(s.findings[1]!.advice).toEqual({ id: 'compromised-build-other-profile', ...OTHER_PROFILE_ADVICE, steps: [], links: [{ label: 'Vendor notice', url: 'https://example.com/notice' }] });
    expect(s.findings[0]!.advice!.text).toBe('Uninstall it now.');
    expect(s.findings[2]!.evidence.process).toEqual({ pid: 42, name: '3CXDesktopApp' });
    expect(s.findings[2]!.evidence.indicator).toBe('msstorageazure.com');
    expect(s.findings[3]!.title).toBe(`Could not check ${OTHER_PROFILE}: permission denied`);
    expect(s.findings[4]).toEqual(state().findings[4]);
    expect(s.problems).toEqual([`alice and ${OTHER_USER} share a PC; ${OTHER_PROFILE} could not be read`]);
    expect(otherProfiles).toEqual({ findings: 2, installs: 1 });
    const text = JSON.stringify(s.findings.slice(1)) + JSON.stringify(s.installs.slice(1));
    for (const secret of ['bob', 'carol', '/root']) expect(text).not.toContain(secret);
  });

  it('compares profile names without case only when told to', () => {
    expect(redactForViewer(state(), { profile: 'ALICE', caseInsensitive: true }).state.installs[0]!.user).toBe('alice');
    expect(redactForViewer(state(), { profile: 'ALICE', caseInsensitive: false }).state.installs[0]!.user).toBeUndefined();
  });

  it('hides every profile from a viewer with none, and leaves words that merely contain a name', () => {
    const s = state();
    s.findings.push(makeFinding({ category: 'scan', severity: 'info', ruleId: 'i', title: 'bobcat installer seen; bob notified', evidence: {} }));
    const { state: r, otherProfiles } = redactForViewer(s, { profile: null, caseInsensitive: false });
    expect(otherProfiles.installs).toBe(2);
    expect(r.findings.at(-1)!.title).toBe(`bobcat installer seen; ${OTHER_USER} notified`);
    expect(JSON.stringify(r)).not.toMatch(/Users[\\/]+(alice|bob)/);
  });

  it('does not touch its input', () => {
    const s = state();
    const copy = structuredClone(s);
    redactForViewer(s, { profile: 'bob', caseInsensitive: true });
    expect(s).toEqual(copy);
  });
});
