/**
 * The STIX 2.1 bundle as a feed: one zod schema for the objects an import reads
 * (indicators, observed-data and the cyber observables it points at, relationships,
 * reports, identities, and the named objects relationships point at). Other object types
 * pass through unread. Every problem names the object by its id and the field.
 */
import { z } from 'zod';
import { capProblems, FeedError, MAX_FEED_BYTES } from './feed.js';

export const MAX_BUNDLE_OBJECTS = 200_000;

const StixId = z.string().regex(/^[a-z0-9][a-z0-9-]*--[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/, 'must be a STIX id such as indicator--<UUID>');

const ExternalReference = z.looseObject({
  source_name: z.string().min(1),
  url: z.string().optional(),
  description: z.string().optional(),
  external_id: z.string().optional(),
});
export type ExternalReference = z.infer<typeof ExternalReference>;

const Common = {
  id: StixId,
  spec_version: z.string().optional(),
  created_by_ref: StixId.optional(),
  external_references: z.array(ExternalReference).optional(),
};

export const IndicatorSchema = z.looseObject({
  ...Common,
  type: z.literal('indicator'),
  name: z.string().optional(),
  description: z.string().optional(),
  pattern: z.string({ error: (i) => (i.input === undefined ? 'an indicator must have a pattern' : 'must be a string') }).min(1, 'an indicator must have a pattern'),
  /** Required in 2.1; absent in 2.0, where every pattern is STIX patterning. */
  pattern_type: z.string().optional(),
});
export type StixIndicator = z.infer<typeof IndicatorSchema>;

const ObservedDataSchema = z.looseObject({
  ...Common,
  type: z.literal('observed-data'),
  object_refs: z.array(StixId).optional(),
  /** STIX 2.0 embedded observables, keyed "0", "1", ... */
  objects: z.record(z.string(), z.looseObject({ type: z.string() })).optional(),
});

const RelationshipSchema = z.looseObject({
  ...Common,
  type: z.literal('relationship'),
  relationship_type: z.string().min(1),
  source_ref: StixId,
  target_ref: StixId,
});

const ContainerSchema = z.looseObject({
  ...Common,
  type: z.enum(['report', 'grouping']),
  name: z.string().optional(),
  description: z.string().optional(),
  published: z.string().optional(),
  object_refs: z.array(StixId).default([]),
});

const NamedSchema = z.looseObject({ ...Common, type: z.string(), name: z.string().optional() });

export const FileScoSchema = z.looseObject({
  type: z.literal('file'),
  id: StixId.optional(),
  hashes: z.record(z.string(), z.string()).optional(),
  name: z.string().optional(),
});
export const ValueScoSchema = z.looseObject({
  type: z.enum(['domain-name', 'url', 'ipv4-addr', 'ipv6-addr']),
  id: StixId.optional(),
  value: z.string({ error: 'must be a string' }),
});

export type StixObject =
  | z.infer<typeof IndicatorSchema>
  | z.infer<typeof ObservedDataSchema>
  | z.infer<typeof RelationshipSchema>
  | z.infer<typeof ContainerSchema>
  | z.infer<typeof FileScoSchema>
  | z.infer<typeof ValueScoSchema>
  | z.infer<typeof NamedSchema>;

const SCHEMA_BY_TYPE: Record<string, z.ZodType> = {
  indicator: IndicatorSchema,
  'observed-data': ObservedDataSchema,
  relationship: RelationshipSchema,
  report: ContainerSchema,
  grouping: ContainerSchema,
  file: FileScoSchema,
  'domain-name': ValueScoSchema,
  url: ValueScoSchema,
  'ipv4-addr': ValueScoSchema,
  'ipv6-addr': ValueScoSchema,
};

const BundleSchema = z.object({
  type: z.literal('bundle', { error: (i) => `must be "bundle", got ${JSON.stringify(i.input)}: a feed must be a STIX bundle` }),
  id: StixId,
  objects: z.array(z.unknown()).max(MAX_BUNDLE_OBJECTS, `a bundle is limited to ${MAX_BUNDLE_OBJECTS} objects`).default([]),
});

function issuePath(path: PropertyKey[]): string {
  return path.length ? path.map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`)).join('').replace(/^\./, '') : '(object)';
}

/** Parses bundle text; throws FeedError naming every malformed object by id and field. */
export function parseStixBundle(text: string, feed: string): StixObject[] {
  if (Buffer.byteLength(text) > MAX_FEED_BYTES) throw new FeedError(feed, [`the file is larger than ${MAX_FEED_BYTES} bytes`]);
  let doc: unknown;
  try {
    doc = JSON.parse(text.charCodeAt(0) === 0xfeff ? text.slice(1) : text);
  } catch (err) {
    throw new FeedError(feed, [`not valid JSON: ${(err as Error).message}`]);
  }
  if (doc === null || typeof doc !== 'object' || Array.isArray(doc)) throw new FeedError(feed, ['(top level): a STIX bundle must be a JSON object']);
  const bundle = BundleSchema.safeParse(doc);
  if (!bundle.success) throw new FeedError(feed, bundle.error.issues.map((i) => `${issuePath(i.path)}: ${i.message}`));
  const problems: string[] = [];
  const objects: StixObject[] = [];
  bundle.data.objects.forEach((raw, index) => {
    if (raw === null || typeof raw !== 'object' || Array.isArray(raw) || typeof (raw as { type?: unknown }).type !== 'string') {
      problems.push(`objects[${index}]: must be a STIX object with a "type"`);
      return;
    }
    const type = (raw as { type: string }).type;
    const rawId = (raw as { id?: unknown }).id;
    const name = typeof rawId === 'string' ? rawId : `objects[${index}] (${type})`;
    const schema = SCHEMA_BY_TYPE[type] ?? NamedSchema;
    const r = schema.safeParse(raw);
    if (!r.success) {
      for (const i of r.error.issues) problems.push(`${name}: ${issuePath(i.path)}: ${i.message}`);
      return;
    }
    const obj = r.data as StixObject;
    if ('spec_version' in obj && obj.spec_version !== undefined && obj.spec_version !== '2.1') {
      problems.push(`${name}: spec_version: ${JSON.stringify(obj.spec_version)} is not STIX 2.1`);
      return;
    }
    objects.push(obj);
  });
  if (problems.length) throw new FeedError(feed, capProblems(problems));
  return objects;
}
