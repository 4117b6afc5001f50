/**
 * Who signs release builds of Vigil: the publisher the agent expects on its own
 * executable (src/core/self-integrity/self-integrity.ts). Development builds leave
 * `expectSigned` false. The release workflow rewrites this file from the environment
 * before building (scripts/release-set-publisher.mjs, .github/workflows/release.yml):
 *
 *   VIGIL_PUBLISHER_SUBJECTS     Authenticode signer subjects ("CN=Vigil Ltd, O=Vigil Ltd, C=GB"
 *                                or just the common name), separated by "|"
 *   VIGIL_PUBLISHER_THUMBPRINTS  SHA-1 or SHA-256 thumbprints (hex), separated by "," — of the
 *                                signing certificate or of the CA that issues it (pin the CA
 *                                for Azure Trusted Signing, whose leaf certificates rotate daily)
 *   APPLE_TEAM_ID                the Developer ID team
 *
 * Public information only (certificate names and hashes); never a secret.
 */
export interface BuildSigning {
  /** A release build: its own executable must carry a valid signature from this publisher. */
  expectSigned: boolean;
  windows: {
    /** Leaf signer subject (full DN in Windows order, or the common name); any one matches. */
    subjects: string[];
    /** Certificate thumbprints, lowercase hex; one must appear in the signer's chain. */
    thumbprints: string[];
  };
  macos: {
    teamIds: string[];
  };
}

export const BUILD_SIGNING: BuildSigning = {
  expectSigned: false,
  windows: { subjects: [], thumbprints: [] },
  macos: { teamIds: [] },
};
