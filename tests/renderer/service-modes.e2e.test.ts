/**
 * The status window for the three ways the tray gets its agent (docs/TRAY.md), in Debian's
 * Chromium. Each state is made by the code that makes it in the app:
 * - client of the machine agent: the service's state redacted for viewer bob
 *   (machineStateFor) and mapped by the tray (trayStateFromService);
 * - service not running: the tray's grey state with what to tell IT (serviceDownReason);
 * - per-user install: a scan with the "other profiles are not checked" info finding.
 * Each passes axe-core's WCAG 2.1 AA rules in light and dark. Screenshots go to test-artifacts/renderer/; VIGIL_UPDATE_DOCS_IMG=1 copies them to docs/img/.
 */
import { copyFileSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { findings, scannedState, T1 } from '../main/fixtures/agent-states.js';
import { statusPages } from './harness.js';
import { needsTools } from '../helpers/system-tool.js';
import { machineStateFor } from '../../src/core/local-channel/machine-state.js';
import { OTHER_PROFILE } from '../../src/core/local-channel/redact-for-viewer.js';
import { serviceDownReason, trayStateFromService } from '../../src/main/service-agent.js';
import { unavailableTrayState } from '../../src/main/agent-state-map.js';
import { computeVerdict } from '../../src/core/verdict/compute-verdict.js';
import { makeFinding } from '../../src/core/verdict/finding.js';
import type { AgentState } from '../../src/core/agent.js';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const artifacts = path.join(repo, 'test-artifacts', 'renderer');
const AXE = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');


function serviceState(): ReturnType<typeof trayStateFromService> {
  const f = [findings.compromisedInstall(), findings.knownBadDll()];
  const core: AgentState = {
    phase: 'running',
    scanning: false,
    verdict: computeVerdict(f),
    findings: f,
    installs: [],
    packs: [],
    lastScanAt: T1.toISOString(),
    lastScanError: null,
    connectionWatch: 'on',
    report: { enrolment: 'enrolled', deviceId: 'dev_7f3a9c2e', tenant: { id: 't1', name: 'Acme IT Partners' }, lastAttemptAt: T1.toISOString(), lastSuccessAt: T1.toISOString(), lastError: null, blockedReason: null, nextAttemptAt: null, serverHeartbeatIntervalSec: null },
    lastReportAt: T1.toISOString(),
    backlog: { pendingAlerts: 0, droppedAlerts: 0, rejectedAlerts: 0, heartbeatPending: false, durable: true },
    problems: [],
  };
  const viewed = machineStateFor(core, { agentVersion: '0.1.0', hostname: 'RECEPTION-PC', startedAt: T1.toISOString(), staleAfterMs: 15 * 60_000 }, { profile: 'bob', caseInsensitive: true });
  return trayStateFromService(viewed, T1);
}

const SERVICE_DOWN = serviceDownReason('RECEPTION-PC', 'the Vigil service is not running (nothing answers at \\\\.\\pipe\\vigil-agent)');

const MODES = [
  { name: 'service', state: serviceState, label: 'Compromised' },
  { name: 'service-down', state: () => unavailableTrayState(SERVICE_DOWN, { agentVersion: '0.1.0', hostname: 'RECEPTION-PC', packs: [], tenant: 'Acme IT Partners' }), label: 'Unknown' },
  {
    name: 'per-user',
    state: () =>
      scannedState([
        makeFinding({
          category: 'scan',
          severity: 'info',
          ruleId: 'other-profiles-not-checked',
          title: 'Other profiles on this PC are not checked (2): this Vigil is installed for one user only. Ask your IT provider for the per-machine install to check every profile.',
          evidence: { detail: { otherProfiles: 2 } },
          observedAt: T1,
        }),
      ]),
    label: 'OK',
  },
] as const;

describe('status window: service client, service down, per-user install', needsTools('chromium'), () => {
  const pages = statusPages(artifacts);
  for (const m of MODES) {
    it(`${m.name}: banner and findings, screenshot`, async () => {
      const p = await pages.open({ state: m.state() });
      await expect.poll(() => p.page.locator('#status-label').textContent()).toBe(m.label);
      const text = (await p.page.locator('body').textContent()) ?? '';
      if (m.name === 'service') {
        expect(text).toContain(OTHER_PROFILE);
        expect(text).not.toMatch(/alice/);
      }
      if (m.name === 'service-down') {
        expect(await p.page.locator('#status-why').textContent()).toBe(SERVICE_DOWN);
        // Nothing it cannot know is shown as a fact, and no button that cannot work.
        expect(text).not.toMatch(/Not set up|Not yet|No connections to known attack servers were seen/);
        expect(await p.page.locator('#connections').textContent()).toBe('Not known while Vigil’s checker cannot be reached.');
        expect(await p.page.locator('#health').textContent()).toContain('Unknown while the checker cannot be reached');
        expect(await p.page.locator('#check-now').isHidden()).toBe(true);
      } else {
        expect(await p.page.locator('#check-now').isVisible()).toBe(true);
      }
      if (m.name === 'per-user') expect(text).toContain('Other profiles on this PC are not checked');
      expect(p.problems.cspViolations).toEqual([]);
      expect(p.problems.pageErrors).toEqual([]);
      await p.page.screenshot({ fullPage: true, path: path.join(artifacts, `status-${m.name}@1x.png`) });
      // WCAG 2.1 AA with axe-core, light and dark (evaluated over CDP, outside the page's CSP).
      for (const colorScheme of ['light', 'dark'] as const) {
        await p.page.emulateMedia({ colorScheme });
        const r = (await p.page.evaluate(
          `${AXE}; axe.run(document, { runOnly: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] }).then((r) => ({ passes: r.passes.length, violations: r.violations.map((v) => ({ id: v.id, nodes: v.nodes.map((n) => n.target.join(' ')) })) }))`,
        )) as { passes: number; violations: unknown[] };
        expect({ colorScheme, violations: r.violations }).toEqual({ colorScheme, violations: [] });
        expect(r.passes).toBeGreaterThan(5); // axe really ran its rules
      }
      if (process.env.VIGIL_UPDATE_DOCS_IMG === '1') copyFileSync(path.join(artifacts, `status-${m.name}@1x.png`), path.join(repo, 'docs/img', `status-window-${m.name}.png`));
    });
  }
});
