/**
 * The one error a plist parser lets escape. It says what is wrong and where: a byte offset
 * for binary plists, a line and column for XML ones, so a finding such as "Info.plist is
 * malformed" can point at the bytes an analyst should look at.
 */

export type PlistFormat = 'xml' | 'binary' | 'unknown';

/** Where a problem was found: a byte offset (binary, size checks) or line:column (XML). */
export type PlistLocation = { offset: number } | { line: number; column: number };

export class PlistError extends Error {
  /** The problem alone, without the location suffix `message` carries. */
  readonly reason: string;
  readonly format: PlistFormat;
  /** Byte offset into the input (binary plists and input-level checks). */
  readonly offset: number | undefined;
  /** 1-based line and column (columns count Unicode code points) for XML plists. */
  readonly line: number | undefined;
  readonly column: number | undefined;

  constructor(format: PlistFormat, reason: string, where: PlistLocation) {
    const suffix = 'offset' in where ? `at byte ${where.offset}` : `at line ${where.line}, column ${where.column}`;
    super(`${format === 'unknown' ? 'plist' : `${format} plist`}: ${reason} (${suffix})`);
    this.name = 'PlistError';
    this.reason = reason;
    this.format = format;
    this.offset = 'offset' in where ? where.offset : undefined;
    this.line = 'line' in where ? where.line : undefined;
    this.column = 'column' in where ? where.column : undefined;
  }
}
