import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { formatPath, parseStixPattern, PATTERN_LIMITS, PatternSyntaxError } from '../../../../src/core/pack/import/stix-pattern.js';

describe('parseStixPattern', () => {
  it('parses comparisons, quoted keys and escapes into a tree', () => {
    expect(parseStixPattern("[file:hashes.'SHA-256' = 'ab' AND file:name = 'it\\'s \\\\ here']")).toEqual({
      type: 'observation',
      comparison: {
        type: 'and',
        terms: [
          { type: 'test', path: { objectType: 'file', steps: ['hashes', 'SHA-256'] }, negated: false, op: '=', value: { kind: 'string', value: 'ab' } },
          { type: 'test', path: { objectType: 'file', steps: ['name'] }, negated: false, op: '=', value: { kind: 'string', value: "it's \\ here" } },
        ],
      },
    });
  });

  it('gives AND precedence over OR, and FOLLOWEDBY the lowest, in both comparison and observation expressions', () => {
    const c = parseStixPattern("[a:x = 1 OR a:y = 2 AND a:z = 3]");
    expect(c.type === 'observation' && c.comparison.type).toBe('or');
    const o = parseStixPattern("[a:x = 1] AND [a:y = 2] OR [a:z = 3] FOLLOWEDBY [a:w = 4]");
    expect(o.type).toBe('followedby');
    expect(o.type === 'followedby' && o.terms[0]!.type).toBe('or');
  });

  it('reads the rest of the language: IN, LIKE, MATCHES, NOT, EXISTS, index steps, literals and qualifiers', () => {
    const p = parseStixPattern(
      "([network-traffic:dst_ref.value NOT IN ('10.0.0.1', '10.0.0.2') AND email-message:to_refs[*].value LIKE '%@example.com' AND NOT EXISTS file:extensions.'windows-pebinary-ext'.sections[0].name AND file:size >= 1024 AND file:content_ref.payload_bin = b'aGVsbG8=' AND artifact:payload_bin = h'00ff' AND x-custom:ok == true AND process:created > t'2023-03-29T00:00:00Z' AND a:b <> -1.5] REPEATS 2 TIMES) WITHIN 60 SECONDS START t'2023-03-01T00:00:00Z' STOP t'2023-04-01T00:00:00.5Z'",
    );
    expect(p.type).toBe('qualified');
    expect(formatPath({ objectType: 'email-message', steps: ['to_refs', '*', 'value'] })).toBe('email-message:to_refs[*].value');
    expect(formatPath({ objectType: 'file', steps: ['hashes', 'SHA-256'] })).toBe("file:hashes.'SHA-256'");
  });

  it('names the character and what was expected on bad syntax', () => {
    const cases: [string, RegExp][] = [
      ["[domain-name:value = 'x'", /at character 25: expected "\]", found the end of the pattern/],
      ["domain-name:value = 'x'", /at character 1: expected "\[" or "\(" to start an observation/],
      ["[domain-name:value 'x']", /expected a comparison operator/],
      ["[domain-name:value = 'x]", /a string is never closed/],
      ["[file:name = 'a\\n']", /invalid escape "\\n"/],
      ["[File:name = 'a']", /"File" is not a valid object type/],
      ["[file:name = 'a'] WITHIN 0 SECONDS", /a positive number of seconds/],
      ["[file:ctime = t'2023-13-01T00:00:00Z']", /invalid timestamp/],
      ["[file:name = 'a'] AND", /expected "\[" or "\("/],
      ["[file:name = 'a'] [file:name = 'b']", /expected AND, OR, FOLLOWEDBY or the end/],
      ["[file:name = 'a' ; ]", /unexpected character ";"/],
      ['', /expected "\[" or "\("/],
    ];
    for (const [pattern, message] of cases) {
      expect(() => parseStixPattern(pattern), pattern).toThrow(message);
    }
  });

  it('bounds nesting and length', () => {
    const deep = '('.repeat(PATTERN_LIMITS.maxDepth + 1) + "[a:b = 'c']" + ')'.repeat(PATTERN_LIMITS.maxDepth + 1);
    expect(() => parseStixPattern(deep)).toThrow(/nested deeper than/);
    expect(() => parseStixPattern(`[a:b = '${'x'.repeat(PATTERN_LIMITS.maxChars)}']`)).toThrow(/longer than/);
  });

  it('on any input either parses or throws PatternSyntaxError, never anything else', () => {
    const alphabet = fc.constantFrom(...["[", "]", "(", ")", "'", "\\", ":", ".", "=", "!", "<", ">", " ", "a", "file", "hashes", "AND", "OR", "IN", "NOT", "WITHIN", "1", "-", "*", ",", "t'", "b'", "h'"]);
    fc.assert(
      fc.property(fc.array(alphabet, { maxLength: 40 }), (parts) => {
        try {
          parseStixPattern(parts.join(''));
        } catch (err) {
          if (!(err instanceof PatternSyntaxError)) throw err;
        }
      }),
      { numRuns: 2000 },
    );
  });
});
