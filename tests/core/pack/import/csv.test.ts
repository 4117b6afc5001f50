import { describe, expect, it } from 'vitest';
import { CSV_LIMITS, CsvError, parseCsv } from '../../../../src/core/pack/import/csv.js';

const fields = (text: string) => parseCsv(text).map((r) => r.fields);

describe('parseCsv (RFC 4180)', () => {
  it('splits CRLF and LF records, drops a BOM and blank lines, keeps empty fields', () => {
    expect(fields('\ufeffa,b,c\r\n1,,3\n\r\nx,y,\r\n')).toEqual([['a', 'b', 'c'], ['1', '', '3'], ['x', 'y', '']]);
    expect(parseCsv('a\r\n\r\nb').map((r) => r.line)).toEqual([1, 3]);
  });

  it('reads quoted fields with commas, doubled quotes and line breaks, and counts lines across them', () => {
    const recs = parseCsv('t,"a, ""b""\r\nc",z\r\nnext,"",""""\r\n');
    expect(recs[0]).toEqual({ line: 1, fields: ['t', 'a, "b"\r\nc', 'z'] });
    expect(recs[1]).toEqual({ line: 3, fields: ['next', '', '"'] });
    expect(fields('""')).toEqual([['']]);
  });

  it('names line and column of malformed input', () => {
    expect(() => parseCsv('a,"never closed\r\nmore')).toThrow(/line 1, column 3: a quoted field is never closed/);
    expect(() => parseCsv('a,b\r\nc,"q"x,d')).toThrow(/line 2, column 6: unexpected "x" after a closing quote/);
    expect(() => parseCsv('a,b"c')).toThrow(CsvError);
    expect(() => parseCsv('a,b"c')).toThrow(/line 1, column 4: a quote inside an unquoted field/);
  });

  it('refuses a field longer than the limit', () => {
    expect(() => parseCsv(`a,"${'x'.repeat(CSV_LIMITS.maxFieldChars + 1)}"`)).toThrow(/longer than/);
    expect(() => parseCsv(`a,${'x'.repeat(CSV_LIMITS.maxFieldChars + 1)}`)).toThrow(/longer than/);
  });
});
