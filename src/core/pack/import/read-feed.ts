/**
 * Reads one feed file: a STIX 2.1 bundle (JSON) or a vendor CSV in the Sophos layout,
 * told apart by content (a JSON document starts with "{"), so a misnamed file is still
 * read as what it is.
 */
import { readFile, stat } from 'node:fs/promises';
import { FeedError, MAX_FEED_BYTES, type FeedResult } from './feed.js';
import { sophosCsvFeed } from './sophos-csv.js';
import { parseStixBundle } from './stix-bundle.js';
import { stixFeed } from './stix-map.js';

export function parseFeedText(text: string, feed: string): FeedResult {
  const start = text.replace(/^\ufeff/, '').trimStart();
  if (start.startsWith('{') || start.startsWith('[')) return stixFeed(parseStixBundle(text, feed), feed);
  return sophosCsvFeed(text, feed);
}

export async function readFeedFile(file: string, shownAs: string = file): Promise<FeedResult> {
  let buf: Buffer;
  try {
    // Size first, so a huge file is refused without being read.
    const size = (await stat(file)).size;
    if (size > MAX_FEED_BYTES) throw new FeedError(shownAs, [`the file is ${size} bytes; feeds are limited to ${MAX_FEED_BYTES}`]);
    buf = await readFile(file);
  } catch (err) {
    if (err instanceof FeedError) throw err;
    throw new FeedError(shownAs, [`cannot read: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`]);
  }
  if (buf.length > MAX_FEED_BYTES) throw new FeedError(shownAs, [`the file is ${buf.length} bytes; feeds are limited to ${MAX_FEED_BYTES}`]);
  return parseFeedText(buf.toString('utf8'), shownAs);
}
