import { SocketAddress } from 'node:net';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { canonicalIp, formatIpBytes, isMulticastOrBroadcast, isSinkholeAddress, parseIPv6Bytes } from '../../../src/core/netwatch/ip-address.js';

describe('canonicalIp', () => {
  it('canonicalizes what tools print', () => {
    expect(canonicalIp('127.0.0.1')).toEqual({ address: '127.0.0.1', family: 4 });
    expect(canonicalIp('[::1]')).toEqual({ address: '::1', family: 6 });
    expect(canonicalIp('0:0:0:0:0:0:0:1')).toEqual({ address: '::1', family: 6 });
    expect(canonicalIp('2001:DB8:0:0:1:0:0:1')?.address).toBe('2001:db8::1:0:0:1');
    expect(canonicalIp('::ffff:127.0.0.1')).toEqual({ address: '127.0.0.1', family: 4 });
    expect(canonicalIp('::ffff:7f00:39')).toEqual({ address: '127.0.0.57', family: 4 });
    expect(canonicalIp('fe80::1c18:b13a:3f78:eff5%12')).toEqual({ address: 'fe80::1c18:b13a:3f78:eff5', family: 6, scope: '12' });
    expect(canonicalIp('fe80::1%en0')).toEqual({ address: 'fe80::1', family: 6, scope: 'en0' });
    // KAME: lsof on macOS prints the interface index inside the address.
    expect(canonicalIp('fe80:b::1c18:b13a:3f78:eff5')).toEqual({ address: 'fe80::1c18:b13a:3f78:eff5', family: 6, scope: '11' });
  });

  it('rejects what is not an IP address', () => {
    for (const bad of ['', '*', 'localhost', '1.2.3', '1.2.3.256', '::1::2', '1:2:3:4:5:6:7:8:9', '12345::', 'fe80::1%', '127.0.0.1%3', '[::1', 'g::1', ':::']) {
      expect(canonicalIp(bad), bad).toBeNull();
    }
  });

  it('agrees with inet_ntop on random IPv6 addresses (RFC 5952)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 16, maxLength: 16 }), fc.integer({ min: 0, max: 7 }), fc.integer({ min: 0, max: 8 }), (bytes, zs, zl) => {
        // Runs of zero groups are what compression is about; make them frequent.
        for (let g = zs; g < Math.min(8, zs + zl); g++) bytes.fill(0, g * 2, g * 2 + 2);
        if (bytes.subarray(0, 10).every((b) => b === 0)) return; // mapped/compatible forms differ by design
        const ours = formatIpBytes(bytes).address;
        expect(ours).toBe(new SocketAddress({ address: ours, family: 'ipv6' }).address);
        expect(Buffer.from(parseIPv6Bytes(ours)!)).toEqual(Buffer.from(bytes));
      }),
    );
  });

  it('classifies special addresses', () => {
    expect(isSinkholeAddress('0.0.0.0')).toBe(true);
    expect(isSinkholeAddress('::')).toBe(true);
    expect(isSinkholeAddress('127.0.0.2')).toBe(true);
    expect(isSinkholeAddress('::1')).toBe(true);
    expect(isSinkholeAddress('203.0.113.7')).toBe(false);
    expect(isMulticastOrBroadcast('224.0.0.251')).toBe(true);
    expect(isMulticastOrBroadcast('255.255.255.255')).toBe(true);
    expect(isMulticastOrBroadcast('ff02::fb')).toBe(true);
    expect(isMulticastOrBroadcast('ffe::1')).toBe(false);
    expect(isMulticastOrBroadcast('198.51.100.1')).toBe(false);
  });
});
