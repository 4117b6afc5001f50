/**
 * The local channel between the machine agent (the service, running as root/LocalSystem)
 * and the tray app in each user's session: a Unix domain socket on Linux and macOS, a
 * named pipe on Windows. One JSON object per line, each direction validated with the
 * schemas below; src/core/local-channel/ is the only code that speaks it.
 *
 * What a client may ask is deliberately short (CLIENT_OPS): prove who it is, get or follow
 * the state, check now, fetch the recent service log. Settings, packs and the server are
 * not reachable from here at all; a well-formed request for anything else is refused with
 * `refused` and logged by the service. A line that is not JSON, does not match this schema
 * or is longer than its limit closes that one connection.
 */
import { z } from 'zod';
import { FindingSchema, InstallSchema, PackRefSchema, VerdictSchema } from './scan.js';
import { TenantRefSchema } from './protocol.js';

export const LOCAL_CHANNEL_VERSION = 1;

export const LOCAL_CHANNEL_LIMITS = {
  /** A client line (requests are a few hundred bytes; a claim with a long home path stays well under). */
  maxClientLineBytes: 8 * 1024,
  /** A service line (a state with many findings and installs). */
  maxServiceLineBytes: 4 * 1024 * 1024,
  /** Log entries an `open-logs` reply carries at most. */
  maxLogEntries: 200,
} as const;

/** The operations a client may request; everything else is refused. */
export const CLIENT_OPS = ['hello', 'prove', 'get-state', 'subscribe', 'check-now', 'open-logs'] as const;
export type ClientOp = (typeof CLIENT_OPS)[number];

const RequestId = z.number().int().nonnegative().max(2 ** 31);

/**
 * Any request: the envelope every client line must have. `op` is a free string here so
 * that a request for something not allowed is told apart from garbage: the first is
 * refused (and logged) on a connection that stays open, the second closes it.
 */
export const ClientEnvelopeSchema = z.object({ id: RequestId, op: z.string().min(1).max(64) }).loose();

/** Who the client says it is; the service checks it before it answers anything else. */
export const PeerClaimSchema = z.object({
  /** POSIX uid of the client process (Linux, macOS). */
  uid: z.number().int().nonnegative().max(2 ** 32 - 1).optional(),
  /** The account name (on Windows DOMAIN\name). */
  user: z.string().min(1).max(256),
  /** The user's home/profile folder, which the service checks belongs to that account. */
  home: z.string().min(1).max(1024),
});
export type PeerClaim = z.infer<typeof PeerClaimSchema>;

export const ClientRequestSchema = z.discriminatedUnion('op', [
  z.object({ id: RequestId, op: z.literal('hello'), version: z.literal(LOCAL_CHANNEL_VERSION), claim: PeerClaimSchema }).strict(),
  z.object({ id: RequestId, op: z.literal('prove'), secret: z.string().regex(/^[0-9a-f]{64}$/) }).strict(),
  z.object({ id: RequestId, op: z.literal('get-state') }).strict(),
  z.object({ id: RequestId, op: z.literal('subscribe') }).strict(),
  z.object({ id: RequestId, op: z.literal('check-now') }).strict(),
  z.object({ id: RequestId, op: z.literal('open-logs') }).strict(),
]);
export type ClientRequest = z.infer<typeof ClientRequestSchema>;

export const ReporterStatusSchema = z.object({
  enrolment: z.enum(['enrolled', 'not-enrolled', 'blocked']),
  deviceId: z.string().nullable(),
  tenant: TenantRefSchema.nullable(),
  lastAttemptAt: z.string().nullable(),
  lastSuccessAt: z.string().nullable(),
  lastError: z.string().nullable(),
  blockedReason: z.string().nullable(),
  nextAttemptAt: z.string().nullable(),
  serverHeartbeatIntervalSec: z.number().nullable(),
});

/**
 * The machine agent's state as one user sees it: the core agent's state (src/core/agent.ts)
 * with other users' paths and names taken out (src/core/local-channel/redact-for-viewer.ts),
 * and what the tray needs to draw it (version, host, when the service started).
 */
export const MachineStateSchema = z.object({
  phase: z.enum(['idle', 'running', 'stopping', 'stopped']),
  scanning: z.boolean(),
  verdict: VerdictSchema.nullable(),
  findings: z.array(FindingSchema),
  installs: z.array(InstallSchema),
  packs: z.array(PackRefSchema),
  lastScanAt: z.string().nullable(),
  lastScanError: z.string().nullable(),
  connectionWatch: z.enum(['on', 'off', 'failed']),
  report: ReporterStatusSchema.nullable(),
  lastReportAt: z.string().nullable(),
  backlog: z
    .object({
      pendingAlerts: z.number().int().nonnegative(),
      droppedAlerts: z.number().int().nonnegative(),
      rejectedAlerts: z.number().int().nonnegative(),
      heartbeatPending: z.boolean(),
      durable: z.boolean(),
    })
    .nullable(),
  problems: z.array(z.string()),
  service: z.object({
    agentVersion: z.string(),
    hostname: z.string(),
    startedAt: z.iso.datetime(),
    staleAfterMs: z.number().int().positive(),
    tenant: z.string().optional(),
    /** The profile this view is for: its findings are shown in full. */
    viewerProfile: z.string().nullable(),
    /** Findings and installs in other profiles whose details were withheld from this view. */
    otherProfiles: z.object({ findings: z.number().int().nonnegative(), installs: z.number().int().nonnegative() }),
  }),
});
export type MachineState = z.infer<typeof MachineStateSchema>;

export const ServiceLogEntrySchema = z.object({
  at: z.iso.datetime(),
  level: z.enum(['debug', 'info', 'warn', 'error']),
  msg: z.string(),
});
export type ServiceLogEntry = z.infer<typeof ServiceLogEntrySchema>;

export const ChannelErrorCodeSchema = z.enum(['refused', 'not-authenticated', 'failed', 'busy']);
export type ChannelErrorCode = z.infer<typeof ChannelErrorCodeSchema>;

export const ServiceMessageSchema = z.discriminatedUnion('type', [
  /** Answer to `hello`: write nothing, read the secret the service put at `path`, send it back with `prove`. */
  z.object({ type: z.literal('challenge'), id: RequestId, path: z.string().min(1) }).strict(),
  z.object({ type: z.literal('ok'), id: RequestId }).strict(),
  z.object({ type: z.literal('state'), id: RequestId.nullable(), state: MachineStateSchema }).strict(),
  z.object({ type: z.literal('logs'), id: RequestId, entries: z.array(ServiceLogEntrySchema).max(LOCAL_CHANNEL_LIMITS.maxLogEntries) }).strict(),
  z.object({ type: z.literal('error'), id: RequestId.nullable(), code: ChannelErrorCodeSchema, message: z.string() }).strict(),
]);
export type ServiceMessage = z.infer<typeof ServiceMessageSchema>;
