/**
 * What a scan produces: installs found, findings, and the device verdict.
 *
 * These types cross every boundary in Vigil (CLI JSON output, the wire protocol to the
 * partner backend, the IPC contract to the status window), so they are defined once here
 * as zod schemas and the TypeScript types are inferred from them. Untrusted copies (a
 * request body on the server, a message over IPC) are validated with the same schemas.
 */
import { z } from 'zod';

export const PlatformSchema = z.enum(['windows', 'macos', 'linux']);
export type Platform = z.infer<typeof PlatformSchema>;

/**
 * Device status, in the order of the tray colours:
 * ok = green, attention = amber, compromised = red, unknown = grey.
 */
export const StatusSchema = z.enum(['ok', 'attention', 'compromised', 'unknown']);
export type Status = z.infer<typeof StatusSchema>;

/**
 * How bad one finding is. `info` never changes the verdict (e.g. "3CX 18.12.425 found, a
 * cleared build"); `unknown` means something that matters could not be checked.
 */
export const SeveritySchema = z.enum(['info', 'attention', 'compromised', 'unknown']);
export type Severity = z.infer<typeof SeveritySchema>;

export const FindingCategorySchema = z.enum([
  'install', // an installed copy of a pack application, with its version class
  'hash', // a file whose SHA-256 is a pack's known-bad hash
  'artifact', // a file or folder the pack names as left by the attack
  'signature', // code-signature verification result
  'network', // a live connection to a pack indicator
  'dns', // a DNS cache entry or hosts-file line naming a pack indicator
  'scan', // the scan itself: unreadable profile, malformed data, missing permission
  'self-integrity', // the agent's own executable
]);
export type FindingCategory = z.infer<typeof FindingCategorySchema>;

export const SignerSummarySchema = z.object({
  subject: z.string(),
  issuer: z.string().optional(),
  serial: z.string().optional(),
  sha1: z.string().optional(),
  sha256: z.string().optional(),
  teamId: z.string().optional(),
});
export type SignerSummary = z.infer<typeof SignerSummarySchema>;

export const EvidenceSchema = z.object({
  path: z.string().optional(),
  user: z.string().optional(),
  version: z.string().optional(),
  versionSource: z.string().optional(),
  sha256: z.string().optional(),
  size: z.number().int().nonnegative().optional(),
  signer: SignerSummarySchema.optional(),
  indicator: z.string().optional(),
  process: z
    .object({ pid: z.number().int(), name: z.string().optional(), path: z.string().optional() })
    .optional(),
  remote: z
    .object({ address: z.string(), port: z.number().int().optional(), host: z.string().optional() })
    .optional(),
  error: z.string().optional(),
  detail: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])).optional(),
});
export type Evidence = z.infer<typeof EvidenceSchema>;

export const AdviceSchema = z.object({
  id: z.string(),
  title: z.string(),
  text: z.string(),
  steps: z.array(z.string()).default([]),
  links: z.array(z.object({ label: z.string(), url: z.string() })).default([]),
});
export type Advice = z.infer<typeof AdviceSchema>;

export const FindingSchema = z.object({
  /** Stable across scans for the same rule and evidence, so backends can de-duplicate. */
  id: z.string().regex(/^[0-9a-f]{16,64}$/),
  category: FindingCategorySchema,
  severity: SeveritySchema,
  /** One plain-language sentence for the end user. */
  title: z.string().min(1),
  packId: z.string().optional(),
  ruleId: z.string().optional(),
  application: z.string().optional(),
  evidence: EvidenceSchema,
  advice: AdviceSchema.optional(),
  observedAt: z.iso.datetime(),
});
export type Finding = z.infer<typeof FindingSchema>;

export const InstalledFileSchema = z.object({
  role: z.enum(['executable', 'companion', 'candidate']),
  path: z.string(),
  size: z.number().int().nonnegative().optional(),
  sha256: z.string().optional(),
  error: z.string().optional(),
});
export type InstalledFile = z.infer<typeof InstalledFileSchema>;

export const InstallSchema = z.object({
  application: z.string(),
  applicationName: z.string(),
  platform: PlatformSchema,
  /** Profile the install belongs to; absent for per-machine installs. */
  user: z.string().optional(),
  location: z.string(),
  version: z.string().optional(),
  /** Where the version came from: `versioninfo` (the PE resource), `info-plist`, `registry`. */
  versionSource: z.string().optional(),
  /** Version as the uninstall entry states it, kept when it disagrees with the binary. */
  registryVersion: z.string().optional(),
  publisher: z.string().optional(),
  /** `safe`, `at-risk`, `compromised`, or `unclassified` when no rule covers the version. */
  versionClass: z.enum(['safe', 'at-risk', 'compromised', 'unclassified', 'unknown']),
  files: z.array(InstalledFileSchema),
});
export type Install = z.infer<typeof InstallSchema>;

export const VerdictSchema = z.object({
  status: StatusSchema,
  /** One sentence saying why, for the banner and the tray tooltip. */
  summary: z.string(),
  counts: z.object({
    compromised: z.number().int().nonnegative(),
    attention: z.number().int().nonnegative(),
    unknown: z.number().int().nonnegative(),
    info: z.number().int().nonnegative(),
  }),
});
export type Verdict = z.infer<typeof VerdictSchema>;

export const PackRefSchema = z.object({
  id: z.string(),
  version: z.number().int().nonnegative(),
  title: z.string(),
  /** `builtin`, `signed:<keyId>` or `unsigned` (a local file an administrator named). */
  origin: z.string(),
  /** For a pack the backend delivered: when this device received it. */
  receivedAt: z.iso.datetime().optional(),
});
export type PackRef = z.infer<typeof PackRefSchema>;

export const HostFactsSchema = z.object({
  hostname: z.string(),
  platform: PlatformSchema,
  osRelease: z.string().optional(),
  arch: z.string().optional(),
});
export type HostFacts = z.infer<typeof HostFactsSchema>;

export const ScanReportSchema = z.object({
  agentVersion: z.string(),
  host: HostFactsSchema,
  /** The platform whose layout was scanned (differs from host.platform with --root). */
  target: z.object({ platform: PlatformSchema, root: z.string(), live: z.boolean() }),
  startedAt: z.iso.datetime(),
  durationMs: z.number().nonnegative(),
  packs: z.array(PackRefSchema),
  installs: z.array(InstallSchema),
  findings: z.array(FindingSchema),
  /** Plain statements about what was and was not checked (e.g. "not applicable on linux"). */
  notes: z.array(z.string()).default([]),
  verdict: VerdictSchema,
});
export type ScanReport = z.infer<typeof ScanReportSchema>;
