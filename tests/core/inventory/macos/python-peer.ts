/**
 * Runs tests/fixtures/macos/plist_peer.py, Python's plistlib, as the independent writer of
 * the plists our reader is checked against. One synchronous process per call; test files
 * call it once, in beforeAll of a suite declared with needsTools('python3')
 * (tests/helpers/system-tool.ts): skipped without python3, a failure under CI.
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const SCRIPT = fileURLToPath(new URL('../../../fixtures/macos/plist_peer.py', import.meta.url));

export interface PeerPlist {
  xml: Buffer;
  binary: Buffer;
}

type Wire = { xml: string; binary: string } | { error: string };

function run(command: string, input?: string): unknown {
  const result = spawnSync('python3', [SCRIPT, command], {
    input,
    encoding: 'utf8',
    maxBuffer: 256 * 1024 * 1024,
    timeout: 60_000,
  });
  if (result.error) throw result.error;
  if (result.status !== 0) throw new Error(`plist_peer.py ${command} exited ${result.status}: ${result.stderr}`);
  return JSON.parse(result.stdout);
}

function decode(w: { xml: string; binary: string }): PeerPlist {
  return { xml: Buffer.from(w.xml, 'base64'), binary: Buffer.from(w.binary, 'base64') };
}

/** The realistic 3CX Desktop App 18.12.416 Info.plist, in both forms. */
export function peerInfoPlist(): PeerPlist {
  return decode(run('info') as { xml: string; binary: string });
}

/** One plist exercising every type plistlib writes, in both forms. */
export function peerSamplePlist(): PeerPlist {
  return decode(run('sample') as { xml: string; binary: string });
}

/** Writes each tagged value (see plist_peer.py) in both forms; an error names the value's problem. */
export function peerRoundTrip(tagged: unknown[]): Array<PeerPlist | { error: string }> {
  return (run('roundtrip', JSON.stringify(tagged)) as Wire[]).map((w) => ('error' in w ? w : decode(w)));
}
