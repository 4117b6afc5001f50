/**
 * The stores write `?` placeholders (the subset SQLite and PostgreSQL share, see
 * sql-database.ts); PostgreSQL's protocol numbers them `$1..$n`. This rewrites one into the
 * other, leaving alone every `?` that is not a placeholder: inside '...' strings (with ''
 * escapes), E'...' strings (with backslash escapes), "quoted identifiers", $tag$ dollar
 * quotes $tag$, -- line comments and /* block comments *\/ (which nest in PostgreSQL).
 * Pure.
 */

export class PlaceholderSyntaxError extends Error {
  constructor(message: string, readonly sql: string) {
    super(message);
    this.name = 'PlaceholderSyntaxError';
  }
}

export interface NumberedSql {
  text: string;
  /** How many `?` placeholders were numbered (the values the statement needs). */
  count: number;
}

function preview(sql: string, at: number): string {
  return JSON.stringify(sql.slice(Math.max(0, at - 20), at + 20));
}

/**
 * The index of the quote that closes the one at `start` (a doubled quote is an escaped one;
 * with `backslash`, so is a quote after a backslash), or undefined when none does.
 */
function closingQuote(sql: string, start: number, quote: "'" | '"', backslash: boolean): number | undefined {
  for (let j = start + 1; j < sql.length; ) {
    if (backslash && sql[j] === '\\') j += 2;
    else if (sql[j] !== quote) j++;
    else if (sql[j + 1] === quote) j += 2;
    else return j;
  }
  return undefined;
}

/** `?` → `$1..$n` outside strings, identifiers and comments; throws on an unterminated one. */
export function numberPlaceholders(sql: string): NumberedSql {
  let out = '';
  let count = 0;
  let i = 0;
  const n = sql.length;
  const unterminated = (what: string, start: number): never => {
    throw new PlaceholderSyntaxError(`unterminated ${what} starting at offset ${start} near ${preview(sql, start)}`, sql);
  };
  while (i < n) {
    const c = sql[i]!;
    if (c === '?') {
      count++;
      out += `$${count}`;
      i++;
    } else if (c === "'") {
      // E'...' (escape string): a backslash escapes the next character.
      const escaped = i > 0 && /[eE]/.test(sql[i - 1]!) && (i < 2 || !/[\w$]/.test(sql[i - 2]!));
      const j = closingQuote(sql, i, "'", escaped) ?? unterminated('string literal', i);
      out += sql.slice(i, j + 1);
      i = j + 1;
    } else if (c === '"') {
      const j = closingQuote(sql, i, '"', false) ?? unterminated('quoted identifier', i);
      out += sql.slice(i, j + 1);
      i = j + 1;
    } else if (c === '-' && sql[i + 1] === '-') {
      const end = sql.indexOf('\n', i);
      const j = end === -1 ? n : end;
      out += sql.slice(i, j);
      i = j;
    } else if (c === '/' && sql[i + 1] === '*') {
      const start = i;
      let depth = 1;
      let j = i + 2;
      while (depth > 0) {
        if (j >= n) unterminated('block comment', start);
        if (sql[j] === '/' && sql[j + 1] === '*') {
          depth++;
          j += 2;
        } else if (sql[j] === '*' && sql[j + 1] === '/') {
          depth--;
          j += 2;
        } else j++;
      }
      out += sql.slice(i, j);
      i = j;
    } else if (c === '$' && (i === 0 || !/[\w$]/.test(sql[i - 1]!))) {
      // A dollar quote $$...$$ or $tag$...$tag$ (a `$1` already numbered is not one).
      const m = /^\$([A-Za-z_][A-Za-z0-9_]*)?\$/.exec(sql.slice(i));
      if (!m) {
        out += c;
        i++;
        continue;
      }
      const tag = m[0];
      const end = sql.indexOf(tag, i + tag.length);
      if (end === -1) unterminated(`dollar-quoted string ${tag}`, i);
      out += sql.slice(i, end + tag.length);
      i = end + tag.length;
    } else {
      out += c;
      i++;
    }
  }
  return { text: out, count };
}
