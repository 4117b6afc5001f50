/**
 * The settings the tray shell needs from machine policy. The lead binds them from the
 * agent's configuration (src/core/config); this module only says what they mean and
 * falls back to safe values field by field, so a bad value never stops the app.
 */
import { z } from 'zod';

export const TraySettingsSchema = z.object({
  /**
   * Whether the tray menu offers Quit. Managed installs (the per-machine MSI, pushed by
   * the IT partner) set it to false: an end user should not be able to switch the
   * agent off by accident. Unmanaged installs default to true. A malformed value means
   * someone tried to set a policy, so it falls back to the managed choice (false).
   */
  allowQuit: z.boolean().default(true).catch(false),
  /**
   * Who starts the app at login:
   * - `user`: the app registers itself for the current user (login item on Windows and
   *   macOS, an XDG autostart file on Linux);
   * - `machine`: the installer registered a per-machine entry (HKLM Run key, a
   *   LaunchAgent, /etc/xdg/autostart); the app must not add a per-user one as well;
   * - `off`: nothing starts it; a per-user entry left from before is removed.
   */
  autostart: z.enum(['user', 'machine', 'off']).default('user').catch('user'),
  /** Desktop notifications when the verdict gets worse. */
  notifications: z.boolean().default(true).catch(true),
});
export type TraySettings = z.infer<typeof TraySettingsSchema>;

/** Never throws: unknown keys are ignored, bad values fall back per field. */
export function parseTraySettings(input: unknown): TraySettings {
  const obj = input !== null && typeof input === 'object' ? input : {};
  return TraySettingsSchema.parse(obj);
}
