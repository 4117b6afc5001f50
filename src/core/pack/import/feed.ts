/**
 * What a feed reader hands the draft builder: indicators in the pack's terms, the sources
 * they cite, and everything it could not map with the reason. Readers (STIX bundle,
 * vendor CSV) produce this; draft.ts merges any number of them into one pack draft.
 */

/** A public source an indicator cites, keyed by its URL. */
export interface FeedSource {
  url: string;
  publisher: string;
  title: string;
  published?: string;
  /** Preferred id stem (e.g. the STIX source_name); draft.ts makes it a unique pack id. */
  name: string;
}

interface ItemBase {
  /** Where it came from, for the report: "indicator--… pattern" or "3CX IoCs.csv line 4". */
  origin: string;
  description?: string;
  /** Source URLs (FeedSource.url). */
  sources: string[];
}

export type FeedItem =
  | (ItemBase & { kind: 'file'; sha256?: string; sha1?: string; md5?: string; fileName?: string })
  | (ItemBase & { kind: 'domain' | 'url' | 'ip'; value: string });

export interface Unmapped {
  origin: string;
  /** The value or expression that was not mapped. */
  value: string;
  reason: string;
}

export interface FeedResult {
  /** The feed's name as given on the command line. */
  feed: string;
  /** A title the feed gives itself (STIX report name, CSV description row), if any. */
  title?: string;
  summary?: string;
  items: FeedItem[];
  sources: FeedSource[];
  unmapped: Unmapped[];
  /** Things the author should look at twice (kept in the import report). */
  notes?: string[];
}

/** A feed that is malformed: every problem names the object (or line) and the field. */
export class FeedError extends Error {
  constructor(
    readonly feed: string,
    readonly problems: string[],
  ) {
    super(`${feed}: ${problems.length === 1 ? problems[0] : `${problems.length} problems:\n  - ${problems.join('\n  - ')}`}`);
    this.name = 'FeedError';
  }
}

/** Feeds can be large, but not unboundedly: this bounds what a hostile file can make us parse. */
export const MAX_FEED_BYTES = 32 * 1024 * 1024;
/** Problems listed before the rest are summarised as "and N more". */
export const MAX_LISTED_PROBLEMS = 50;

export function capProblems(problems: string[]): string[] {
  if (problems.length <= MAX_LISTED_PROBLEMS) return problems;
  return [...problems.slice(0, MAX_LISTED_PROBLEMS), `... and ${problems.length - MAX_LISTED_PROBLEMS} more problems`];
}
