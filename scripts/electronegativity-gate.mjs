#!/usr/bin/env node
// Runs @doyensec/electronegativity over the app and fails on MEDIUM or higher findings.
//
//   node scripts/electronegativity-gate.mjs [--input src] [--out DIR]
//
// Why a wrapper: electronegativity always exits 0, findings or not. Its SARIF output is
// what CI keeps (DIR/electronegativity.sarif), but SARIF's `level` there is not the
// severity: the tool writes `note` for every finding that needs manual review and
// `warning` for all others, whatever their severity (src/util/file.js, writeIssues). So
// the gate runs the tool twice, once for SARIF and once for CSV (which
// carries the severity and confidence), joins them on rule + file + line, and fails if
// any finding is MEDIUM, HIGH or CRITICAL and not justified in ALLOWED below (each
// entry must be explained in docs/SECURITY.md).
//
// The AvailableSecurityFixesGlobalCheck is excluded: it downloads Electron's release
// list, and Electron's version is pinned and bumped deliberately (docs/SECURITY.md #16).
// Exit codes: 0 pass, 1 findings, 2 the tool did not produce its reports.
import { execFile } from 'node:child_process';
import { mkdirSync, readFileSync, existsSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);
const root = path.dirname(path.dirname(fileURLToPath(import.meta.url)));

/** Justified findings: `RULE_ID path/relative/to/input`. Keep in step with docs/SECURITY.md. */
export const ALLOWED = new Set([]);

export const FAILING = new Set(['MEDIUM', 'HIGH', 'CRITICAL']);
/** The severities the tool writes; anything else in the CSV is a torn row. */
export const SEVERITIES = new Set(['INFORMATIONAL', 'LOW', 'MEDIUM', 'HIGH', 'CRITICAL']);

function arg(name, fallback) {
  const i = process.argv.indexOf(name);
  return i > 0 && process.argv[i + 1] ? process.argv[i + 1] : fallback;
}

/** Parses electronegativity's CSV (RFC 4180 quoting). */
export function parseCsv(text) {
  const rows = [];
  let row = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        field += '"';
        i++;
      } else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') {
      row.push(field);
      field = '';
    } else if (c === '\n' || c === '\r') {
      if (c === '\r' && text[i + 1] === '\n') i++;
      row.push(field);
      if (row.some((f) => f !== '')) rows.push(row);
      row = [];
      field = '';
    } else field += c;
  }
  if (field !== '' || row.length) {
    row.push(field);
    rows.push(row);
  }
  const [header, ...body] = rows;
  const keys = (header ?? []).map((h) => h.trim());
  return body.map((r) => Object.fromEntries(keys.map((k, i) => [k, r[i] ?? ''])));
}

function runTool(cli, input, electron, outFile) {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [cli, '-i', input, '-r', '-x', 'AvailableSecurityFixesGlobalCheck', '-e', electron, '-o', outFile],
      { cwd: root, timeout: 120_000, maxBuffer: 16 * 1024 * 1024, env: { ...process.env, FORCE_COLOR: '0' } },
      (error, stdout, stderr) => resolve({ error, stdout, stderr }),
    );
  });
}

/** Runs the gate; returns { exitCode, findings, failing, sarifPath }. */
export async function gate({ input = 'src', outDir = path.join(root, 'test-artifacts', 'electronegativity') } = {}) {
  const cli = path.join(path.dirname(require.resolve('@doyensec/electronegativity/package.json')), 'dist', 'index.js');
  const electron = JSON.parse(readFileSync(require.resolve('electron/package.json'), 'utf8')).version;
  mkdirSync(outDir, { recursive: true });
  const sarifPath = path.join(outDir, 'electronegativity.sarif');
  const csvPath = path.join(outDir, 'electronegativity.csv');
  rmSync(sarifPath, { force: true });
  rmSync(csvPath, { force: true });
  const absInput = path.resolve(root, input);
  // One run for each format, retried as a pair: the tool writes its CSV header and
  // rows with writes that race, and now and then the header overwrites the start of the
  // first row (seen here: a row beginning mid-sample). A CSV without a row for every SARIF
  // result is such a torn file; after three tries what is unmatched counts as UNKNOWN.
  let a;
  let b;
  let sarif;
  let csv = [];
  for (let attempt = 0; attempt < 3; attempt++) {
    rmSync(sarifPath, { force: true });
    rmSync(csvPath, { force: true });
    a = await runTool(cli, absInput, electron, sarifPath);
    b = await runTool(cli, absInput, electron, csvPath);
    for (let i = 0; i < 50 && !(existsSync(sarifPath) && existsSync(csvPath)); i++) await new Promise((r) => setTimeout(r, 100));
    if (!existsSync(sarifPath) || !existsSync(csvPath)) {
      return { exitCode: 2, findings: [], failing: [], sarifPath, error: [a.error?.message, a.stderr, b.error?.message, b.stderr].filter(Boolean).join('\n') };
    }
    try {
      sarif = JSON.parse(readFileSync(sarifPath, 'utf8'));
    } catch {
      sarif = undefined; // torn the same way: run again
      continue;
    }
    csv = parseCsv(readFileSync(csvPath, 'utf8'));
    if (joinReports(sarif, csv).every((f) => SEVERITIES.has(f.severity))) break;
  }
  if (!sarif) return { exitCode: 2, findings: [], failing: [], sarifPath, error: 'the SARIF report is not valid JSON' };
  const findings = joinReports(sarif, csv);
  // A finding whose severity cannot be established counts as failing: never pass by accident.
  const failing = findings.filter((f) => (FAILING.has(f.severity) || !SEVERITIES.has(f.severity)) && !ALLOWED.has(`${f.rule} ${f.file}`));
  return { exitCode: failing.length ? 1 : 0, findings, failing, sarifPath };
}

/** Joins SARIF results with CSV rows on rule + file + line; a result without its row gets severity UNKNOWN. */
export function joinReports(sarif, csv) {
  return (sarif.runs?.[0]?.results ?? []).map((r) => {
    const loc = r.locations?.[0]?.physicalLocation;
    const file = loc?.artifactLocation?.uri ?? '';
    const line = loc?.region?.startLine ?? 0;
    const match = csv.find((c) => c.issue === r.ruleId && c.filename === file && Math.max(1, Number(String(c.location).split(':')[0])) === line);
    return {
      rule: r.ruleId,
      file,
      line,
      level: r.level,
      severity: match?.severity ?? 'UNKNOWN',
      confidence: match?.confidence ?? 'UNKNOWN',
      message: r.message?.text ?? '',
    };
  });
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const result = await gate({ input: arg('--input', 'src'), outDir: path.resolve(arg('--out', path.join(root, 'test-artifacts', 'electronegativity'))) });
  if (result.exitCode === 2) {
    console.error(`electronegativity did not produce its reports.\n${result.error ?? ''}`);
    process.exit(2);
  }
  for (const f of result.findings) {
    const mark = result.failing.includes(f) ? 'FAIL' : ALLOWED.has(`${f.rule} ${f.file}`) ? 'allowed' : 'ok  ';
    console.log(`${mark} ${f.severity.padEnd(8)} ${f.rule} ${f.file}:${f.line} ${f.message}`);
  }
  console.log(`${result.findings.length} finding(s), ${result.failing.length} at MEDIUM or above. SARIF: ${path.relative(root, result.sarifPath)}`);
  process.exit(result.exitCode);
}
