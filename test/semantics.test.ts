/**
 * Go's semantics, checked against a reference: long random sequences of every
 * operation (range and clear included) applied to a SyncMap and to a plain Map
 * that implements sync.Map's contract directly. Every result must match, and
 * after each sequence the contents, the size and every internal invariant
 * (assembly/map.ts, mapVerify) must hold. This is Go's TestMapMatchesRWMutex,
 * with fast-check in place of testing/quick.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { internal, LockedMap, SyncMap, type ConcurrentMap } from './helpers.js';

type Key = string;
type Value = string | number;

type Op =
  | { op: 'load' | 'loadAndDelete' | 'delete' | 'has'; key: Key }
  | { op: 'store' | 'loadOrStore' | 'swap'; key: Key; value: Value }
  | { op: 'compareAndSwap'; key: Key; old: Value; value: Value }
  | { op: 'compareAndDelete'; key: Key; old: Value }
  | { op: 'clear' | 'range' | 'size' };

/** sync.Map's contract, on a Map. Values compare as their JSON text, as the 'json' codec's bytes do. */
class Reference {
  readonly m = new Map<Key, Value>();

  apply(o: Op): unknown {
    const m = this.m;
    switch (o.op) {
      case 'load': return m.get(o.key);
      case 'has': return m.has(o.key);
      case 'store': m.set(o.key, o.value); return undefined;
      case 'loadOrStore':
        if (m.has(o.key)) return { value: m.get(o.key), loaded: true };
        m.set(o.key, o.value);
        return { value: o.value, loaded: false };
      case 'loadAndDelete': {
        const loaded = m.has(o.key);
        const value = m.get(o.key);
        m.delete(o.key);
        return { value, loaded };
      }
      case 'delete': return m.delete(o.key);
      case 'swap': {
        const loaded = m.has(o.key);
        const previous = m.get(o.key);
        m.set(o.key, o.value);
        return { previous, loaded };
      }
      case 'compareAndSwap':
        if (m.has(o.key) && JSON.stringify(m.get(o.key)) === JSON.stringify(o.old)) {
          m.set(o.key, o.value);
          return true;
        }
        return false;
      case 'compareAndDelete':
        if (m.has(o.key) && JSON.stringify(m.get(o.key)) === JSON.stringify(o.old)) {
          m.delete(o.key);
          return true;
        }
        return false;
      case 'clear': m.clear(); return undefined;
      case 'range': return sorted([...m]);
      case 'size': return m.size;
    }
  }
}

function sorted(entries: [Key, Value][]): [Key, Value][] {
  return entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}

function applyTo(map: ConcurrentMap<Key, Value>, o: Op): unknown {
  switch (o.op) {
    case 'load': return map.load(o.key);
    case 'has': return map.has(o.key);
    case 'store': map.store(o.key, o.value); return undefined;
    case 'loadOrStore': return map.loadOrStore(o.key, o.value);
    case 'loadAndDelete': return map.loadAndDelete(o.key);
    case 'delete': return map.delete(o.key);
    case 'swap': return map.swap(o.key, o.value);
    case 'compareAndSwap': return map.compareAndSwap(o.key, o.old, o.value);
    case 'compareAndDelete': return map.compareAndDelete(o.key, o.old);
    case 'clear': map.clear(); return undefined;
    case 'range': {
      const seen: [Key, Value][] = [];
      map.range((k, v) => { seen.push([k, v]); });
      return sorted(seen);
    }
    case 'size': return map.size;
  }
}

// A small key space, so that keys are deleted, re-stored, expunged and promoted
// many times over; a few non-ASCII keys exercise the UTF-8 path.
const key = fc.oneof(
  { weight: 9, arbitrary: fc.constantFrom('a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i', 'j', 'k', 'l') },
  { weight: 1, arbitrary: fc.constantFrom('', 'ключ', 'キー', '🔑 emoji key') },
);
// A small value space, so that compare-and-swap sometimes matches.
const value = fc.oneof(fc.constantFrom<Value>('x', 'y', 0, 1), fc.string({ maxLength: 40 }), fc.integer());

const op: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ op: fc.constantFrom('load', 'loadAndDelete', 'delete', 'has'), key }) as fc.Arbitrary<Op>,
  fc.record({ op: fc.constantFrom('store', 'loadOrStore', 'swap'), key, value }) as fc.Arbitrary<Op>,
  fc.record({ op: fc.constant('compareAndSwap'), key, old: value, value }) as fc.Arbitrary<Op>,
  fc.record({ op: fc.constant('compareAndDelete'), key, old: value }) as fc.Arbitrary<Op>,
  fc.record({ op: fc.constantFrom('clear', 'range', 'size') }).filter(() => true) as fc.Arbitrary<Op>,
);

const small = { maxMemoryBytes: 16 << 20, maxValueBytes: 4096 };

describe.each([
  { name: 'SyncMap, 1 shard', make: () => SyncMap.createSync<Key, Value>({ ...small, shards: 1 }) },
  { name: 'SyncMap, 4 shards', make: () => SyncMap.createSync<Key, Value>({ ...small, shards: 4 }) },
  { name: 'SyncMap, debug build, 2 shards', make: () => internal.createWithBuild<Key, Value>('debug', { ...small, shards: 2 }) },
  { name: 'LockedMap', make: () => LockedMap.createSync<Key, Value>(small) },
])('random operation sequences ($name)', ({ make }) => {
  it('match a reference Map step by step, and keep every invariant', () => {
    fc.assert(
      fc.property(fc.array(op, { minLength: 1, maxLength: 300 }), (ops) => {
        const map = make();
        try {
          const reference = new Reference();
          for (const [i, o] of ops.entries()) {
            const expected = reference.apply(o);
            const actual = applyTo(map, o);
            if (JSON.stringify(actual) !== JSON.stringify(expected)) {
              throw new Error(`step ${i} ${JSON.stringify(o)}: got ${JSON.stringify(actual)}, want ${JSON.stringify(expected)}`);
            }
          }
          expect(applyTo(map, { op: 'range' })).toEqual(reference.apply({ op: 'range' }));
          expect(map.size).toBe(reference.m.size);
          expect(internal.verify(map)).toBe(0);
        } finally {
          map.close();
        }
      }),
      { numRuns: 150 },
    );
  });
});

describe('a long sequence on one map', () => {
  it('matches the reference over 200,000 operations on 2,000 keys', () => {
    const map = SyncMap.createSync<Key, Value>({ shards: 8 });
    const reference = new Reference();
    const sample = fc.sample(
      fc.oneof(
        fc.record({ op: fc.constantFrom('load', 'loadAndDelete', 'delete', 'has'), key: fc.nat(1999).map(String) }),
        fc.record({ op: fc.constantFrom('store', 'loadOrStore', 'swap'), key: fc.nat(1999).map(String), value: fc.nat(9) }),
        fc.record({ op: fc.constant('compareAndSwap'), key: fc.nat(1999).map(String), old: fc.nat(9), value: fc.nat(9) }),
        fc.record({ op: fc.constant('compareAndDelete'), key: fc.nat(1999).map(String), old: fc.nat(9) }),
      ) as fc.Arbitrary<Op>,
      { numRuns: 200_000, seed: 2026 },
    );
    let mismatches = 0;
    for (const [i, o] of sample.entries()) {
      if (JSON.stringify(applyTo(map, o)) !== JSON.stringify(reference.apply(o))) mismatches++;
      if (i % 50_000 === 49_999) expect(internal.verify(map)).toBe(0);
    }
    expect(mismatches).toBe(0);
    expect(applyTo(map, { op: 'range' })).toEqual(reference.apply({ op: 'range' }));
    expect(map.size).toBe(reference.m.size);
    map.close();
  });
});
