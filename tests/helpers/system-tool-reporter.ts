/**
 * A vitest reporter (listed after 'default' in vitest.config.ts) that prints, once the run
 * is over, what was skipped for missing system tools: one line per test file naming the
 * tools and their Debian packages, and the total. The skips are marked by needsTools
 * (tests/helpers/system-tool.ts) in each test's or suite's meta, which vitest carries from
 * the workers to the reporters, so no side channel is needed.
 */
import type { Reporter, TestCase, TestModule, TestSuite } from 'vitest/node';
import type { MissingTool } from './system-tool.js';

export interface SkipRecord {
  file: string;
  missing: MissingTool[];
}

function missingFor(test: TestCase): MissingTool[] | undefined {
  let node: TestCase | TestSuite | TestModule = test;
  for (;;) {
    const m = node.meta().missingTools;
    if (m?.length) return m;
    if (node.type === 'module') return undefined;
    node = node.parent;
  }
}

/** Skipped tests that needsTools marked, one record per test. */
export function collectSkips(modules: ReadonlyArray<TestModule>): SkipRecord[] {
  const out: SkipRecord[] = [];
  for (const mod of modules) {
    for (const test of mod.children.allTests()) {
      if (test.result().state !== 'skipped') continue;
      const missing = missingFor(test);
      if (missing) out.push({ file: mod.relativeModuleId, missing });
    }
  }
  return out;
}

const describeTools = (missing: MissingTool[]) => missing.map((m) => `${m.tool} (Debian package ${m.debianPackage})`).join(', ');

/** The summary's lines; empty when nothing was skipped for a missing tool. */
export function formatSkipSummary(records: SkipRecord[]): string[] {
  if (records.length === 0) return [];
  const byLine = new Map<string, { file: string; tools: string; count: number }>();
  const packages = new Set<string>();
  for (const r of records) {
    const tools = describeTools(r.missing);
    r.missing.forEach((m) => packages.add(m.debianPackage));
    const key = `${r.file}\0${tools}`;
    const entry = byLine.get(key) ?? { file: r.file, tools, count: 0 };
    entry.count++;
    byLine.set(key, entry);
  }
  const files = new Set(records.map((r) => r.file)).size;
  const lines = [...byLine.values()]
    .sort((a, b) => a.file.localeCompare(b.file))
    .map((e) => `  skipped ${e.count} ${e.count === 1 ? 'test' : 'tests'} in ${e.file}: missing ${e.tools}`);
  return [
    `System tools: ${records.length} ${records.length === 1 ? 'test' : 'tests'} in ${files} ${files === 1 ? 'file' : 'files'} skipped because a tool is not installed:`,
    ...lines,
    `  To run them: apt-get install ${[...packages].sort().join(' ')} (under CI=true a missing tool fails the run).`,
  ];
}

/** Skipped tests whose meta names another unmet precondition (tests/helpers/checkout-access.ts), one line per file and reason. */
export function formatPreconditionSkips(modules: ReadonlyArray<TestModule>): string[] {
  const counts = new Map<string, number>();
  for (const mod of modules) {
    for (const test of mod.children.allTests()) {
      if (test.result().state !== 'skipped') continue;
      let node: TestCase | TestSuite | TestModule = test;
      let why: string | undefined;
      for (;;) {
        why = node.meta().unmetPrecondition;
        if (why || node.type === 'module') break;
        node = node.parent;
      }
      if (why) counts.set(`${mod.relativeModuleId}: ${why}`, (counts.get(`${mod.relativeModuleId}: ${why}`) ?? 0) + 1);
    }
  }
  return [...counts.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([line, n]) => `  skipped ${n} ${n === 1 ? 'test' : 'tests'} in ${line}`);
}

export default class SystemToolReporter implements Reporter {
  onTestRunEnd(testModules: ReadonlyArray<TestModule>): void {
    const lines = formatSkipSummary(collectSkips(testModules));
    const other = formatPreconditionSkips(testModules);
    if (other.length) lines.push('Other preconditions not met here:', ...other);
    if (lines.length) process.stdout.write(`\n${lines.join('\n')}\n\n`);
  }
}
