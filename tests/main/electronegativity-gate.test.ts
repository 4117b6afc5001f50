/**
 * The electronegativity gate over the app's sources passes, and the same gate fails on a
 * copy with the window's protections switched off (so a pass means something).
 */
import { execFile } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const GATE = path.join(repo, 'scripts/electronegativity-gate.mjs');

function runGate(input: string, out: string): Promise<{ code: number; stdout: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [GATE, '--input', input, '--out', out], { cwd: repo, timeout: 150_000 }, (err, stdout) => {
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout });
    });
  });
}

describe('joinReports', () => {
  const sarif = {
    runs: [{ results: [{ ruleId: 'SANDBOX_JS_CHECK', level: 'warning', message: { text: 'sandbox' }, locations: [{ physicalLocation: { artifactLocation: { uri: 'main/w.ts' }, region: { startLine: 12 } } }] }] }],
  };
  it('takes severity and confidence from the CSV row with the same rule, file and line', async () => {
    const { joinReports, parseCsv } = await import('../../scripts/electronegativity-gate.mjs');
    const csv = parseCsv('issue,filename,location,severity,confidence\nSANDBOX_JS_CHECK,main/w.ts,12:4,MEDIUM,CERTAIN\n');
    expect(joinReports(sarif, csv)).toEqual([expect.objectContaining({ rule: 'SANDBOX_JS_CHECK', line: 12, severity: 'MEDIUM', confidence: 'CERTAIN' })]);
  });
  it('gives UNKNOWN when the row is torn (header written over the start of the first row)', async () => {
    const { joinReports, parseCsv } = await import('../../scripts/electronegativity-gate.mjs');
    const torn = parseCsv('issue,filename,location,severity,confidence\nCK,main/w.ts,12:4,MEDIUM,CERTAIN\n');
    expect(joinReports(sarif, torn)[0]?.severity).toBe('UNKNOWN');
  });
});

describe('electronegativity gate', () => {
  it('passes on src/ and fails on a copy with contextIsolation, sandbox and the Auxclick block removed', async () => {
    const bad = mkdtempSync(path.join(tmpdir(), 'vigil-eng-bad-'));
    for (const d of ['main', 'preload', 'renderer']) cpSync(path.join(repo, 'src', d), path.join(bad, d), { recursive: true });
    const ws = path.join(bad, 'main/window-security.ts');
    const weakened = readFileSync(ws, 'utf8')
      .replace('contextIsolation: true,', 'contextIsolation: false,')
      .replace('sandbox: true,', 'sandbox: false,')
      .replace("disableBlinkFeatures: 'Auxclick',", '');
    writeFileSync(ws, weakened);

    const out = mkdtempSync(path.join(tmpdir(), 'vigil-eng-out-'));
    const [good, worse] = await Promise.all([runGate('src', path.join(out, 'good')), runGate(bad, path.join(out, 'bad'))]);

    expect(good.stdout).toMatch(/0 at MEDIUM or above/);
    expect(good.code).toBe(0);
    const sarif = JSON.parse(readFileSync(path.join(out, 'good', 'electronegativity.sarif'), 'utf8'));
    expect(sarif.version).toBe('2.1.0');

    expect(worse.code).toBe(1);
    expect(worse.stdout).toMatch(/FAIL HIGH\s+CONTEXT_ISOLATION_JS_CHECK main\/window-security\.ts/);
    expect(worse.stdout).toMatch(/FAIL MEDIUM\s+SANDBOX_JS_CHECK/);
    expect(worse.stdout).toMatch(/FAIL MEDIUM\s+AUXCLICK_JS_CHECK/);
  }, 180_000);
});
