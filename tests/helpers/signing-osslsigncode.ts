/**
 * `osslsigncode verify` as the peer our Authenticode verifier is compared with. Parses the
 * text osslsigncode 2.9 prints (checked against its output on this machine's fixtures):
 *
 *   Signature Index: 0  (Primary Signature)
 *   Message digest algorithm  : SHA256
 *   Current message digest    : C8CE...
 *   Calculated message digest : C8CE...
 *   Signer's certificate:
 *   	Signer #0:
 *   		Subject: /C=GB/L=London/O=Example Softphone Ltd/CN=Example Softphone Ltd
 *   		Issuer : /C=GB/O=Vigil Test, Inc./CN=Vigil Test Code Signing CA
 *   		Serial : 1B6611DF9C9A4D6ECC8ED50C9B917873
 *   ...
 *   Signature Index: 1
 *   ...
 *   Succeeded | Failed
 *
 * and, when it finds no signature, lines such as "No signature found" or "Corrupt PE file".
 */
import { spawnSync } from 'node:child_process';

export interface PeerSignature {
  index: number;
  digestAlgorithm: string;
  current: string;
  calculated: string;
  subject?: string;
  serial?: string;
}

export interface PeerVerify {
  exitCode: number | null;
  succeeded: boolean;
  signatures: PeerSignature[];
  text: string;
}

export function osslsigncodeVerify(file: string, caFile: string): PeerVerify {
  const r = spawnSync('osslsigncode', ['verify', '-CAfile', caFile, '-TSA-CAfile', caFile, '-in', file], { encoding: 'utf8' });
  const text = `${r.stdout}\n${r.stderr}`;
  const blocks = text.split(/^Signature Index: /m).slice(1);
  const signatures = blocks.map((b): PeerSignature => {
    const get = (re: RegExp) => re.exec(b)?.[1]?.trim();
    const signerPart = b.split(/^Signer's certificate:/m)[1] ?? '';
    const sig: PeerSignature = {
      index: Number(/^(\d+)/.exec(b)?.[1] ?? -1),
      digestAlgorithm: (get(/^Message digest algorithm\s*:\s*(\S+)/m) ?? '').toLowerCase(),
      current: (get(/^Current message digest\s*:\s*([0-9A-F]+)/m) ?? '').toLowerCase(),
      calculated: (get(/^Calculated message digest\s*:\s*([0-9A-F]+)/m) ?? '').toLowerCase(),
    };
    const subject = /Subject: (.*)/.exec(signerPart)?.[1]?.trim();
    const serial = /Serial : ([0-9A-F]+)/.exec(signerPart)?.[1];
    if (subject) sig.subject = subject;
    if (serial) sig.serial = serial.toLowerCase();
    return sig;
  });
  return { exitCode: r.status, succeeded: r.status === 0 && /^Succeeded$/m.test(text), signatures, text };
}

/** "/C=GB/O=Vigil Test, Inc./CN=X" -> the set of "KEY=value" pairs, with Windows key names. */
export function opensslNameParts(name: string): string[] {
  const keys: Record<string, string> = { ST: 'S', emailAddress: 'E' };
  return name
    .split(/\/(?=[A-Za-z]+=)/)
    .filter(Boolean)
    .map((p) => {
      const eq = p.indexOf('=');
      const k = p.slice(0, eq);
      return `${keys[k] ?? k}=${p.slice(eq + 1)}`;
    })
    .sort();
}

/** Our "CN=X, O=\"Vigil Test, Inc.\", C=GB" -> the same set of pairs. */
export function windowsNameParts(name: string): string[] {
  const parts: string[] = [];
  const re = /([A-Za-z.0-9]+)=("(?:[^"]|"")*"|[^,]*)(?:, |$)/g;
  for (let m = re.exec(name); m && m[0]; m = re.exec(name)) {
    const v = m[2]!.startsWith('"') ? m[2]!.slice(1, -1).replace(/""/g, '"') : m[2]!;
    parts.push(`${m[1]}=${v}`);
  }
  return parts.sort();
}
