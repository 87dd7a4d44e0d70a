/**
 * Keys and values of the JS-level suites.
 *
 * Go's cases use int keys; here key i is a 36-character UID-like string (12 hex
 * digits of i and a fixed tail), the shape of the Kubernetes UIDs and request
 * ids this map is meant for, and the only key type every implementation takes
 * (sharedmap keys are strings only). Values are Go's ints, as numbers.
 *
 * keyOf(i) returns a string V8 has already hashed for the small keys every
 * hit/miss mix and collision case reuses (i < TABLE_SIZE), and builds a fresh
 * one otherwise, as a server gets keys from requests. freshKey(i) always builds
 * a new string: V8 must flatten and hash it again on each Map lookup.
 */

/** Covers Go's key ranges that repeat: i % 1024, i % 256, 0, and the 1024-key maps. */
export const TABLE_SIZE = 4096;

const TAIL = '-4e2a-8b3d-5f6e7a8b9c0d';

/** A new (cons) string for key i, every call. */
export function freshKey(i: number): string {
  return i.toString(16).padStart(12, '0') + TAIL;
}

const table: string[] = [];
const hashed = new Map<string, number>();
for (let i = 0; i < TABLE_SIZE; i++) {
  // Flat (a sequential string, not a cons) and hashed once, like a key kept in a table.
  const key = Buffer.from(freshKey(i), 'latin1').toString('latin1');
  hashed.set(key, i);
  table.push(key);
}

/** Key i: the kept string for small i, a fresh one beyond. */
export function keyOf(i: number): string {
  return i < TABLE_SIZE ? table[i]! : freshKey(i);
}

export type KeyFn = (i: number) => string;

/**
 * Key i of `keys`, built anew on each call from its two halves (`a + b`), as
 * keys parsed from a request are: a Map must flatten and hash it again.
 */
export function freshBuilder(keys: readonly string[]): KeyFn {
  const halves = keys.map((k) => [k.slice(0, 18), k.slice(18)] as const);
  return (i) => {
    const [a, b] = halves[i]!;
    return a + b;
  };
}

/** The first `n` keys of a shuffled-free sequence, as kept strings (for fixed key sets). */
export function keptKeys(n: number): string[] {
  const keys = new Array<string>(n);
  for (let i = 0; i < n; i++) keys[i] = i < TABLE_SIZE ? table[i]! : Buffer.from(freshKey(i), 'latin1').toString('latin1');
  return keys;
}

/**
 * Marsaglia's xorshift32: the state after `x` (never 0 if `x` is not). The
 * bench's loops draw their keys and coin flips from it, not Math.random(), so
 * that each run makes the same draws; small enough for V8 to inline.
 */
export function xorshift32(x: number): number {
  x ^= x << 13;
  x ^= x >>> 17;
  return x ^ (x << 5);
}
