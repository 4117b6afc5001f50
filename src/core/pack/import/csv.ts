/**
 * RFC 4180 CSV: comma-separated fields, CRLF (or LF) record breaks, double-quoted fields
 * that may hold commas, quotes ("") and line breaks. A leading UTF-8 byte order mark is
 * dropped: vendor IoC lists are often saved by Excel, which writes one (the Sophos
 * 3CX list in sophoslabs/IoCs starts with EF BB BF and uses CRLF).
 */

export interface CsvRecord {
  /** 1-based line on which the record starts (quoted fields may span lines). */
  line: number;
  fields: string[];
}

export class CsvError extends Error {
  constructor(
    readonly line: number,
    readonly column: number,
    message: string,
  ) {
    super(`line ${line}, column ${column}: ${message}`);
    this.name = 'CsvError';
  }
}

/** Bounds what a hostile file can make us hold: records and the length of one field. */
export const CSV_LIMITS = { maxRecords: 200_000, maxFieldChars: 64 * 1024 };

export function parseCsv(text: string): CsvRecord[] {
  const s = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  const records: CsvRecord[] = [];
  let fields: string[] = [];
  let field = '';
  /** The current field was quoted and its closing quote has been read. */
  let afterQuote = false;
  let line = 1;
  let col = 1;
  let recordLine = 1;
  let i = 0;
  const endField = () => {
    if (field.length > CSV_LIMITS.maxFieldChars) throw new CsvError(line, col, `a field is longer than ${CSV_LIMITS.maxFieldChars} characters`);
    fields.push(field);
    field = '';
    afterQuote = false;
  };
  const endRecord = () => {
    const quotedBlank = afterQuote;
    endField();
    // A blank line (one empty field) is not a record.
    if (!(fields.length === 1 && fields[0] === '' && !quotedBlank)) {
      if (records.length >= CSV_LIMITS.maxRecords) throw new CsvError(recordLine, 1, `more than ${CSV_LIMITS.maxRecords} records`);
      records.push({ line: recordLine, fields });
    }
    fields = [];
  };
  while (i < s.length) {
    const c = s[i]!;
    if (c === '"' && field === '' && !afterQuote) {
      // Quoted field: runs to the next quote not followed by another quote.
      const startLine = line;
      const startCol = col;
      i++;
      col++;
      let closed = false;
      while (i < s.length) {
        const q = s[i]!;
        if (q === '"') {
          if (s[i + 1] === '"') {
            field += '"';
            i += 2;
            col += 2;
            continue;
          }
          i++;
          col++;
          closed = true;
          break;
        }
        if (q === '\n') {
          line++;
          col = 1;
        } else col++;
        field += q;
        i++;
        if (field.length > CSV_LIMITS.maxFieldChars) throw new CsvError(startLine, startCol, `a field is longer than ${CSV_LIMITS.maxFieldChars} characters`);
      }
      if (!closed) throw new CsvError(startLine, startCol, 'a quoted field is never closed');
      const next = s[i];
      if (next !== undefined && next !== ',' && next !== '\r' && next !== '\n') {
        throw new CsvError(line, col, `unexpected ${JSON.stringify(next)} after a closing quote (expected a comma or the end of the line)`);
      }
      afterQuote = true;
      continue;
    }
    if (c === ',') {
      endField();
      i++;
      col++;
      continue;
    }
    if (c === '\r' || c === '\n') {
      endRecord();
      i += c === '\r' && s[i + 1] === '\n' ? 2 : 1;
      line++;
      col = 1;
      recordLine = line;
      continue;
    }
    if (c === '"') throw new CsvError(line, col, 'a quote inside an unquoted field (quote the whole field and double the quote)');
    field += c;
    i++;
    col++;
  }
  if (field !== '' || fields.length > 0 || afterQuote) {
    endRecord();
  }
  return records;
}
