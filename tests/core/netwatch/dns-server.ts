/**
 * A minimal authoritative DNS server on a loopback UDP socket, for testing the real
 * node:dns resolver path (c-ares, TTLs, NXDOMAIN) without leaving the machine.
 * Answers A and AAAA from a table; unknown names get NXDOMAIN; names mapped to 'servfail'
 * get SERVFAIL.
 */
import { createSocket, type Socket } from 'node:dgram';
import { isIPv4 } from 'node:net';
import { parseIPv6Bytes } from '../../../src/core/netwatch/ip-address.js';

export type Zone = Record<string, { a?: string[]; aaaa?: string[]; ttl: number } | 'servfail'>;

export interface TestDnsServer {
  address: string;
  port: number;
  queries: string[];
  close(): Promise<void>;
}

function readName(msg: Buffer, offset: number): { name: string; end: number } {
  const labels: string[] = [];
  let i = offset;
  while (msg[i]! !== 0) {
    const len = msg[i]!;
    labels.push(msg.subarray(i + 1, i + 1 + len).toString('ascii'));
    i += 1 + len;
  }
  return { name: labels.join('.').toLowerCase(), end: i + 1 };
}

export async function startDnsServer(zone: Zone): Promise<TestDnsServer> {
  const sock: Socket = createSocket('udp4');
  const queries: string[] = [];
  sock.on('message', (msg, rinfo) => {
    const { name, end } = readName(msg, 12);
    const qtype = msg.readUInt16BE(end);
    queries.push(`${name} ${qtype === 1 ? 'A' : qtype === 28 ? 'AAAA' : qtype}`);
    const question = msg.subarray(12, end + 4);
    const entry = zone[name];
    let rcode = 0;
    const answers: Buffer[] = [];
    if (entry === undefined) rcode = 3;
    else if (entry === 'servfail') rcode = 2;
    else {
      const list = qtype === 1 ? (entry.a ?? []) : qtype === 28 ? (entry.aaaa ?? []) : [];
      for (const ip of list) {
        const rdata = isIPv4(ip) ? Buffer.from(ip.split('.').map(Number)) : Buffer.from(parseIPv6Bytes(ip)!);
        const rr = Buffer.alloc(12);
        rr.writeUInt16BE(0xc00c, 0);
        rr.writeUInt16BE(qtype, 2);
        rr.writeUInt16BE(1, 4);
        rr.writeUInt32BE(entry.ttl, 6);
        rr.writeUInt16BE(rdata.length, 10);
        answers.push(rr, rdata);
      }
    }
    const header = Buffer.alloc(12);
    header.writeUInt16BE(msg.readUInt16BE(0), 0);
    header.writeUInt16BE(0x8000 | 0x0400 | (msg.readUInt16BE(2) & 0x0100) | 0x0080 | rcode, 2);
    header.writeUInt16BE(1, 4);
    header.writeUInt16BE(answers.length / 2, 6);
    sock.send(Buffer.concat([header, question, ...answers]), rinfo.port, rinfo.address);
  });
  await new Promise<void>((resolve) => sock.bind(0, '127.0.0.1', resolve));
  return {
    address: '127.0.0.1',
    port: sock.address().port,
    queries,
    close: () => new Promise<void>((resolve) => sock.close(() => resolve())),
  };
}
