import { describe, expect, it } from 'vitest';
import {
  canonicalString,
  checkTimestamp,
  computeSignature,
  secretKey,
  sha256Hex,
  signRequest,
  verifySignature,
  type SignedParts,
} from '../../../src/core/report/hmac-auth.js';

// Computed independently with openssl (see docs/PROTOCOL.md, "Worked example"):
//   printf 'VIGIL-HMAC-SHA256\nPOST\n/v1/heartbeats\n1700000000\nAAAAAAAAAAAAAAAAAAAAAA\ndev_AAAAAAAAAAAAAAAAAAAAAA\nidentity\n<sha256 of body>' \
//     | openssl dgst -sha256 -mac HMAC -macopt hexkey:0707...07 -binary | base64url
const SECRET = 'BwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwc'; // 32 bytes of 0x07
const BODY = '{"hello":"world"}';
const PARTS: SignedParts = {
  method: 'POST',
  path: '/v1/heartbeats',
  timestamp: '1700000000',
  nonce: 'AAAAAAAAAAAAAAAAAAAAAA',
  deviceId: 'dev_AAAAAAAAAAAAAAAAAAAAAA',
  contentEncoding: 'identity',
  bodySha256: '93a23971a914e5eacbf0a8d25154cda309c3c1c72fbb9914d47c60f3cb681588',
};

describe('HMAC request signing', () => {
  it('matches a signature computed independently with openssl', () => {
    expect(sha256Hex(BODY)).toBe(PARTS.bodySha256);
    expect(secretKey(SECRET)).toEqual(Buffer.alloc(32, 7));
    expect(computeSignature(secretKey(SECRET), PARTS)).toBe('k-V_zdK7PmPAR9_f8n4kncttu54Ug9ycgpRvHc-Zc1w');
    expect(canonicalString(PARTS).split('\n')).toHaveLength(8);
  });

  it('signRequest produces headers that verify, and any change to a signed part breaks them', () => {
    const body = Buffer.from(BODY);
    const h = signRequest({ deviceId: PARTS.deviceId, deviceSecret: SECRET }, { method: 'post', path: '/v1/heartbeats', body }, { nowMs: 1_700_000_000_500, nonce: PARTS.nonce });
    expect(h['x-vigil-timestamp']).toBe('1700000000');
    expect(h['x-vigil-signature']).toBe('k-V_zdK7PmPAR9_f8n4kncttu54Ug9ycgpRvHc-Zc1w');
    const key = secretKey(SECRET);
    expect(verifySignature(key, PARTS, h['x-vigil-signature']!)).toBe(true);
    const tampered: Array<Partial<SignedParts>> = [
      { method: 'PUT' },
      { path: '/v1/alerts' },
      { timestamp: '1700000001' },
      { nonce: 'BAAAAAAAAAAAAAAAAAAAAA' },
      { deviceId: 'dev_BAAAAAAAAAAAAAAAAAAAAA' },
      { contentEncoding: 'gzip' },
      { bodySha256: sha256Hex('{"hello":"World"}') },
    ];
    for (const t of tampered) expect(verifySignature(key, { ...PARTS, ...t }, h['x-vigil-signature']!)).toBe(false);
    expect(verifySignature(Buffer.alloc(32, 8), PARTS, h['x-vigil-signature']!)).toBe(false);
  });

  it('refuses malformed signatures without throwing', () => {
    const key = secretKey(SECRET);
    for (const sig of ['', 'x', 'k-V_zdK7PmPAR9_f8n4kncttu54Ug9ycgpRvHc-Zc1', 'k-V_zdK7PmPAR9_f8n4kncttu54Ug9ycgpRvHc-Zc1w=', '\u0000'.repeat(43), 'é'.repeat(43)]) {
      expect(verifySignature(key, PARTS, sig)).toBe(false);
    }
  });

  it('checks the timestamp window both ways and rejects non-numeric timestamps', () => {
    const now = 1_700_000_000_000;
    expect(checkTimestamp('1700000000', now, 300)).toBe('ok');
    expect(checkTimestamp('1700000300', now, 300)).toBe('ok');
    expect(checkTimestamp('1699999700', now, 300)).toBe('ok');
    expect(checkTimestamp('1700000301', now, 300)).toBe('stale');
    expect(checkTimestamp('1699999699', now, 300)).toBe('stale');
    for (const bad of ['', '-1', '1.5', '1e9', ' 1700000000', '17000000000000', 'now']) expect(checkTimestamp(bad, now, 300)).toBe('invalid');
  });
});
