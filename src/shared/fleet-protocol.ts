/**
 * Fleet response, protocol v1 additions (docs/PROTOCOL.md, "Packs from the backend" and
 * "Check now"): what the heartbeat response tells a device to run and do, what the next
 * heartbeat answers, and the admin API's pack, pack-key and scan-request messages.
 *
 * All of it is additive: a device that ignores these fields still works, and a server that
 * sends none of them leaves a newer agent on its built-in and configured packs.
 */
import { z } from 'zod';

/** Pack ids as the pack format defines them (src/core/pack/schema.ts). */
export const FleetPackIdSchema = z.string().regex(/^[a-z0-9][a-z0-9._-]{0,79}$/, 'a pack id is 1-80 lowercase letters, digits, ".", "_" or "-"');
export const Sha256HexSchema = z.string().regex(/^[0-9a-f]{64}$/, 'a SHA-256 is 64 lowercase hex digits');
export const PackKeyIdSchema = z.string().regex(/^[A-Za-z0-9._-]{1,64}$/, 'a key id is 1-64 letters, digits, ".", "_" or "-"');

export const FLEET_LIMITS = {
  /** Packs one heartbeat response may list. */
  maxPacksPerResponse: 50,
  /** Pack problems one heartbeat may report. */
  maxPackProblems: 20,
  /** A lowered heartbeat interval lasts at most this long. */
  maxOverrideSec: 7 * 86_400,
  /** A check-now request is answered by devices that heartbeat within this time. */
  scanRequestTtlSec: 86_400,
} as const;

/** One pack the device should run: it fetches the bytes from GET /v1/packs/{id}/{version}. */
export const FleetPackRefSchema = z.object({
  id: FleetPackIdSchema,
  version: z.number().int().nonnegative(),
  /** SHA-256 of the signed envelope's bytes exactly as served. */
  sha256: Sha256HexSchema,
});
export type FleetPackRef = z.infer<typeof FleetPackRefSchema>;

/** Check-now request ids: "scan_" and 16 base64url characters. */
export const ScanRequestIdSchema = z.string().regex(/^scan_[A-Za-z0-9_-]{16}$/, 'a scan request id is "scan_" and 16 base64url characters');

export const ScanRequestDirectiveSchema = z.object({
  id: ScanRequestIdSchema,
  requestedAt: z.iso.datetime(),
});
export type ScanRequestDirective = z.infer<typeof ScanRequestDirectiveSchema>;

/** Heartbeat response additions. */
export const HeartbeatDirectivesShape = {
  /**
   * The packs the backend hands this device. Absent: the server distributes none (older
   * server); present and empty: none, so a pack the device got from the backend earlier
   * was withdrawn and is dropped.
   */
  packs: z.array(FleetPackRefSchema).max(FLEET_LIMITS.maxPacksPerResponse).optional(),
  /** The oldest check-now request this device has not answered yet. */
  scanRequest: ScanRequestDirectiveSchema.optional(),
};

export const PackProblemSchema = z.object({
  id: FleetPackIdSchema,
  version: z.number().int().nonnegative(),
  /** Why the device does not run it, e.g. "signature: key \"x\" is not trusted". */
  problem: z.string().min(1).max(500),
});
export type PackProblem = z.infer<typeof PackProblemSchema>;

/** Heartbeat request additions. */
export const HeartbeatFleetShape = {
  /** Packs the backend listed that this device refused or could not fetch (it keeps its last good). */
  packProblems: z.array(PackProblemSchema).max(FLEET_LIMITS.maxPackProblems).optional(),
  /** The check-now request the scan behind this heartbeat answered. */
  answeredScanRequest: ScanRequestIdSchema.optional(),
};

// ---------------------------------------------------------------------------------------
// Admin API: packs, pack keys, check now, heartbeat interval
// ---------------------------------------------------------------------------------------

/**
 * Query of POST /v1/packs, whose body is the signed envelope file exactly as `vigil pack
 * sign` wrote it (application/json): those bytes are what devices fetch and hash.
 */
export const PackPublishQuerySchema = z
  .object({
    /** A tenant name; or `all=true` for every tenant. */
    tenant: z.string().min(1).max(200).optional(),
    all: z.enum(['true']).optional(),
    /** Who publishes, for the record (default "admin API"). */
    by: z.string().min(1).max(200).optional(),
  })
  .strict()
  .refine((r) => (r.tenant !== undefined) !== (r.all === 'true'), { message: 'give either tenant=NAME or all=true' });
export type PackPublishQuery = z.infer<typeof PackPublishQuerySchema>;

export const PublicationViewSchema = z.object({
  publicationId: z.string(),
  packId: FleetPackIdSchema,
  version: z.number().int().nonnegative(),
  title: z.string(),
  /** null: every tenant. */
  tenant: z.string().nullable(),
  signerKeyId: PackKeyIdSchema,
  sha256: Sha256HexSchema,
  size: z.number().int().nonnegative(),
  publishedBy: z.string(),
  publishedAt: z.iso.datetime(),
  withdrawnAt: z.iso.datetime().nullable(),
  withdrawnBy: z.string().nullable(),
});
export type PublicationView = z.infer<typeof PublicationViewSchema>;

export const PublicationListSchema = z.object({ packs: z.array(PublicationViewSchema) });

/** Body of POST /v1/packs/{id}/withdraw: one tenant's publications, the every-tenant ones (all), or omitted: every publication. */
export const PackWithdrawRequestSchema = z
  .object({ tenant: z.string().min(1).max(200).optional(), all: z.boolean().optional(), by: z.string().min(1).max(200).optional() })
  .strict();

export const PackKeyViewSchema = z.object({ keyId: PackKeyIdSchema, publicKey: z.string(), addedAt: z.iso.datetime() });
export const PackKeyAddRequestSchema = z.object({ keyId: PackKeyIdSchema, publicKey: z.string() }).strict();

export const ScanRequestCreateSchema = z
  .object({
    deviceId: z.string().optional(),
    tenant: z.string().min(1).max(200).optional(),
    all: z.boolean().optional(),
    by: z.string().min(1).max(200).optional(),
  })
  .strict()
  .refine((r) => [r.deviceId !== undefined, r.tenant !== undefined, r.all === true].filter(Boolean).length === 1, {
    message: 'give exactly one of deviceId, tenant or all: true',
  });
export type ScanRequestCreate = z.infer<typeof ScanRequestCreateSchema>;

export const ScanRequestViewSchema = z.object({
  requestId: ScanRequestIdSchema,
  scope: z.enum(['device', 'tenant', 'all']),
  deviceId: z.string().nullable(),
  tenant: z.string().nullable(),
  requestedBy: z.string(),
  requestedAt: z.iso.datetime(),
  expiresAt: z.iso.datetime(),
  /** Devices in scope, and those whose heartbeat said they scanned for it. */
  targeted: z.number().int().nonnegative(),
  answered: z.number().int().nonnegative(),
});
export type ScanRequestView = z.infer<typeof ScanRequestViewSchema>;

export const HeartbeatOverrideRequestSchema = z
  .object({
    tenant: z.string().min(1).max(200),
    intervalSec: z.number().int().min(10).max(86_400),
    forSec: z.number().int().min(60).max(FLEET_LIMITS.maxOverrideSec),
    by: z.string().min(1).max(200).optional(),
  })
  .strict();

/** GET /v1/pack-coverage: per published pack, how far the fleet has taken it up. */
export const PackCoverageSchema = z.object({
  packId: FleetPackIdSchema,
  title: z.string(),
  /** The highest active version (tenants may have their own publications). */
  latestVersion: z.number().int().nonnegative(),
  firstPublishedAt: z.iso.datetime(),
  /** Devices (not revoked) of the tenants the pack is published to. */
  devices: z.number().int().nonnegative(),
  /** Run their tenant's version and scanned since it was published. */
  covered: z.number().int().nonnegative(),
  /** Online, not covered yet. */
  pending: z.number().int().nonnegative(),
  /** Offline and not covered. */
  offline: z.number().int().nonnegative(),
  /** Covered devices with a compromised / attention finding from this pack. */
  compromised: z.number().int().nonnegative(),
  attention: z.number().int().nonnegative(),
  /** Devices that report a problem with this pack (refused, cannot fetch). */
  problems: z.number().int().nonnegative(),
  /** Seconds from publication until 50 / 90 / 100 % of the online devices were covered; null until reached. */
  timeToCoverSec: z.object({ p50: z.number().nullable(), p90: z.number().nullable(), p100: z.number().nullable() }),
  pendingDevices: z.array(z.object({ deviceId: z.string(), hostname: z.string(), tenant: z.string(), online: z.boolean() })),
});
export type PackCoverage = z.infer<typeof PackCoverageSchema>;
export const PackCoverageListSchema = z.object({ coverage: z.array(PackCoverageSchema) });

/** POST /v1/alerts/{deviceId}/{alertId}/acknowledge and .../resolve. */
export const AlertTriageRequestSchema = z
  .object({ by: z.string().min(1).max(200).optional(), note: z.string().max(2000).optional() })
  .strict();

export const TriageSchema = z.object({
  state: z.enum(['open', 'acknowledged', 'resolved']),
  by: z.string().nullable(),
  note: z.string().nullable(),
  at: z.iso.datetime().nullable(),
});
export type Triage = z.infer<typeof TriageSchema>;

/** Query of GET /v1/alert-triage. */
export const AlertTriageQuerySchema = z
  .object({
    state: z.enum(['open', 'acknowledged', 'resolved', 'unresolved', 'all']).default('unresolved'),
    tenant: z.string().min(1).max(200).optional(),
    deviceId: z.string().optional(),
    limit: z.coerce.number().int().min(1).max(10_000).default(1000),
  })
  .strict();
