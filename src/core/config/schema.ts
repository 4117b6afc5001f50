/**
 * Every agent setting, in one zod schema with its defaults. Where settings come from
 * (machine policy, the per-machine settings file, last-good, defaults: sources.ts and
 * effective.ts) is kept out of this file: sources produce values, this schema validates them.
 */
import { z } from 'zod';
import { checkServerUrl } from '../report/server-url.js';
import { TrustedPackKeyListSchema } from '../pack/trusted-keys.js';

export const LogLevelSchema = z.enum(['debug', 'info', 'warn', 'error']);

/**
 * Proxy for reports: `system` uses what the platform transport does by default (the tray
 * app's net.fetch follows the OS proxy settings and PAC), `direct` none, or an http(s) URL.
 */
export const ProxySettingSchema = z.union([
  z.literal('system'),
  z.literal('direct'),
  z.url({ protocol: /^https?$/ }),
]);
export type ProxySetting = z.infer<typeof ProxySettingSchema>;

export const AgentConfigSchema = z
  .object({
    /** The partner backend, e.g. https://vigil.partner.example. Without it the agent only scans. */
    serverUrl: z.string().optional(),
    /** The tenant's enrolment token; used once, to enrol, and never written to the state directory. */
    enrollToken: z.string().min(16).max(256).optional(),
    /** A label for this customer, shown locally (the server decides the tenant from the token). */
    tenant: z.string().min(1).max(200).optional(),
    scanIntervalSec: z.number().int().min(60).max(7 * 86_400).default(3600),
    heartbeatIntervalSec: z.number().int().min(10).max(86_400).default(60),
    watchIntervalSec: z.number().int().min(1).max(3600).default(2),
    /** Extra incident pack files (signed envelopes, or plain packs an administrator chose). */
    packs: z.array(z.string().min(1)).default([]),
    /**
     * Public keys whose signatures make a pack from machine policy or the network
     * acceptable (pack/trusted-keys.ts). Two at once to rotate; remove one to withdraw it.
     */
    packKeys: TrustedPackKeyListSchema.default([]),
    /** Whether the tray app offers Quit to the user. */
    allowQuit: z.boolean().default(false),
    /**
     * Who starts the tray app at login (src/main/settings.ts): `machine` when an installer
     * registered a per-machine entry (the MSI writes it into machine policy), `user` for a
     * per-user login item, `off` for none. Absent: the tray app's own default.
     */
    autostart: z.enum(['user', 'machine', 'off']).optional(),
    proxy: ProxySettingSchema.default('system'),
    logLevel: LogLevelSchema.default('info'),
    /** Where the credential, outbox and stable id live; a per-OS default when absent. */
    stateDir: z.string().min(1).optional(),
    /** Test only: allow plain http to a non-loopback server. Never set in production. */
    allowInsecureHttp: z.boolean().default(false),
  })
  .strict()
  .superRefine((cfg, ctx) => {
    if (cfg.serverUrl !== undefined) {
      const check = checkServerUrl(cfg.serverUrl, { allowInsecureHttp: cfg.allowInsecureHttp });
      if (!check.ok) ctx.addIssue({ code: 'custom', path: ['serverUrl'], message: check.reason });
    }
  });

export type AgentConfig = z.infer<typeof AgentConfigSchema>;
/** What a source provides before defaults are applied. */
export type AgentConfigInput = z.input<typeof AgentConfigSchema>;

/** The settings with every default applied, as the agent uses them. */
export function defaultAgentConfig(): AgentConfig {
  return AgentConfigSchema.parse({});
}
