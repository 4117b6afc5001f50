import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { protocolSchemaFiles, PROTOCOL_SCHEMA_DIR } from '../../scripts/gen-protocol-schema.js';
import { AgentConfigSchema } from '../../src/core/config/schema.js';
import { ErrorCodeSchema } from '../../src/shared/protocol.js';
import { connectionAlert, heartbeatFor } from './helpers/sample-reports.js';
import { enrollRequest } from './helpers/signed-request.js';

const require = createRequire(import.meta.url);
type Validate = ((data: unknown) => boolean) & { errors?: unknown[] | null };
interface AjvLike {
  compile(schema: object): Validate;
}
const Ajv2020 = require('ajv/dist/2020') as { default: new (o: object) => AjvLike };

describe('docs/protocol JSON Schema', () => {
  const files = protocolSchemaFiles();

  it('is up to date with src/shared/protocol.ts (run scripts/gen-protocol-schema.ts)', () => {
    expect(Object.keys(files).length).toBe(14);
    for (const [name, content] of Object.entries(files)) {
      expect(readFileSync(path.join(PROTOCOL_SCHEMA_DIR, name), 'utf8'), name).toBe(content);
    }
  });

  it('accepts the messages the agent sends and refuses malformed ones (checked with ajv, independently of zod)', () => {
    // zod writes date-times as a pattern too, so ajv needs no format plug-in.
    const ajv = new Ajv2020.default({ strict: false, allErrors: true, validateFormats: false });
    const schema = (n: string) => ajv.compile(JSON.parse(files[`${n}.json`]!));
    const hb = schema('heartbeat-request');
    const good = heartbeatFor('dev_AAAAAAAAAAAAAAAAAAAAAA');
    expect(hb(good), JSON.stringify(hb.errors)).toBe(true);
    expect(hb({ ...good, status: 'fine' })).toBe(false);
    expect(hb({ ...good, deviceId: 'device-1' })).toBe(false);
    const { findings: _f, ...noFindings } = good;
    expect(hb(noFindings)).toBe(false);
    const alerts = schema('alerts-request');
    expect(alerts({ deviceId: 'dev_AAAAAAAAAAAAAAAAAAAAAA', alerts: [connectionAlert(1)] })).toBe(true);
    expect(alerts({ deviceId: 'dev_AAAAAAAAAAAAAAAAAAAAAA', alerts: [] })).toBe(false);
    expect(alerts({ deviceId: 'dev_AAAAAAAAAAAAAAAAAAAAAA', alerts: [{ ...connectionAlert(1), alertId: 'x' }] })).toBe(false);
    const enrol = schema('enroll-request');
    expect(enrol(enrollRequest('vigil_enroll_0123456789abcdef', 'hw-uuid-0001'))).toBe(true);
    expect(enrol({ ...enrollRequest('vigil_enroll_0123456789abcdef', 'hw-uuid-0001'), protocol: 2 })).toBe(false);
    const err = schema('error');
    expect(err({ error: { code: 'bad_signature', message: 'the request signature does not verify' } })).toBe(true);
    expect(err({ error: { code: 'teapot', message: 'x' } })).toBe(false);
  });
});

describe('docs/PROTOCOL.md', () => {
  const doc = readFileSync(path.join(PROTOCOL_SCHEMA_DIR, '..', 'PROTOCOL.md'), 'utf8');
  const tableRows = doc.split('\n').filter((l) => l.startsWith('| `'));

  it('documents every agent setting in its settings table (src/core/config/schema.ts)', () => {
    const keys = Object.keys(AgentConfigSchema.shape);
    expect(keys.length).toBeGreaterThan(5);
    const missing = keys.filter((k) => !tableRows.some((row) => row.startsWith(`| \`${k}\` |`)));
    expect(missing, 'settings missing from the "Agent settings file" table').toEqual([]);
  });

  it('documents every error code', () => {
    const errors = doc.slice(doc.indexOf('\n## Errors'), doc.indexOf('\n## ', doc.indexOf('\n## Errors') + 5));
    const rows = errors.split('\n').filter((l) => /^\| \d(\d\d|xx) \|/.test(l));
    const missing = ErrorCodeSchema.options.filter((c) => !rows.some((row) => row.split('|')[2]!.includes(`\`${c}\``)));
    expect(missing, 'error codes missing from the "Errors" table').toEqual([]);
  });
});
