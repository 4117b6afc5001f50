/**
 * The incident pack format (format 1). A pack is data: everything Vigil knows about one
 * incident (applications, version rules, hashes, signers, network indicators, on-disk
 * artefacts, advice) and the public source of each indicator. The next incident is a new
 * pack, not a new release. docs/PACKS.md documents every field; keep the two in step.
 */
import { z } from 'zod';
import { PlatformSchema } from '../../shared/scan.js';

/** The newest pack format this agent understands. */
export const PACK_FORMAT = 1;

const Id = z
  .string()
  .regex(/^[a-z0-9][a-z0-9._-]{0,79}$/, 'must be 1-80 lowercase letters, digits, ".", "_" or "-"');
const Sha256 = z.string().regex(/^[0-9a-f]{64}$/, 'must be 64 lowercase hex digits (SHA-256)');
const Sha1 = z.string().regex(/^[0-9a-f]{40}$/, 'must be 40 lowercase hex digits (SHA-1)');
const Md5 = z.string().regex(/^[0-9a-f]{32}$/, 'must be 32 lowercase hex digits (MD5)');
const DottedVersion = z
  .string()
  .regex(/^\d+(\.\d+){0,3}$/, 'must be a dotted numeric version such as 18.12.416');
/** Every indicator names at least one entry of `sources` by id. */
const SourceRefs = z.array(Id).min(1, 'every indicator must cite at least one source');

/**
 * A path relative to a scope: `user` is each user profile or home folder
 * (C:\Users\<name>, /Users/<name>, /home/<name>); `system` is the root of the scanned
 * file system (C:\ or /). Segments are separated by "/"; a segment may contain `*`, which
 * matches within that one folder listing (never recursively).
 */
const RelativePath = z
  .string()
  .min(1)
  .refine((p) => !p.startsWith('/') && !/^[a-zA-Z]:/.test(p), 'must be relative to its scope')
  .refine((p) => !p.includes('\\'), 'must use "/" as the separator')
  .refine((p) => !p.split('/').some((s) => s === '..' || s === '.' || s === ''), 'must not contain "", "." or ".." segments')
  .refine((p) => !p.split('/').some((s) => s.includes('**')), 'must not use "**" (Vigil never walks folders recursively)');

export const LocationSchema = z.object({
  scope: z.enum(['user', 'system']),
  path: RelativePath,
});
export type Location = z.infer<typeof LocationSchema>;

export const SourceSchema = z.object({
  id: Id,
  publisher: z.string().min(1),
  title: z.string().min(1),
  url: z.url({ protocol: /^https$/ }),
  published: z.iso.date().optional(),
});
export type Source = z.infer<typeof SourceSchema>;

export const PackAdviceSchema = z.object({
  id: Id,
  title: z.string().min(1),
  /** Plain language for the end user: what this means and what to do. */
  text: z.string().min(1),
  steps: z.array(z.string().min(1)).default([]),
  links: z.array(z.object({ label: z.string().min(1), url: z.url({ protocol: /^https$/ }) })).default([]),
});
export type PackAdvice = z.infer<typeof PackAdviceSchema>;

const ExactRelativePath = RelativePath.refine((p) => !/[*?]/.test(p), { message: 'must be an exact path: wildcards are allowed only in locations (installDirs, candidateFiles, artifacts)' });

export const PlatformAppSchema = z.object({
  /**
   * Windows: folders the application installs into; macOS: the `.app` bundle paths;
   * Linux: install folders.
   */
  installDirs: z.array(LocationSchema).min(1),
  /**
   * Main executable names, relative to the install dir (Windows/Linux). Exact names: they
   * are looked up, not matched, so a wildcard is refused rather than silently never found.
   */
  executables: z.array(ExactRelativePath).default([]),
  /** Other files of the install to hash and verify, relative to the install dir or bundle. */
  companionFiles: z.array(ExactRelativePath).default([]),
  /** Windows uninstall-entry DisplayName values that identify the application (case-insensitive). */
  uninstallDisplayNames: z.array(z.string().min(1)).default([]),
  /** macOS CFBundleIdentifier values. */
  bundleIds: z.array(z.string().min(1)).default([]),
});
export type PlatformApp = z.infer<typeof PlatformAppSchema>;

export const ApplicationSchema = z.object({
  id: Id,
  name: z.string().min(1),
  publisher: z.string().min(1),
  platforms: z
    .object({
      windows: PlatformAppSchema.optional(),
      macos: PlatformAppSchema.optional(),
      linux: PlatformAppSchema.optional(),
    })
    .refine((p) => p.windows || p.macos || p.linux, 'must describe at least one platform'),
  /** Why a platform is absent, shown instead of "not found" (e.g. no Linux build exists). */
  notApplicable: z.partialRecord(PlatformSchema, z.string().min(1)).optional(),
});
export type Application = z.infer<typeof ApplicationSchema>;

export const VersionClassSchema = z.enum(['compromised', 'at-risk', 'safe']);
export type VersionClass = z.infer<typeof VersionClassSchema>;

export const VersionRuleSchema = z
  .object({
    id: Id,
    application: Id,
    platform: PlatformSchema,
    class: VersionClassSchema,
    /** Exact versions this rule names. */
    versions: z.array(DottedVersion).optional(),
    /** Inclusive lower bound. */
    atLeast: DottedVersion.optional(),
    /** Exclusive upper bound. */
    below: DottedVersion.optional(),
    summary: z.string().min(1),
    advice: Id,
    sources: SourceRefs,
  })
  .refine((r) => r.versions?.length || r.atLeast || r.below, {
    message: 'must give versions, atLeast or below',
  });
export type VersionRule = z.infer<typeof VersionRuleSchema>;

export const FileHashSchema = z.object({
  sha256: Sha256,
  sha1: Sha1.optional(),
  md5: Md5.optional(),
  fileName: z.string().min(1),
  platform: PlatformSchema.optional(),
  description: z.string().min(1),
  advice: Id,
  sources: SourceRefs,
});
export type FileHash = z.infer<typeof FileHashSchema>;

/**
 * Files outside an install that are worth hashing (e.g. downloaded installers). Only these
 * locations and the install's own executables and companion files are ever hashed.
 */
export const CandidateFileSchema = z.object({
  platform: PlatformSchema,
  location: LocationSchema,
  description: z.string().min(1),
});
export type CandidateFile = z.infer<typeof CandidateFileSchema>;

export const SignerSchema = z
  .object({
    id: Id,
    /**
     * trusted: a certificate the publisher signs good builds with;
     * compromised-generation: a genuine certificate that also signed the trojanized builds,
     *   so a signature by it is at-risk evidence, not proof of either;
     * distrusted: a signature by it marks the file compromised.
     */
    disposition: z.enum(['trusted', 'compromised-generation', 'distrusted']),
    application: Id.optional(),
    platform: PlatformSchema.optional(),
    subject: z.string().min(1),
    issuer: z.string().min(1).optional(),
    /** Certificate serial number, lowercase hex without separators. */
    serial: z.string().regex(/^[0-9a-f]+$/, 'must be lowercase hex without separators').optional(),
    sha1: Sha1.optional(),
    sha256: Sha256.optional(),
    /** Apple Developer Team ID. */
    teamId: z.string().regex(/^[A-Z0-9]{10}$/, 'must be a 10-character Apple Team ID').optional(),
    validFrom: z.iso.date().optional(),
    validTo: z.iso.date().optional(),
    description: z.string().min(1),
    advice: Id,
    sources: SourceRefs,
  })
  .refine((s) => s.sha1 || s.sha256 || s.teamId || (s.serial && s.issuer), {
    message: 'must identify the certificate by sha1, sha256, teamId, or issuer + serial',
  });
export type Signer = z.infer<typeof SignerSchema>;

const Domain = z
  .string()
  .regex(/^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z][a-z0-9-]{0,61}[a-z0-9]$/, 'must be a lowercase DNS name');

export const NetworkIndicatorsSchema = z.object({
  domains: z
    .array(z.object({ domain: Domain, description: z.string().optional(), sources: SourceRefs }))
    .default([]),
  /**
   * URLs on shared infrastructure (e.g. a GitHub repository path): matched in URL and DNS
   * evidence, never by the host's addresses, which other services share.
   */
  urls: z
    .array(z.object({ url: z.url(), description: z.string().optional(), sources: SourceRefs }))
    .default([]),
  ips: z
    .array(
      z.object({
        ip: z.union([z.ipv4(), z.ipv6()]),
        description: z.string().optional(),
        sources: SourceRefs,
      }),
    )
    .default([]),
  advice: Id,
});
export type NetworkIndicators = z.infer<typeof NetworkIndicatorsSchema>;

export const ArtifactSchema = z.object({
  id: Id,
  platform: PlatformSchema,
  location: LocationSchema,
  kind: z.enum(['file', 'directory']),
  /** compromised: only the attack leaves it; attention: suspicious but also benign causes. */
  class: z.enum(['compromised', 'attention']),
  description: z.string().min(1),
  advice: Id,
  sources: SourceRefs,
});
export type Artifact = z.infer<typeof ArtifactSchema>;

export const PackSchema = z
  .object({
    format: z.number().int().positive(),
    id: Id,
    /** Revision of this pack; a higher one replaces a lower one with the same id. */
    version: z.number().int().nonnegative(),
    title: z.string().min(1),
    summary: z.string().min(1),
    published: z.iso.date(),
    sources: z.array(SourceSchema).min(1),
    applications: z.array(ApplicationSchema).min(1),
    versionRules: z.array(VersionRuleSchema).default([]),
    hashes: z.array(FileHashSchema).default([]),
    candidateFiles: z.array(CandidateFileSchema).default([]),
    signers: z.array(SignerSchema).default([]),
    network: NetworkIndicatorsSchema.optional(),
    artifacts: z.array(ArtifactSchema).default([]),
    advice: z.array(PackAdviceSchema).min(1),
    /**
     * The advice for an install whose version cannot be read or that no version rule
     * covers. Defaults to the first entry of `advice`.
     */
    fallbackAdvice: Id.optional(),
  })
  .superRefine((pack, ctx) => {
    // Cross-references: every id a rule names must exist, so a pack never half-works.
    const ids = (xs: { id: string }[]) => new Set(xs.map((x) => x.id));
    const sources = ids(pack.sources);
    const advice = ids(pack.advice);
    const apps = ids(pack.applications);
    const check = (set: Set<string>, what: string, value: string | undefined, path: (string | number)[]) => {
      if (value !== undefined && !set.has(value)) {
        ctx.addIssue({ code: 'custom', message: `unknown ${what} id "${value}"`, path });
      }
    };
    const checkSources = (refs: string[], path: (string | number)[]) =>
      refs.forEach((r, i) => check(sources, 'source', r, [...path, 'sources', i]));
    for (const [name, list] of [
      ['sources', pack.sources],
      ['advice', pack.advice],
      ['applications', pack.applications],
      ['versionRules', pack.versionRules],
      ['signers', pack.signers],
      ['artifacts', pack.artifacts],
    ] as const) {
      const seen = new Set<string>();
      list.forEach((x, i) => {
        if (seen.has(x.id)) ctx.addIssue({ code: 'custom', message: `duplicate id "${x.id}"`, path: [name, i, 'id'] });
        seen.add(x.id);
      });
    }
    pack.versionRules.forEach((r, i) => {
      check(apps, 'application', r.application, ['versionRules', i, 'application']);
      check(advice, 'advice', r.advice, ['versionRules', i, 'advice']);
      checkSources(r.sources, ['versionRules', i]);
      const app = pack.applications.find((a) => a.id === r.application);
      if (app && !app.platforms[r.platform]) {
        ctx.addIssue({
          code: 'custom',
          message: `application "${r.application}" has no ${r.platform} platform entry`,
          path: ['versionRules', i, 'platform'],
        });
      }
    });
    pack.hashes.forEach((h, i) => {
      check(advice, 'advice', h.advice, ['hashes', i, 'advice']);
      checkSources(h.sources, ['hashes', i]);
    });
    pack.signers.forEach((s, i) => {
      check(apps, 'application', s.application, ['signers', i, 'application']);
      check(advice, 'advice', s.advice, ['signers', i, 'advice']);
      checkSources(s.sources, ['signers', i]);
    });
    pack.artifacts.forEach((a, i) => {
      check(advice, 'advice', a.advice, ['artifacts', i, 'advice']);
      checkSources(a.sources, ['artifacts', i]);
    });
    if (pack.fallbackAdvice !== undefined) check(advice, 'advice', pack.fallbackAdvice, ['fallbackAdvice']);
    if (pack.network) {
      check(advice, 'advice', pack.network.advice, ['network', 'advice']);
      for (const key of ['domains', 'urls', 'ips'] as const) {
        pack.network[key].forEach((n, i) => checkSources(n.sources, ['network', key, i]));
      }
    }
  });
export type Pack = z.infer<typeof PackSchema>;
