/**
 * The wire protocol between the agent and the partner backend, version 1 (paths under /v1).
 *
 * One zod schema per message: the agent builds its requests from these types, the server
 * validates every untrusted body with the same schemas, and docs/protocol/*.json is
 * generated from them (scripts/gen-protocol-schema.ts). docs/PROTOCOL.md explains them.
 *
 * Unknown object keys are ignored rather than refused, so an agent newer than its server can
 * add optional fields without breaking; anything present is checked strictly.
 */
import { z } from 'zod';
import {
  FindingSchema,
  HostFactsSchema,
  InstallSchema,
  PackRefSchema,
  StatusSchema,
  VerdictSchema,
} from './scan.js';
import { HeartbeatDirectivesShape, HeartbeatFleetShape } from './fleet-protocol.js';

export const PROTOCOL_VERSION = 1 as const;

export const API_PATHS = {
  enroll: '/v1/enroll',
  heartbeats: '/v1/heartbeats',
  alerts: '/v1/alerts',
  devices: '/v1/devices',
  tenants: '/v1/tenants',
  /** Admin: list and publish (GET, POST); device: GET /v1/packs/{id}/{version}. */
  packs: '/v1/packs',
  packKeys: '/v1/pack-keys',
  packCoverage: '/v1/pack-coverage',
  scanRequests: '/v1/scan-requests',
  heartbeatOverrides: '/v1/heartbeat-overrides',
  healthz: '/healthz',
} as const;

/** Request headers of the device authentication scheme (docs/PROTOCOL.md, "Authentication"). */
export const AUTH_HEADERS = {
  device: 'x-vigil-device',
  timestamp: 'x-vigil-timestamp',
  nonce: 'x-vigil-nonce',
  signature: 'x-vigil-signature',
} as const;

export const PROTOCOL_LIMITS = {
  /** Bytes on the wire (compressed or not) the server reads from one ingest request. */
  maxWireBodyBytes: 512 * 1024,
  /** Bytes a gzip body may inflate to; more is refused as oversize. */
  maxDecodedBodyBytes: 2 * 1024 * 1024,
  /** The agent gzips bodies larger than this. */
  gzipAboveBytes: 4 * 1024,
  /** Timestamps further than this from the server's clock are refused (replay window). */
  replayWindowSec: 300,
  maxAlertsPerRequest: 100,
  maxFindingsPerHeartbeat: 500,
  maxInstallsPerHeartbeat: 200,
  maxPacksPerHeartbeat: 50,
  /** Shape limits on every request body, checked on its bytes before it is parsed. */
  maxJsonDepth: 32,
  maxJsonStringBytes: 16 * 1024,
  maxJsonArrayItems: 1000,
  minHeartbeatIntervalSec: 10,
  maxHeartbeatIntervalSec: 86_400,
} as const;

/** Server-issued device ids: "dev_" and 22 base64url characters (16 random bytes). */
export const DeviceIdSchema = z.string().regex(/^dev_[A-Za-z0-9_-]{22}$/, 'a device id is "dev_" and 22 base64url characters');
export type DeviceId = z.infer<typeof DeviceIdSchema>;

/** A device secret: 32 random bytes, base64url without padding (43 characters). */
export const DeviceSecretSchema = z.string().regex(/^[A-Za-z0-9_-]{43}$/, 'a device secret is 43 base64url characters');

/** Request nonce: 16 to 64 characters of base64url (the agent sends 16 random bytes). */
export const NonceSchema = z.string().regex(/^[A-Za-z0-9_-]{16,64}$/);

const ShortText = z.string().min(1).max(256);

/**
 * Host facts as they cross the wire: the scan's own schema with every string bounded
 * (DNS names are at most 253 characters; a 16 KiB hostname is not a PC).
 */
export const WireHostFactsSchema = HostFactsSchema.extend({
  hostname: z.string().min(1).max(256),
  osRelease: z.string().max(256).optional(),
  arch: z.string().max(64).optional(),
});

// ---------------------------------------------------------------------------------------
// POST /v1/enroll
// ---------------------------------------------------------------------------------------

export const StableIdSourceSchema = z.enum(['hardware', 'os', 'generated']);
export type StableIdSource = z.infer<typeof StableIdSourceSchema>;

export const EnrollRequestSchema = z.object({
  protocol: z.literal(PROTOCOL_VERSION),
  /** The tenant's enrolment token, as `vigil server token create` printed it. */
  enrollToken: z.string().min(16).max(256),
  /**
   * Identifies this machine across reinstalls: the hardware UUID, else the OS install id,
   * else a random id the agent generated and kept in its state directory.
   */
  stableId: z.string().min(8).max(200),
  stableIdSource: StableIdSourceSchema,
  host: WireHostFactsSchema,
  agentVersion: z.string().min(1).max(64),
});
export type EnrollRequest = z.infer<typeof EnrollRequestSchema>;

export const TenantRefSchema = z.object({ id: z.string(), name: z.string() });
export type TenantRef = z.infer<typeof TenantRefSchema>;

export const EnrollResponseSchema = z.object({
  deviceId: DeviceIdSchema,
  /** The HMAC key for every later request. Returned once; the server cannot show it again. */
  deviceSecret: DeviceSecretSchema,
  tenant: TenantRefSchema,
  /**
   * True when this enrolment was signed with the current credential of the record holding
   * this stable id, and that record's secret was rotated. An unsigned enrolment with a stable
   * id already held gets a new record (false), flagged for the partner as a possible duplicate.
   */
  reenrolled: z.boolean(),
  heartbeatIntervalSec: z.number().int().min(PROTOCOL_LIMITS.minHeartbeatIntervalSec).max(PROTOCOL_LIMITS.maxHeartbeatIntervalSec),
  serverTime: z.iso.datetime(),
});
export type EnrollResponse = z.infer<typeof EnrollResponseSchema>;

// ---------------------------------------------------------------------------------------
// POST /v1/heartbeats
// ---------------------------------------------------------------------------------------

/** What the partner needs of an install: which client, which version, how it classifies. */
export const InstallSummarySchema = InstallSchema.pick({
  application: true,
  applicationName: true,
  platform: true,
  user: true,
  location: true,
  version: true,
  versionClass: true,
}).extend({
  application: z.string().max(128),
  applicationName: z.string().max(256),
  user: z.string().max(256).optional(),
  /** A folder path (Windows long paths can exceed MAX_PATH; 4096 is Linux's PATH_MAX). */
  location: z.string().max(4096),
  version: z.string().max(128).optional(),
});
export type InstallSummary = z.infer<typeof InstallSummarySchema>;

export const OutboxSummarySchema = z.object({
  /** Alerts waiting on this device to be delivered (not counting this request). */
  pendingAlerts: z.number().int().nonnegative(),
  /** Alerts never stored because the outbox was at its hard cap, since the agent was installed. */
  droppedAlerts: z.number().int().nonnegative(),
  /** Alerts the server refused as invalid and the agent gave up on, since install. */
  rejectedAlerts: z.number().int().nonnegative(),
  oldestPendingAt: z.iso.datetime().nullable(),
});
export type OutboxSummary = z.infer<typeof OutboxSummarySchema>;

export const HeartbeatSchema = z.object({
  deviceId: DeviceIdSchema,
  /**
   * When the agent built this heartbeat, by the agent's clock. The server refuses one dated
   * more than the replay window ahead of its own clock; without `seq` it orders by this time,
   * capped at the time it received the heartbeat.
   */
  sentAt: z.iso.datetime(),
  /**
   * Added in v1.1 (optional; older agents omit it): this device's heartbeat sequence number,
   * one more for every heartbeat the agent builds, persisted in its state directory. The
   * server keeps the heartbeat with the highest number (docs/PROTOCOL.md, "Ordering").
   */
  seq: z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER).optional(),
  agentVersion: z.string().min(1).max(64),
  host: WireHostFactsSchema,
  /** The device status; `unknown` before the first scan completes. */
  status: StatusSchema,
  verdict: VerdictSchema.nullable(),
  lastScanAt: z.iso.datetime().nullable(),
  installs: z.array(InstallSummarySchema).max(PROTOCOL_LIMITS.maxInstallsPerHeartbeat),
  findings: z.array(FindingSchema).max(PROTOCOL_LIMITS.maxFindingsPerHeartbeat),
  packs: z.array(PackRefSchema).max(PROTOCOL_LIMITS.maxPacksPerHeartbeat),
  outbox: OutboxSummarySchema,
  connectionWatch: z.enum(['on', 'off', 'failed']),
  /** Plain statements about what is wrong with the agent itself (disk full, permission). */
  problems: z.array(z.string().max(500)).max(20),
  ...HeartbeatFleetShape,
});
export type Heartbeat = z.infer<typeof HeartbeatSchema>;

export const HeartbeatResponseSchema = z.object({
  ok: z.literal(true),
  /** The interval the server wants; the agent adopts it within the protocol's bounds. */
  heartbeatIntervalSec: z.number().int().min(PROTOCOL_LIMITS.minHeartbeatIntervalSec).max(PROTOCOL_LIMITS.maxHeartbeatIntervalSec),
  serverTime: z.iso.datetime(),
  ...HeartbeatDirectivesShape,
  /**
   * Added in v1.1 (optional): the `seq` of the heartbeat the server now shows for this
   * device (null: it shows one without a number). An agent whose own number is lower
   * continues above it.
   */
  heartbeatSeq: z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER).nullable().optional(),
  /** Added in v1.1 (optional): alerts from this device the server refused over its quota, in total. */
  refusedAlerts: z.number().int().nonnegative().optional(),
});
export type HeartbeatResponse = z.infer<typeof HeartbeatResponseSchema>;

// ---------------------------------------------------------------------------------------
// POST /v1/alerts
// ---------------------------------------------------------------------------------------

export const AlertKindSchema = z.enum(['connection', 'finding']);
export type AlertKind = z.infer<typeof AlertKindSchema>;

/** Alert ids are chosen by the agent and de-duplicated per device by the server. */
export const AlertIdSchema = z.string().regex(/^[0-9a-f]{32,64}$/, 'an alert id is 32 to 64 lowercase hex characters');

export const AlertSchema = z.object({
  alertId: AlertIdSchema,
  kind: AlertKindSchema,
  finding: FindingSchema,
  /** When the agent raised the alert (queued it), which may be long before delivery. */
  raisedAt: z.iso.datetime(),
});
export type Alert = z.infer<typeof AlertSchema>;

export const AlertsRequestSchema = z.object({
  deviceId: DeviceIdSchema,
  alerts: z.array(AlertSchema).min(1).max(PROTOCOL_LIMITS.maxAlertsPerRequest),
});
export type AlertsRequest = z.infer<typeof AlertsRequestSchema>;

export const AlertsResponseSchema = z.object({
  /** Ids stored by this request. */
  stored: z.array(AlertIdSchema),
  /** Ids the server already had from this device (stored once, by an earlier request). */
  duplicates: z.array(AlertIdSchema),
  /**
   * Added in v1.1 (optional): ids NOT stored because this device is over its alert quota.
   * Counted by the server (the device's `refusedAlerts`); the agent keeps them and sends
   * them again after `retryAfterSec`.
   */
  refused: z.array(AlertIdSchema).optional(),
  retryAfterSec: z.number().int().nonnegative().optional(),
});
export type AlertsResponse = z.infer<typeof AlertsResponseSchema>;

// ---------------------------------------------------------------------------------------
// Errors: every 4xx and 5xx response has this body.
// ---------------------------------------------------------------------------------------

export const ErrorCodeSchema = z.enum([
  'malformed_json',
  'invalid_request',
  'unsupported_media_type',
  'unsupported_encoding',
  'payload_too_large',
  'missing_credentials',
  'unknown_device',
  'revoked_device',
  'bad_signature',
  'stale_timestamp',
  'replayed_request',
  'device_mismatch',
  'invalid_enroll_token',
  'rate_limited',
  'unauthorized',
  'not_found',
  'conflict',
  'internal_error',
]);
export type ErrorCode = z.infer<typeof ErrorCodeSchema>;

export const ErrorBodySchema = z.object({
  error: z.object({
    code: ErrorCodeSchema,
    message: z.string(),
    /** For invalid_request: where the body is wrong. */
    issues: z.array(z.object({ path: z.string(), message: z.string() })).optional(),
    /** For rate_limited: when to try again (also in the Retry-After header). */
    retryAfterSec: z.number().int().nonnegative().optional(),
  }),
});
export type ErrorBody = z.infer<typeof ErrorBodySchema>;

// ---------------------------------------------------------------------------------------
// Admin API (Authorization: Bearer <admin token>)
// ---------------------------------------------------------------------------------------

export const DeviceViewSchema = z.object({
  deviceId: DeviceIdSchema,
  tenant: TenantRefSchema,
  hostname: z.string(),
  platform: z.string(),
  osRelease: z.string().nullable(),
  agentVersion: z.string(),
  stableIdSource: StableIdSourceSchema,
  enrolledAt: z.iso.datetime(),
  enrolCount: z.number().int().positive(),
  revokedAt: z.iso.datetime().nullable(),
  lastSeenAt: z.iso.datetime().nullable(),
  /** Seen within three heartbeat intervals. */
  online: z.boolean(),
  heartbeatIntervalSec: z.number().int(),
  status: StatusSchema,
  verdict: VerdictSchema.nullable(),
  lastScanAt: z.iso.datetime().nullable(),
  installs: z.array(InstallSummarySchema),
  packs: z.array(PackRefSchema),
  outbox: OutboxSummarySchema.nullable(),
  alertCount: z.number().int().nonnegative(),
  /** Alerts refused over this device's quota (not stored; the agent keeps and resends them). */
  refusedAlerts: z.number().int().nonnegative(),
  /**
   * Set when this record was enrolled with the stable id another record of the tenant holds,
   * without proof of that record's credential: a reinstalled PC, a cloned VM, or an
   * impostor. The partner resolves it (POST /v1/devices/:id/replace or /keep).
   */
  possibleDuplicateOf: DeviceIdSchema.nullable(),
  /** The sequence number of the heartbeat shown (null: none yet, or an agent that sends none). */
  heartbeatSeq: z.number().int().nullable(),
});
export type DeviceView = z.infer<typeof DeviceViewSchema>;

export const DeviceDetailSchema = DeviceViewSchema.extend({
  findings: z.array(FindingSchema),
  problems: z.array(z.string()),
  connectionWatch: z.enum(['on', 'off', 'failed']).nullable(),
});
export type DeviceDetail = z.infer<typeof DeviceDetailSchema>;

export const DeviceListSchema = z.object({ devices: z.array(DeviceViewSchema) });
export type DeviceList = z.infer<typeof DeviceListSchema>;

export const AlertViewSchema = AlertSchema.extend({
  deviceId: DeviceIdSchema,
  tenant: TenantRefSchema,
  hostname: z.string(),
  receivedAt: z.iso.datetime(),
});
export type AlertView = z.infer<typeof AlertViewSchema>;

export const AlertListSchema = z.object({ alerts: z.array(AlertViewSchema) });
export type AlertList = z.infer<typeof AlertListSchema>;

/**
 * Query of GET /v1/alerts. Strict, like the device list's: a misspelt filter
 * (`?tennant=`) is a 400 naming it, never the whole fleet.
 */
export const AdminListQuerySchema = z
  .object({
    tenant: ShortText.optional(),
    deviceId: DeviceIdSchema.optional(),
    limit: z.coerce.number().int().min(1).max(10_000).default(1000),
    /** Alerts to skip (newest first): the next page is offset + limit. */
    offset: z.coerce.number().int().min(0).max(1_000_000).default(0),
  })
  .strict();
export type AdminListQuery = z.infer<typeof AdminListQuerySchema>;

/** Query of GET /v1/devices (one device is GET /v1/devices/:id). */
export const AdminDeviceListQuerySchema = z
  .object({
    tenant: ShortText.optional(),
    limit: z.coerce.number().int().min(1).max(10_000).default(1000),
  })
  .strict();
export type AdminDeviceListQuery = z.infer<typeof AdminDeviceListQuerySchema>;
