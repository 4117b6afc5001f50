/**
 * The value model both plist readers produce, and the limits they enforce.
 *
 * Mapping from plist types:
 * - string → string; true/false → boolean; date → Date; data → Uint8Array (a copy, never a
 *   view into the input); array (and a binary set) → array; dict → plain object.
 * - integer → number when it is a safe integer (|n| ≤ Number.MAX_SAFE_INTEGER), bigint
 *   beyond that, so 64-bit values are never silently rounded.
 * - real → number. An integral real reads as the same JS number as the integer, so
 *   `<real>1.0</real>` and `<integer>1</integer>` both become 1: nothing Vigil reads from an
 *   Info.plist depends on that distinction.
 * - A binary UID (NSKeyedArchiver) → `{ "CF$UID": n }`, the form `plutil -convert xml1` uses.
 * - Dictionaries are trees, never shared: a binary plist that references one object from
 *   several places yields separate copies, so callers can walk and mutate results freely
 *   (the maxValues budget keeps that expansion bounded).
 */

export type PlistValue = string | number | bigint | boolean | Date | Uint8Array | PlistValue[] | PlistDict;

export interface PlistDict {
  [key: string]: PlistValue;
}

export interface PlistLimits {
  /** Largest input accepted, in bytes. */
  maxBytes: number;
  /** Deepest nesting of arrays/dictionaries; the top-level container is depth 1. */
  maxDepth: number;
  /**
   * Most values produced in total (every string, number, container... counts one). Bounds
   * time and memory when a binary plist references shared objects many times over.
   */
  maxValues: number;
  /**
   * Most bytes of data values produced in total. A binary plist can reference one large
   * data object many times, and each reference yields its own copy.
   */
  maxDataBytes: number;
}

/**
 * 8 MiB is far above any real Info.plist (a few KiB) yet small enough to decode in memory;
 * real plists nest a handful of levels, so 256 leaves room while keeping recursion shallow;
 * the value and data budgets cap what shared references in a binary plist can expand to
 * (tens of MiB at worst) while leaving any honest 8 MiB plist well inside them.
 */
export const DEFAULT_PLIST_LIMITS: Readonly<PlistLimits> = Object.freeze({
  maxBytes: 8 * 1024 * 1024,
  maxDepth: 256,
  maxValues: 1_000_000,
  maxDataBytes: 32 * 1024 * 1024,
});

const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);

/** A plist integer as a number when exactly representable, otherwise as a bigint. */
export function plistInteger(value: bigint): number | bigint {
  return value >= -MAX_SAFE && value <= MAX_SAFE ? Number(value) : value;
}

export function isPlistDict(value: PlistValue): value is PlistDict {
  return (
    typeof value === 'object' && !Array.isArray(value) && !(value instanceof Date) && !(value instanceof Uint8Array)
  );
}

/**
 * Adds an own, enumerable property. Plain assignment would turn a plist key "__proto__"
 * into a prototype change instead of an entry.
 */
export function setDictEntry(dict: PlistDict, key: string, value: PlistValue): void {
  Object.defineProperty(dict, key, { value, enumerable: true, writable: true, configurable: true });
}

export function hasDictEntry(dict: PlistDict, key: string): boolean {
  return Object.prototype.hasOwnProperty.call(dict, key);
}
