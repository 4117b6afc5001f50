/**
 * A single pass over a JSON body's bytes, before JSON.parse sees it, that refuses shapes no
 * Vigil message has and that cost the server more than their size suggests: nesting deeper
 * than `maxDepth` (a million nested arrays took JSON.parse and the schema walk up to 0.8 s
 * of the one event loop), a string longer than `maxStringBytes`, an array with more than
 * `maxArrayItems` items. Linear in the body, no allocation, and it does not validate JSON:
 * JSON.parse still does that. Strings are skipped with their escapes, so brackets and
 * commas inside text never count.
 */
export interface JsonShapeLimits {
  maxDepth: number;
  maxStringBytes: number;
  maxArrayItems: number;
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_ARRAY = 0x5b;
const CLOSE_ARRAY = 0x5d;
const OPEN_OBJECT = 0x7b;
const CLOSE_OBJECT = 0x7d;
const COMMA = 0x2c;

/** Null when the body's shape is within the limits, else what is wrong (for the 400). */
export function checkJsonShape(bytes: Uint8Array, limits: JsonShapeLimits): string | null {
  let depth = 0;
  // Item counts of the open arrays, innermost last; objects push -1 (their keys are bounded by the body size).
  const counts: number[] = [];
  for (let i = 0; i < bytes.length; i++) {
    const c = bytes[i]!;
    if (c === QUOTE) {
      const start = i;
      for (i++; i < bytes.length; i++) {
        const s = bytes[i]!;
        if (s === BACKSLASH) i++;
        else if (s === QUOTE) break;
      }
      if (i - start - 1 > limits.maxStringBytes) return `the body has a string longer than ${limits.maxStringBytes} bytes`;
      continue;
    }
    if (c === OPEN_ARRAY || c === OPEN_OBJECT) {
      if (++depth > limits.maxDepth) return `the body is nested deeper than ${limits.maxDepth} levels`;
      counts.push(c === OPEN_ARRAY ? 0 : -1);
    } else if (c === CLOSE_ARRAY || c === CLOSE_OBJECT) {
      depth = Math.max(0, depth - 1);
      counts.pop();
    } else if (c === COMMA) {
      const top = counts.length - 1;
      if (top >= 0 && counts[top]! >= 0 && ++counts[top]! >= limits.maxArrayItems) {
        return `the body has an array longer than ${limits.maxArrayItems} items`;
      }
    }
  }
  return null;
}
