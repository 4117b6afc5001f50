/**
 * Writes docs/protocol/*.json: JSON Schema (draft 2020-12) for every message of the wire
 * protocol, generated from the zod schemas in src/shared/protocol.ts with z.toJSONSchema,
 * so the documentation cannot drift from what the server validates.
 * Requests are described as the server accepts them (zod "input": defaults may be
 * omitted); responses as the server sends them ("output").
 *
 *   node --import tsx scripts/gen-protocol-schema.ts          # write
 *   node --import tsx scripts/gen-protocol-schema.ts --check  # exit 1 if out of date
 *
 * tests/server/protocol-schema.test.ts fails when the committed files are stale.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import {
  AlertListSchema,
  AlertsRequestSchema,
  AlertsResponseSchema,
  DeviceDetailSchema,
  DeviceListSchema,
  EnrollRequestSchema,
  EnrollResponseSchema,
  ErrorBodySchema,
  HeartbeatResponseSchema,
  HeartbeatSchema,
  PROTOCOL_VERSION,
} from '../src/shared/protocol.js';
import { PackCoverageListSchema, PublicationListSchema, PublicationViewSchema, ScanRequestViewSchema } from '../src/shared/fleet-protocol.js';

export const PROTOCOL_SCHEMA_DIR = path.join(path.dirname(path.dirname(fileURLToPath(import.meta.url))), 'docs', 'protocol');

const MESSAGES: Array<{ file: string; title: string; schema: z.ZodType; io: 'input' | 'output' }> = [
  { file: 'enroll-request', title: 'POST /v1/enroll request body', schema: EnrollRequestSchema, io: 'input' },
  { file: 'enroll-response', title: 'POST /v1/enroll response body (201 new device, 200 re-enrolled)', schema: EnrollResponseSchema, io: 'output' },
  { file: 'heartbeat-request', title: 'POST /v1/heartbeats request body', schema: HeartbeatSchema, io: 'input' },
  { file: 'heartbeat-response', title: 'POST /v1/heartbeats response body', schema: HeartbeatResponseSchema, io: 'output' },
  { file: 'alerts-request', title: 'POST /v1/alerts request body', schema: AlertsRequestSchema, io: 'input' },
  { file: 'alerts-response', title: 'POST /v1/alerts response body', schema: AlertsResponseSchema, io: 'output' },
  { file: 'error', title: 'Body of every 4xx/5xx response', schema: ErrorBodySchema, io: 'output' },
  { file: 'admin-device-list', title: 'GET /v1/devices response body (admin)', schema: DeviceListSchema, io: 'output' },
  { file: 'admin-device', title: 'GET /v1/devices/:id response body (admin)', schema: DeviceDetailSchema, io: 'output' },
  { file: 'admin-alert-list', title: 'GET /v1/alerts response body (admin)', schema: AlertListSchema, io: 'output' },
  { file: 'admin-pack-list', title: 'GET /v1/packs response body (admin)', schema: PublicationListSchema, io: 'output' },
  { file: 'admin-pack-publication', title: 'POST /v1/packs response body (admin, 201)', schema: PublicationViewSchema, io: 'output' },
  { file: 'admin-pack-coverage', title: 'GET /v1/pack-coverage response body (admin)', schema: PackCoverageListSchema, io: 'output' },
  { file: 'admin-scan-request', title: 'POST /v1/scan-requests response body (admin, 201)', schema: ScanRequestViewSchema, io: 'output' },
];

/** File name -> file content, exactly as committed. */
export function protocolSchemaFiles(): Record<string, string> {
  const out: Record<string, string> = {};
  for (const m of MESSAGES) {
    const json = z.toJSONSchema(m.schema, { target: 'draft-2020-12', io: m.io });
    const doc = { ...json, $id: `https://vigil.example/protocol/v${PROTOCOL_VERSION}/${m.file}.json`, title: m.title };
    out[`${m.file}.json`] = JSON.stringify(doc, null, 2) + '\n';
  }
  return out;
}

function main(): void {
  const check = process.argv.includes('--check');
  const files = protocolSchemaFiles();
  let stale = 0;
  mkdirSync(PROTOCOL_SCHEMA_DIR, { recursive: true });
  for (const [name, content] of Object.entries(files)) {
    const file = path.join(PROTOCOL_SCHEMA_DIR, name);
    let current: string | undefined;
    try {
      current = readFileSync(file, 'utf8');
    } catch {
      current = undefined;
    }
    if (current === content) continue;
    stale++;
    if (check) process.stderr.write(`${path.relative(process.cwd(), file)} is out of date\n`);
    else writeFileSync(file, content);
  }
  process.stdout.write(check ? (stale ? '' : 'docs/protocol is up to date\n') : `wrote ${stale} of ${Object.keys(files).length} files in docs/protocol\n`);
  if (check && stale) process.exitCode = 1;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) main();
