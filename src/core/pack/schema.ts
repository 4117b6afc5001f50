/**
 * The incident pack format (formats 1 and 2). A pack is data: everything Vigil knows about
 * one incident (applications, version rules, hashes, signers, network indicators, on-disk
 * artefacts, advice) and the public source of each indicator. The next incident is a new
 * pack, not a new release. docs/PACKS.md documents every field; keep the two in step.
 *
 * Format rule: a field an older agent may drop without misreporting (it only adds words,
 * e.g. `singleSource`) is allowed in any format, because zod strips unknown keys. A field
 * that changes what is looked at or how it is judged (format 2: distribution points and
 * their served files) needs the format that introduced it, so an older agent refuses the
 * whole pack ("update Vigil") instead of half-understanding it; a pack that uses such a
 * field under a lower format is refused here, so a pack's format cannot understate it.
 */
import { z } from 'zod';
import { PlatformSchema } from '../../shared/scan.js';

/** The newest pack format this agent understands (it reads every format from 1 up). */
export const PACK_FORMAT = 2;

/** Fields that need a format above 1, with the format that introduced them. */
export const FORMAT_2_FIELDS = ['applications[].role', 'applications[].servedAdvice', 'applications[].platforms.*.servedFiles'] as const;

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
 * True when an indicator rests on one public source (one publisher's lists, or lists that
 * all copy one upstream post): shown by its findings and the fleet page. Informational,
 * so allowed in every format.
 */
const SingleSource = z.boolean().optional();

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
  /**
   * Format 2, distribution points only: files this install hands out to other computers
   * (installers, update packages), relative to the install dir; `*` matches within one
   * folder. Each is hashed and compared with `hashes`.
   */
  servedFiles: z.array(RelativePath).min(1).optional(),
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
  /**
   * Format 2. `installed` (the default): software people run, judged by its version.
   * `distribution-point`: a server that hands another application's installers and
   * updates to clients (a 3CX PBX): it is found by its install folder, its version is not
   * judged, and its `servedFiles` are hashed; a known-bad one is named with `servedAdvice`.
   */
  role: z.enum(['installed', 'distribution-point']).optional(),
  /** Where the install locations and file names come from (informational, any format). */
  sources: SourceRefs.optional(),
  /** Format 2, distribution points: advice for a known-bad file found among the served files. */
  servedAdvice: Id.optional(),
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
    singleSource: SingleSource,
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
  singleSource: SingleSource,
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
    singleSource: SingleSource,
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
    .array(z.object({ domain: Domain, description: z.string().optional(), sources: SourceRefs, singleSource: SingleSource }))
    .default([]),
  /**
   * URLs on shared infrastructure (e.g. a GitHub repository path): matched in URL and DNS
   * evidence, never by the host's addresses, which other services share.
   */
  urls: z
    .array(z.object({ url: z.url(), description: z.string().optional(), sources: SourceRefs, singleSource: SingleSource }))
    .default([]),
  ips: z
    .array(
      z.object({
        ip: z.union([z.ipv4(), z.ipv6()]),
        description: z.string().optional(),
        sources: SourceRefs,
        singleSource: SingleSource,
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
  singleSource: SingleSource,
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
    pack.applications.forEach((app, i) => {
      const path = ['applications', i];
      const platforms = (['windows', 'macos', 'linux'] as const).filter((p) => app.platforms[p]);
      const served = platforms.filter((p) => app.platforms[p]!.servedFiles !== undefined);
      // The format rule: these fields change what a scan looks at, so a lower format must
      // not carry them (an older agent would drop them silently).
      if (pack.format < 2) {
        if (app.role !== undefined) ctx.addIssue({ code: 'custom', message: 'role needs pack format 2', path: [...path, 'role'] });
        if (app.servedAdvice !== undefined) ctx.addIssue({ code: 'custom', message: 'servedAdvice needs pack format 2', path: [...path, 'servedAdvice'] });
        for (const p of served) ctx.addIssue({ code: 'custom', message: 'servedFiles needs pack format 2', path: [...path, 'platforms', p, 'servedFiles'] });
      }
      if (app.role === 'distribution-point') {
        if (app.servedAdvice === undefined) ctx.addIssue({ code: 'custom', message: 'a distribution point needs servedAdvice', path: [...path, 'servedAdvice'] });
        for (const p of platforms.filter((x) => !served.includes(x))) {
          ctx.addIssue({ code: 'custom', message: 'a distribution point needs servedFiles on every platform', path: [...path, 'platforms', p, 'servedFiles'] });
        }
      } else {
        if (app.servedAdvice !== undefined) ctx.addIssue({ code: 'custom', message: 'servedAdvice is only for role "distribution-point"', path: [...path, 'servedAdvice'] });
        for (const p of served) ctx.addIssue({ code: 'custom', message: 'servedFiles are only for role "distribution-point"', path: [...path, 'platforms', p, 'servedFiles'] });
      }
      check(advice, 'advice', app.servedAdvice, [...path, 'servedAdvice']);
      if (app.sources) checkSources(app.sources, path);
    });
    pack.versionRules.forEach((r, i) => {
      const app = pack.applications.find((a) => a.id === r.application);
      if (app?.role === 'distribution-point') {
        ctx.addIssue({ code: 'custom', message: `application "${r.application}" is a distribution point, whose version is not judged`, path: ['versionRules', i, 'application'] });
      }
    });
    if (pack.network) {
      check(advice, 'advice', pack.network.advice, ['network', 'advice']);
      for (const key of ['domains', 'urls', 'ips'] as const) {
        pack.network[key].forEach((n, i) => checkSources(n.sources, ['network', key, i]));
      }
    }
  });
export type Pack = z.infer<typeof PackSchema>;
