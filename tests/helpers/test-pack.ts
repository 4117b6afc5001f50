/**
 * A small, valid pack for tests, shaped like the 3CX pack but with its own ids and a
 * known-bad hash of a file the tests generate (never real malware).
 */
import { createHash } from 'node:crypto';

/** The content of the "malicious" file the tests plant; its SHA-256 is in the test pack. */
export const PLANTED_PAYLOAD = Buffer.from('vigil test payload: not malware, a stand-in for a known-bad DLL\n');
export const PLANTED_SHA256 = createHash('sha256').update(PLANTED_PAYLOAD).digest('hex');

export function testPack(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    format: 1,
    id: 'test-softphone-2023',
    version: 1,
    title: 'Test softphone incident',
    summary: 'A test incident shaped like the 3CX DesktopApp compromise.',
    published: '2023-03-30',
    sources: [{ id: 'advisory', publisher: 'Example CERT', title: 'Test advisory', url: 'https://example.org/advisory' }],
    applications: [
      {
        id: 'softphone',
        name: 'Test Softphone',
        publisher: 'Example Ltd',
        platforms: {
          windows: {
            installDirs: [
              { scope: 'user', path: 'AppData/Local/Programs/3CXDesktopApp' },
              { scope: 'system', path: 'Program Files/3CXDesktopApp' },
            ],
            executables: ['3CXDesktopApp.exe'],
            companionFiles: ['ffmpeg.dll', 'd3dcompiler_47.dll'],
            uninstallDisplayNames: ['3CX Desktop App'],
          },
          macos: {
            installDirs: [
              { scope: 'system', path: 'Applications/3CX Desktop App.app' },
              { scope: 'user', path: 'Applications/3CX Desktop App.app' },
            ],
            companionFiles: ['Contents/Frameworks/Electron Framework.framework/Versions/A/Libraries/libffmpeg.dylib'],
            bundleIds: ['com.electron.3cx-desktop-app'],
          },
        },
        notApplicable: { linux: 'No Linux desktop build exists.' },
      },
    ],
    versionRules: [
      { id: 'win-bad', application: 'softphone', platform: 'windows', class: 'compromised', versions: ['18.12.407', '18.12.416'], summary: 'this is a compromised build', advice: 'uninstall', sources: ['advisory'] },
      { id: 'win-old', application: 'softphone', platform: 'windows', class: 'at-risk', below: '18.12.425', summary: 'this build predates the cleared release', advice: 'update', sources: ['advisory'] },
      { id: 'win-ok', application: 'softphone', platform: 'windows', class: 'safe', atLeast: '18.12.425', summary: 'this is a cleared build', advice: 'fine', sources: ['advisory'] },
      { id: 'mac-bad', application: 'softphone', platform: 'macos', class: 'compromised', versions: ['18.11.1213', '18.12.416'], summary: 'this is a compromised build', advice: 'uninstall', sources: ['advisory'] },
    ],
    hashes: [{ sha256: PLANTED_SHA256, fileName: 'ffmpeg.dll', platform: 'windows', description: 'trojanized ffmpeg.dll (test stand-in)', advice: 'isolate', sources: ['advisory'] }],
    candidateFiles: [{ platform: 'windows', location: { scope: 'user', path: 'Downloads/3CXDesktopApp*.msi' }, description: 'downloaded installers' }],
    signers: [],
    network: { domains: [{ domain: 'bad.example', sources: ['advisory'] }], urls: [], ips: [], advice: 'isolate' },
    artifacts: [
      { id: 'win-manifest', platform: 'windows', location: { scope: 'user', path: 'AppData/Local/3CXDesktopApp/manifest' }, kind: 'file', class: 'compromised', description: 'The attack\'s "manifest" timestamp file', advice: 'isolate', sources: ['advisory'] },
      { id: 'mac-storage', platform: 'macos', location: { scope: 'user', path: 'Library/Application Support/3CX Desktop App/.main_storage' }, kind: 'file', class: 'compromised', description: 'The attack\'s .main_storage file', advice: 'isolate', sources: ['advisory'] },
    ],
    advice: [
      { id: 'uninstall', title: 'Uninstall', text: 'Uninstall the desktop app and use the web app.' },
      { id: 'update', title: 'Update', text: 'Update to the cleared build.' },
      { id: 'fine', title: 'No action', text: 'This build is fine.' },
      { id: 'isolate', title: 'Isolate', text: 'Disconnect this PC from the network and call IT.' },
    ],
    ...overrides,
  };
}

/**
 * The pack attack of issue 11 (hole 7): a copy of `pack` (e.g. the built-in 3CX pack) at
 * `version`, with every detection rule emptied, as an unsigned file would carry it.
 */
export function disarmedCopy(pack: { network?: object; title: string }, version = 99): Record<string, unknown> {
  return { ...pack, version, title: `${pack.title} (updated)`, versionRules: [], hashes: [], artifacts: [], signers: [], network: { ...pack.network, domains: [], urls: [], ips: [] } };
}
