/**
 * Looks for the pack's on-disk artefacts (files or folders the attack leaves) in every
 * user profile and at system paths: one stat per artefact per profile.
 */
import type { Pack, Artifact } from '../pack/schema.js';
import type { Platform } from '../../shared/scan.js';
import type { TargetFs } from '../os/target-fs.js';
import { resolveLocation, type LocationProblem } from './resolve-location.js';
import type { UserProfile } from './user-profiles.js';

export interface ArtifactHit {
  artifact: Artifact;
  path: string;
  user?: string;
}

export async function findArtifacts(
  fs: TargetFs,
  platform: Platform,
  profiles: readonly UserProfile[],
  pack: Pack,
): Promise<{ hits: ArtifactHit[]; problems: LocationProblem[] }> {
  const hits: ArtifactHit[] = [];
  const problems: LocationProblem[] = [];
  for (const artifact of pack.artifacts) {
    if (artifact.platform !== platform) continue;
    const r = await resolveLocation(fs, artifact.location, profiles);
    problems.push(...r.problems);
    for (const f of r.found) {
      const wanted = artifact.kind === 'file' ? f.type === 'file' : f.type === 'directory';
      if (!wanted) continue;
      hits.push(f.user ? { artifact, path: fs.displayPath(f.path), user: f.user } : { artifact, path: fs.displayPath(f.path) });
    }
  }
  return { hits, problems };
}
