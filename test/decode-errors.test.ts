/**
 * A custom codec's decode() that throws: a typed SyncMapValueDecodingError with
 * the codec's error as `cause`, a message that says whether the operation had
 * already made its write, and a map and thread that stay fully usable (no pin,
 * no range, no scratch left behind).
 */
import { describe, expect, it } from 'vitest';
import {
  internal,
  LockedMap,
  SyncMap,
  SyncMapError,
  SyncMapValueDecodingError,
  type ConcurrentMap,
  type ValueCodec,
} from './helpers.js';

const POISON = 255;

/** One byte per value; decode() throws on the byte 255, which encode() writes for -1. */
function poisonCodec(): ValueCodec<number> & { decoded: number } {
  const codec = {
    decoded: 0,
    encode: (n: number) => new Uint8Array([n < 0 ? POISON : n]),
    decode: (bytes: Uint8Array) => {
      if (bytes[0] === POISON) throw new RangeError('poisoned value\nwith a second line');
      codec.decoded++;
      return bytes[0]!;
    },
  };
  return codec;
}

function decodingError(fn: () => unknown): SyncMapValueDecodingError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(SyncMapValueDecodingError);
    expect(error).toBeInstanceOf(SyncMapError);
    const e = error as SyncMapValueDecodingError;
    expect(e.code).toBe('ERR_SYNCMAP_VALUE_DECODING');
    expect(e.cause).toBeInstanceOf(RangeError);
    expect((e.cause as Error).message).toBe('poisoned value\nwith a second line');
    expect(e.message).not.toContain('\n');
    return e;
  }
  throw new Error('no error');
}

/** Every method works after the throw; the map holds `expected` besides the poisoned key. */
function stillWorks(map: ConcurrentMap<string, number>, expected: Record<string, number>): void {
  expect(internal.verify(map)).toBe(0);
  map.store('after', 1);
  expect(map.load('after')).toBe(1);
  expect(map.has('after')).toBe(true);
  expect(map.loadOrStore('after2', 2)).toEqual({ value: 2, loaded: false });
  expect(map.swap('after', 3)).toEqual({ previous: 1, loaded: true });
  expect(map.compareAndSwap('after', 3, 4)).toBe(true);
  expect(map.compareAndDelete('after', 4)).toBe(true);
  expect(map.loadAndDelete('after2')).toEqual({ value: 2, loaded: true });
  expect(map.delete('after')).toBe(false);
  // Ranging again works: the thread was not left ranging.
  map.delete('poisoned');
  const seen: Record<string, number> = {};
  map.range((k, v) => { seen[k] = v; });
  expect(seen).toEqual(expected);
  expect(Object.fromEntries(map.entries())).toEqual(expected);
  expect(map.size).toBe(Object.keys(expected).length);
  map.clear();
  expect(map.size).toBe(0);
  // Nothing pins the epoch: what was freed can be reclaimed.
  internal.collect(map);
  expect(internal.verify(map)).toBe(0);
  map.store('last', 9);
  expect(map.load('last')).toBe(9);
}

describe.each([
  ['SyncMap', (values: ValueCodec<number>) => SyncMap.createSync<string, number>({ values, shards: 4 })],
  ['LockedMap', (values: ValueCodec<number>) => LockedMap.createSync<string, number>({ values })],
] as const)('%s: a custom decode() that throws', (name, create) => {
  function filled(): ConcurrentMap<string, number> {
    const map = create(poisonCodec());
    for (let i = 0; i < 20; i++) map.store(`k${i}`, i);
    map.store('poisoned', -1);
    return map;
  }
  const rest = Object.fromEntries(Array.from({ length: 20 }, (_, i) => [`k${i}`, i]));

  it.each([
    ['load', (m: ConcurrentMap<string, number>) => m.load('poisoned')],
    ['get', (m: ConcurrentMap<string, number>) => m.get('poisoned')],
    ['loadOrStore (loaded)', (m: ConcurrentMap<string, number>) => m.loadOrStore('poisoned', 7)],
  ] as const)('%s: nothing changed', (op, act) => {
    const map = filled();
    const e = decodingError(() => act(map));
    expect(e.message).toBe(
      `${name}.${op.split(' ')[0]}: the custom codec's decode() threw (poisoned value); the map was not changed`,
    );
    expect(map.has('poisoned')).toBe(true);
    expect(map.size).toBe(21);
    stillWorks(map, rest);
    map.close();
  });

  it.each([
    ['swap', (m: ConcurrentMap<string, number>) => m.swap('poisoned', 5), 5],
    ['loadAndDelete', (m: ConcurrentMap<string, number>) => m.loadAndDelete('poisoned'), undefined],
  ] as const)('%s: the write took effect, and the message says so', (op, act, after) => {
    const map = filled();
    const e = decodingError(() => act(map));
    const wrote = op === 'swap' ? 'swap' : 'delete';
    expect(e.message).toBe(
      `${name}.${op}: the custom codec's decode() threw (poisoned value); the ${wrote} took effect; decoding the previous value failed`,
    );
    expect(map.load('poisoned')).toBe(after);
    stillWorks(map, rest);
    map.close();
  });

  it('loadOrStore that stores: the value was stored, and decoding it back failed', () => {
    const map = filled();
    const e = decodingError(() => map.loadOrStore('fresh', -1));
    expect(e.message).toBe(
      `${name}.loadOrStore: the custom codec's decode() threw (poisoned value); the value was stored; decoding it back failed`,
    );
    expect(map.has('fresh')).toBe(true);
    map.delete('fresh');
    stillWorks(map, rest);
    map.close();
  });

  it.each([
    ['range', (m: ConcurrentMap<string, number>) => m.range(() => true)],
    ['forEach', (m: ConcurrentMap<string, number>) => m.forEach(() => {})],
    ['entries', (m: ConcurrentMap<string, number>) => [...m.entries()]],
    ['keys', (m: ConcurrentMap<string, number>) => [...m.keys()]],
    ['values', (m: ConcurrentMap<string, number>) => [...m.values()]],
    ['iterator', (m: ConcurrentMap<string, number>) => [...m]],
  ] as const)('%s: a throw midway leaves no range open', (op, act) => {
    const map = filled();
    const e = decodingError(() => act(map));
    const what = op === 'iterator' ? `${name}[Symbol.iterator]` : `${name}.${op}`;
    expect(e.message).toBe(`${what}: the custom codec's decode() threw (poisoned value); the map was not changed`);
    stillWorks(map, rest);
    map.close();
  });

  it('an iterator that threw is done; a new one starts over', () => {
    const map = filled();
    const it = map.entries();
    decodingError(() => { for (;;) if (it.next().done) break; });
    expect(it.next()).toEqual({ value: undefined, done: true });
    map.delete('poisoned');
    expect([...map.entries()].length).toBe(20);
    map.close();
  });

  it('another thread attached meanwhile is not disturbed', () => {
    const codec = poisonCodec();
    const map = create(codec);
    const other = (name === 'SyncMap' ? SyncMap : LockedMap).attach<string, number>(map.handle, { values: codec });
    map.store('poisoned', -1);
    decodingError(() => other.load('poisoned'));
    decodingError(() => [...map]);
    other.store('k', 1);
    expect(map.load('k')).toBe(1);
    expect(map.stats().threads).toBe(1); // the same thread: one slot, shared
    other.close();
    stillWorks(map, { k: 1 });
    map.close();
  });
});
