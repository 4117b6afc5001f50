/**
 * The agent's state as the tray app and the status window see it. The headless agent
 * (src/core/agent.ts) produces it; the Electron main process forwards it over IPC; the
 * renderer validates it with this schema before it draws anything.
 */
import { z } from 'zod';
import { FindingSchema, InstallSchema, StatusSchema, VerdictSchema } from './scan.js';

export const ReportingStateSchema = z.object({
  /** Whether a backend is configured at all (an unmanaged PC may have none). */
  configured: z.boolean(),
  enrolled: z.boolean(),
  lastSuccessAt: z.iso.datetime().optional(),
  lastAttemptAt: z.iso.datetime().optional(),
  /** Plain-language reason of the last failure, if the last attempt failed. */
  lastError: z.string().optional(),
  /** Items waiting in the on-disk outbox. */
  backlog: z.number().int().nonnegative(),
  /** Alerts dropped because the outbox hit its hard cap (also reported to the backend). */
  dropped: z.number().int().nonnegative().default(0),
});
export type ReportingState = z.infer<typeof ReportingStateSchema>;

export const AgentStateSchema = z.object({
  /**
   * What the tray shows: `unknown` before the first scan finishes, or when the agent
   * cannot report for long enough that its view is stale.
   */
  status: StatusSchema,
  verdict: VerdictSchema.optional(),
  /**
   * Why the status is not the scan's verdict: the settings cannot be used, the agent could
   * not start, or it has not been able to report for too long. The tooltip and the
   * window's banner show it instead of the verdict's summary.
   */
  statusReason: z.string().min(1).optional(),
  /**
   * False when the tray cannot reach the checker at all (the service is not running, the
   * settings cannot be used): the window then says what it does not know instead of
   * showing defaults such as "Reporting: not set up", and offers no "Check now". Absent
   * means reachable.
   */
  available: z.boolean().optional(),
  findings: z.array(FindingSchema),
  installs: z.array(InstallSchema),
  scanning: z.boolean(),
  lastScanAt: z.iso.datetime().optional(),
  nextScanAt: z.iso.datetime().optional(),
  /** Set when the last scan could not run at all (not the same as an `unknown` finding). */
  lastScanError: z.string().optional(),
  reporting: ReportingStateSchema,
  watch: z.object({
    running: z.boolean(),
    lastPollAt: z.iso.datetime().optional(),
    error: z.string().optional(),
  }),
  versions: z.object({
    agent: z.string(),
    /** `receivedAt`: when a pack from the partner's backend arrived (absent for built-in and local packs). */
    packs: z.array(z.object({ id: z.string(), version: z.number().int(), title: z.string(), receivedAt: z.iso.datetime().optional() })),
  }),
  device: z.object({ id: z.string().optional(), tenant: z.string().optional(), hostname: z.string() }),
});
export type AgentState = z.infer<typeof AgentStateSchema>;
