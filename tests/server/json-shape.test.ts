import { describe, expect, it } from 'vitest';
import { checkJsonShape } from '../../src/server/json-shape.js';
import { heartbeatFor } from './helpers/sample-reports.js';

const L = { maxDepth: 4, maxStringBytes: 10, maxArrayItems: 3 };
const check = (s: string) => checkJsonShape(Buffer.from(s), L);

describe('checkJsonShape', () => {
  it('passes shapes within the limits, at the limits exactly', () => {
    expect(check('[[[[]]]]')).toBeNull();
    expect(check('{"a":[1,2,3],"b":{"c":{"d":"0123456789"}}}')).toBeNull();
    expect(check('[]')).toBeNull();
  });

  it('names what is too deep, too long or too many', () => {
    expect(check('[[[[[]]]]]')).toMatch(/nested deeper than 4/);
    expect(check('{"a":{"b":{"c":{"d":{}}}}}')).toMatch(/nested deeper than 4/);
    expect(check('["01234567890"]')).toMatch(/string longer than 10/);
    expect(check('[1,2,3,4]')).toMatch(/array longer than 3/);
    // an object's commas are keys, not array items
    expect(check('{"a":1,"b":2,"c":3,"d":4}')).toBeNull();
  });

  it('does not count brackets, commas or escaped quotes inside strings', () => {
    expect(check('["[[[[[,,,,"]')).toBeNull();
    expect(check('["a\\"[[[[[["]')).toBeNull();
    expect(check('["\\\\",[[[]]]]')).toBeNull();
  });

  it('malformed input: never throws, leaves validity to JSON.parse', () => {
    for (const s of ['', '[', ']]]]]]', '"unterminated', '["a\\', '{"a":', '\u00ff\u00fe[', '[1,,,]']) {
      expect(() => check(s)).not.toThrow();
    }
    expect(check('"' + 'x'.repeat(50))).toMatch(/string longer/);
  });

  it('a realistic heartbeat passes the protocol limits', () => {
    const body = Buffer.from(JSON.stringify(heartbeatFor('dev_AAAAAAAAAAAAAAAAAAAAAA')));
    expect(checkJsonShape(body, { maxDepth: 32, maxStringBytes: 16 * 1024, maxArrayItems: 1000 })).toBeNull();
  });
});
