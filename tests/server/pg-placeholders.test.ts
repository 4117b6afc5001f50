// Pure: the `?` → `$n` rewriting of postgres-placeholders.ts (runs without PostgreSQL).
import { describe, expect, it } from 'vitest';
import { numberPlaceholders, PlaceholderSyntaxError } from '../../src/server/database/postgres-placeholders.js';
import { parseInt8, parseNumeric, IntegerPrecisionError, describeTarget } from '../../src/server/database/postgres-database.js';

describe('numberPlaceholders', () => {
  it('numbers placeholders in order', () => {
    expect(numberPlaceholders('INSERT INTO t (a, b, c) VALUES (?, ?, ?) ON CONFLICT (a) DO UPDATE SET b = excluded.b WHERE t.c < ?')).toEqual({
      text: 'INSERT INTO t (a, b, c) VALUES ($1, $2, $3) ON CONFLICT (a) DO UPDATE SET b = excluded.b WHERE t.c < $4',
      count: 4,
    });
    expect(numberPlaceholders('SELECT 1')).toEqual({ text: 'SELECT 1', count: 0 });
    expect(numberPlaceholders('')).toEqual({ text: '', count: 0 });
    expect(numberPlaceholders('?')).toEqual({ text: '$1', count: 1 });
  });

  it('leaves ? inside strings, quoted identifiers and comments alone', () => {
    const sql = `SELECT 'what?', 'it''s ?', "odd?col", E'a\\'?', $$ ? $$, $tag$ ? $x$ ? $tag$ -- why?
      FROM t /* a ? /* nested ? */ still ? */ WHERE x = ? AND y = 'q?'`;
    const r = numberPlaceholders(sql);
    expect(r.count).toBe(1);
    expect(r.text).toBe(sql.replace('x = ?', 'x = $1'));
  });

  it('keeps casts, $n already numbered and identifiers with $ intact', () => {
    expect(numberPlaceholders('SELECT ?::bigint, a$b FROM t WHERE c = $1').text).toBe('SELECT $1::bigint, a$b FROM t WHERE c = $1');
    expect(numberPlaceholders("SELECT e'x' || ?").text).toBe("SELECT e'x' || $1");
    expect(numberPlaceholders("SELECT name'' , ?").text).toBe("SELECT name'' , $1");
  });

  it('refuses unterminated strings, identifiers, comments and dollar quotes with where they start', () => {
    for (const [sql, what] of [
      ["SELECT 'abc ?", 'string literal'],
      ["SELECT 'it''s", 'string literal'],
      ['SELECT "col ?', 'quoted identifier'],
      ['SELECT 1 /* ? ', 'block comment'],
      ['SELECT 1 /* /* */ ?', 'block comment'],
      ['SELECT $$ ? ', 'dollar-quoted string $$'],
      ["SELECT E'\\'", 'string literal'],
    ] as const) {
      expect(() => numberPlaceholders(sql)).toThrow(PlaceholderSyntaxError);
      expect(() => numberPlaceholders(sql)).toThrow(new RegExp(`unterminated ${what.replace(/\$/g, '\\$')} starting at offset \\d+`));
    }
  });

  it('a line comment may end the statement', () => {
    expect(numberPlaceholders('SELECT ? -- trailing ?')).toEqual({ text: 'SELECT $1 -- trailing ?', count: 1 });
  });
});

describe('integer parsing', () => {
  it('int8 and numeric come back as numbers, or a clear error when a number cannot hold them', () => {
    expect(parseInt8('9007199254740991')).toBe(Number.MAX_SAFE_INTEGER);
    expect(parseInt8('-42')).toBe(-42);
    expect(() => parseInt8('9007199254740993')).toThrow(IntegerPrecisionError);
    expect(() => parseInt8('9007199254740993')).toThrow(/9007199254740993.*cannot hold exactly/);
    expect(parseNumeric('12345')).toBe(12345);
    expect(parseNumeric('1.5')).toBe(1.5);
    expect(() => parseNumeric('123456789012345678901234567890')).toThrow(IntegerPrecisionError);
  });

  it('describes a target without its password', () => {
    const d = describeTarget('postgres://vigil:s3cret-pw@db.example:6543/fleet?sslmode=require');
    expect(d).toBe('at db.example:6543, database "fleet" as user "vigil"');
    expect(describeTarget('postgres://vigil:s3cret@[bad host/db')).toBe('postgres://(unparsable URL)');
  });
});
