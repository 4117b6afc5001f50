/**
 * A parser for STIX 2.1 patterning (STIX 2.1 part 9), written from the OASIS grammar
 * (oasis-open/cti-stix2-json-schemas, pattern_grammar/STIXPattern.g4). It parses the whole
 * language, so a pattern is either a syntax error (the feed is malformed) or a tree; what
 * a pack can express is decided afterwards from the tree (stix-pattern-map.ts), and the
 * rest is reported as unmapped with the reason, never silently dropped.
 *
 * No maintained JavaScript STIX patterning parser exists on npm: @security-alliance/stix
 * (0.1.1, 17 kB) and @chainpatrol/stix build and read objects, stixview draws graphs, and
 * OASIS's pattern validator and matcher are Python. Hence this recursive-descent parser.
 */

export type Literal =
  | { kind: 'string'; value: string }
  | { kind: 'int' | 'float'; value: number }
  | { kind: 'bool'; value: boolean }
  | { kind: 'binary' | 'hex' | 'timestamp'; value: string };

/** `file:hashes.'SHA-256'` is { objectType: 'file', steps: ['hashes', 'SHA-256'] }. */
export interface ObjectPath {
  objectType: string;
  steps: (string | number | '*')[];
}

export type ComparisonOp = '=' | '!=' | '<' | '<=' | '>' | '>=' | 'IN' | 'LIKE' | 'MATCHES' | 'ISSUBSET' | 'ISSUPERSET';

export type Comparison =
  | { type: 'test'; path: ObjectPath; negated: boolean; op: ComparisonOp; value: Literal | Literal[] }
  | { type: 'exists'; path: ObjectPath; negated: boolean }
  | { type: 'and'; terms: Comparison[] }
  | { type: 'or'; terms: Comparison[] };

export type Qualifier =
  | { kind: 'WITHIN'; seconds: number }
  | { kind: 'REPEATS'; times: number }
  | { kind: 'START'; start: string; stop: string };

export type Observation =
  | { type: 'observation'; comparison: Comparison }
  | { type: 'and'; terms: Observation[] }
  | { type: 'or'; terms: Observation[] }
  | { type: 'followedby'; terms: Observation[] }
  | { type: 'qualified'; inner: Observation; qualifier: Qualifier };

export class PatternSyntaxError extends Error {
  constructor(
    readonly offset: number,
    message: string,
  ) {
    super(`at character ${offset + 1}: ${message}`);
    this.name = 'PatternSyntaxError';
  }
}

/** Patterns in feeds are short; these bound a hostile one. */
export const PATTERN_LIMITS = { maxChars: 64 * 1024, maxDepth: 64 };

type Tok =
  | { t: 'punct'; v: '[' | ']' | '(' | ')' | ',' | ':' | '.'; at: number }
  | { t: 'op'; v: '=' | '!=' | '<' | '<=' | '>' | '>='; at: number }
  | { t: 'ident'; v: string; at: number }
  | { t: 'lit'; v: Literal; at: number }
  | { t: 'eof'; at: number };

const KEYWORDS = new Set(['AND', 'OR', 'NOT', 'FOLLOWEDBY', 'LIKE', 'MATCHES', 'ISSUPERSET', 'ISSUBSET', 'EXISTS', 'IN', 'START', 'STOP', 'SECONDS', 'WITHIN', 'REPEATS', 'TIMES']);
const TIMESTAMP = /^\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])T([01]\d|2[0-3]):[0-5]\d:([0-5]\d|60)(\.\d+)?Z$/;
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{4}|[A-Za-z0-9+/]{3}=|[A-Za-z0-9+/]{2}==)$/;

/** Reads a quoted string starting at s[i] === "'"; the only escapes are \' and \\. */
function readQuoted(s: string, i: number): { value: string; end: number } {
  let out = '';
  let j = i + 1;
  while (j < s.length) {
    const c = s[j]!;
    if (c === '\\') {
      const n = s[j + 1];
      if (n !== "'" && n !== '\\') throw new PatternSyntaxError(j, `invalid escape "\\${n ?? ''}" in a string (only \\' and \\\\ are allowed)`);
      out += n;
      j += 2;
      continue;
    }
    if (c === "'") return { value: out, end: j + 1 };
    out += c;
    j++;
  }
  throw new PatternSyntaxError(i, 'a string is never closed');
}

function tokenize(s: string): Tok[] {
  const toks: Tok[] = [];
  let i = 0;
  while (i < s.length) {
    const c = s[i]!;
    if (/\s/.test(c)) {
      i++;
      continue;
    }
    const at = i;
    if (c === '*') {
      toks.push({ t: 'ident', v: '*', at });
      i++;
      continue;
    }
    if ('[]():,'.includes(c)) {
      toks.push({ t: 'punct', v: c as '[', at });
      i++;
      continue;
    }
    const two = s.slice(i, i + 2);
    if (two === '==' || two === '!=' || two === '<>' || two === '<=' || two === '>=') {
      toks.push({ t: 'op', v: two === '==' ? '=' : two === '<>' ? '!=' : (two as '<='), at });
      i += 2;
      continue;
    }
    if (c === '=' || c === '<' || c === '>') {
      toks.push({ t: 'op', v: c, at });
      i++;
      continue;
    }
    if (c === "'") {
      const q = readQuoted(s, i);
      toks.push({ t: 'lit', v: { kind: 'string', value: q.value }, at });
      i = q.end;
      continue;
    }
    if ((c === 't' || c === 'b' || c === 'h') && s[i + 1] === "'") {
      const q = readQuoted(s, i + 1);
      if (c === 't' && !TIMESTAMP.test(q.value)) throw new PatternSyntaxError(at, `invalid timestamp t'${q.value}'`);
      if (c === 'b' && !BASE64.test(q.value)) throw new PatternSyntaxError(at, 'invalid base64 in a binary literal');
      if (c === 'h' && !/^([0-9a-fA-F]{2})*$/.test(q.value)) throw new PatternSyntaxError(at, 'invalid hex literal');
      toks.push({ t: 'lit', v: { kind: c === 't' ? 'timestamp' : c === 'b' ? 'binary' : 'hex', value: q.value }, at });
      i = q.end;
      continue;
    }
    const num = /^[+-]?(\d*\.\d+|0|[1-9]\d*)(?![\w.])/.exec(s.slice(i));
    if (num && (c !== '.' || /\d/.test(s[i + 1] ?? ''))) {
      const text = num[0];
      toks.push({ t: 'lit', v: { kind: text.includes('.') ? 'float' : 'int', value: Number(text) }, at });
      i += text.length;
      continue;
    }
    if (c === '.') {
      toks.push({ t: 'punct', v: '.', at });
      i++;
      continue;
    }
    const id = /^[A-Za-z_][A-Za-z0-9_-]*/.exec(s.slice(i));
    if (id) {
      const word = id[0];
      if (word === 'true' || word === 'false') toks.push({ t: 'lit', v: { kind: 'bool', value: word === 'true' }, at });
      else toks.push({ t: 'ident', v: word, at });
      i += word.length;
      continue;
    }
    throw new PatternSyntaxError(at, `unexpected character ${JSON.stringify(c)}`);
  }
  toks.push({ t: 'eof', at: s.length });
  return toks;
}

class Parser {
  private pos = 0;
  private depth = 0;
  constructor(private readonly toks: Tok[]) {}

  private peek(): Tok {
    return this.toks[this.pos]!;
  }
  private next(): Tok {
    return this.toks[this.pos++]!;
  }
  private isKeyword(word: string, tok: Tok = this.peek()): boolean {
    return tok.t === 'ident' && tok.v === word;
  }
  private isPunct(v: string, tok: Tok = this.peek()): boolean {
    return tok.t === 'punct' && tok.v === v;
  }
  private describe(tok: Tok): string {
    switch (tok.t) {
      case 'eof':
        return 'the end of the pattern';
      case 'lit':
        return `the literal ${JSON.stringify(tok.v.value)}`;
      default:
        return `"${tok.v}"`;
    }
  }
  private fail(expected: string): never {
    const tok = this.peek();
    throw new PatternSyntaxError(tok.at, `expected ${expected}, found ${this.describe(tok)}`);
  }
  private expectPunct(v: string): void {
    if (!this.isPunct(v)) this.fail(`"${v}"`);
    this.pos++;
  }
  private enter(): void {
    if (++this.depth > PATTERN_LIMITS.maxDepth) throw new PatternSyntaxError(this.peek().at, `nested deeper than ${PATTERN_LIMITS.maxDepth} levels`);
  }

  parsePattern(): Observation {
    const obs = this.observationExpressions();
    if (this.peek().t !== 'eof') this.fail('AND, OR, FOLLOWEDBY or the end of the pattern');
    return obs;
  }

  private binary<T>(word: string, operand: () => T, make: (terms: T[]) => T): T {
    const first = operand();
    if (!this.isKeyword(word)) return first;
    const terms = [first];
    while (this.isKeyword(word)) {
      this.pos++;
      terms.push(operand());
    }
    return make(terms);
  }

  private observationExpressions(): Observation {
    return this.binary('FOLLOWEDBY', () => this.observationOr(), (terms) => ({ type: 'followedby', terms }));
  }
  private observationOr(): Observation {
    return this.binary('OR', () => this.observationAnd(), (terms) => ({ type: 'or', terms }));
  }
  private observationAnd(): Observation {
    return this.binary('AND', () => this.observation(), (terms) => ({ type: 'and', terms }));
  }
  private observation(): Observation {
    this.enter();
    let obs: Observation;
    if (this.isPunct('[')) {
      this.pos++;
      obs = { type: 'observation', comparison: this.comparisonOr() };
      this.expectPunct(']');
    } else if (this.isPunct('(')) {
      this.pos++;
      obs = this.observationExpressions();
      this.expectPunct(')');
    } else {
      this.fail('"[" or "(" to start an observation');
    }
    for (;;) {
      const q = this.qualifier();
      if (!q) break;
      obs = { type: 'qualified', inner: obs, qualifier: q };
    }
    this.depth--;
    return obs;
  }
  private qualifier(): Qualifier | undefined {
    if (this.isKeyword('WITHIN')) {
      this.pos++;
      const n = this.next();
      if (n.t !== 'lit' || (n.v.kind !== 'int' && n.v.kind !== 'float') || n.v.value <= 0) {
        this.pos--;
        this.fail('a positive number of seconds after WITHIN');
      }
      if (!this.isKeyword('SECONDS')) this.fail('SECONDS');
      this.pos++;
      return { kind: 'WITHIN', seconds: n.v.value as number };
    }
    if (this.isKeyword('REPEATS')) {
      this.pos++;
      const n = this.next();
      if (n.t !== 'lit' || n.v.kind !== 'int' || n.v.value <= 0) {
        this.pos--;
        this.fail('a positive whole number after REPEATS');
      }
      if (!this.isKeyword('TIMES')) this.fail('TIMES');
      this.pos++;
      return { kind: 'REPEATS', times: n.v.value as number };
    }
    if (this.isKeyword('START')) {
      this.pos++;
      const a = this.next();
      if (a.t !== 'lit' || a.v.kind !== 'timestamp') {
        this.pos--;
        this.fail("a timestamp t'...' after START");
      }
      if (!this.isKeyword('STOP')) this.fail('STOP');
      this.pos++;
      const b = this.next();
      if (b.t !== 'lit' || b.v.kind !== 'timestamp') {
        this.pos--;
        this.fail("a timestamp t'...' after STOP");
      }
      return { kind: 'START', start: a.v.value as string, stop: b.v.value as string };
    }
    return undefined;
  }

  private comparisonOr(): Comparison {
    return this.binary('OR', () => this.comparisonAnd(), (terms) => ({ type: 'or', terms }));
  }
  private comparisonAnd(): Comparison {
    return this.binary('AND', () => this.propTest(), (terms) => ({ type: 'and', terms }));
  }
  private propTest(): Comparison {
    if (this.isPunct('(')) {
      this.enter();
      this.pos++;
      const inner = this.comparisonOr();
      this.expectPunct(')');
      this.depth--;
      return inner;
    }
    if (this.isKeyword('EXISTS') || (this.isKeyword('NOT') && this.isKeyword('EXISTS', this.toks[this.pos + 1]))) {
      const negated = this.isKeyword('NOT');
      this.pos += negated ? 2 : 1;
      return { type: 'exists', path: this.objectPath(), negated };
    }
    const path = this.objectPath();
    let negated = false;
    if (this.isKeyword('NOT')) {
      negated = true;
      this.pos++;
    }
    const tok = this.next();
    if (tok.t === 'op') {
      const value = this.literal();
      if (tok.v !== '=' && tok.v !== '!=' && value.kind === 'bool') throw new PatternSyntaxError(tok.at, `${tok.v} needs an orderable literal, not a boolean`);
      return { type: 'test', path, negated, op: tok.v, value };
    }
    if (tok.t === 'ident' && tok.v === 'IN') {
      this.expectPunct('(');
      const values: Literal[] = [];
      if (!this.isPunct(')')) {
        values.push(this.literal());
        while (this.isPunct(',')) {
          this.pos++;
          values.push(this.literal());
        }
      }
      this.expectPunct(')');
      return { type: 'test', path, negated, op: 'IN', value: values };
    }
    if (tok.t === 'ident' && ['LIKE', 'MATCHES', 'ISSUBSET', 'ISSUPERSET'].includes(tok.v)) {
      const value = this.literal();
      if (value.kind !== 'string') throw new PatternSyntaxError(tok.at, `${tok.v} needs a string literal`);
      return { type: 'test', path, negated, op: tok.v as ComparisonOp, value };
    }
    this.pos--;
    this.fail('a comparison operator (=, !=, <, <=, >, >=, IN, LIKE, MATCHES, ISSUBSET, ISSUPERSET)');
  }
  private literal(): Literal {
    const tok = this.next();
    if (tok.t !== 'lit') {
      this.pos--;
      this.fail('a literal value');
    }
    return tok.v;
  }
  private objectPath(): ObjectPath {
    const type = this.next();
    if (type.t !== 'ident' || KEYWORDS.has(type.v)) {
      this.pos--;
      this.fail('an object path such as file:hashes.\'SHA-256\'');
    }
    if (!/^[a-z0-9][a-z0-9-]*$/.test(type.v)) throw new PatternSyntaxError(type.at, `"${type.v}" is not a valid object type (lowercase letters, digits and hyphens)`);
    this.expectPunct(':');
    const steps: ObjectPath['steps'] = [];
    const first = this.next();
    if (first.t === 'ident' && !first.v.includes('-')) steps.push(first.v);
    else if (first.t === 'lit' && first.v.kind === 'string') steps.push(first.v.value);
    else {
      this.pos--;
      this.fail('a property name after ":"');
    }
    for (;;) {
      if (this.isPunct('.')) {
        this.pos++;
        const key = this.next();
        if (key.t === 'ident' && !key.v.includes('-')) steps.push(key.v);
        else if (key.t === 'lit' && key.v.kind === 'string') steps.push(key.v.value);
        else {
          this.pos--;
          this.fail("a property name (or a quoted key such as 'SHA-256') after \".\"");
        }
        continue;
      }
      // "[" after a path is an index step ([0], [-1] or [*]); a "]" would close the observation.
      const a = this.toks[this.pos + 1];
      if (this.isPunct('[') && a && ((a.t === 'lit' && a.v.kind === 'int') || (a.t === 'ident' && a.v === '*'))) {
        this.pos += 2;
        steps.push(a.t === 'lit' ? (a.v.value as number) : '*');
        this.expectPunct(']');
        continue;
      }
      break;
    }
    return { objectType: type.v, steps };
  }
}

/** Parses a STIX pattern; throws PatternSyntaxError naming the character offset. */
export function parseStixPattern(pattern: string): Observation {
  if (pattern.length > PATTERN_LIMITS.maxChars) throw new PatternSyntaxError(0, `the pattern is longer than ${PATTERN_LIMITS.maxChars} characters`);
  return new Parser(tokenize(pattern)).parsePattern();
}

/** The path as STIX writes it, for messages: file:hashes.'SHA-256'. */
export function formatPath(p: ObjectPath): string {
  return `${p.objectType}:${p.steps
    .map((s, i) => (typeof s === 'number' || s === '*' ? `[${s}]` : /^[A-Za-z_][A-Za-z0-9_]*$/.test(s) ? `${i ? '.' : ''}${s}` : `${i ? '.' : ''}'${s}'`))
    .join('')}`;
}
