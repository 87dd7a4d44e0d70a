/**
 * Keys and values round-trip through every codec, on the real core: what goes
 * in through store() comes back equal through load(), swap(), loadAndDelete(),
 * range() and the iterators.
 */
import v8 from 'node:v8';
import { describe, expect, it } from 'vitest';
import { SyncMap, type ValueCodec, type ValueKind } from './helpers.js';

const samples: Record<ValueKind, unknown[]> = {
  json: [
    null, true, false, 0, -1, 1.5, 2 ** 53, 'text', '', 'ünïcödé ✓ 🔑', [], [1, [2, [3]]],
    { uid: '6b9f1a2e-7c4d-4e1b-9a3f-0c2d5e8f1b7a', phase: 'Running', labels: { app: 'web' }, restarts: 3 },
    { nested: { deep: { deeper: [null, { x: 'y' }] } } },
    'x'.repeat(100_000),
  ],
  string: ['', 'a', 'hello world', 'ünïcödé ✓ 🔑', '\u0000nul\u0000', 'x'.repeat(70_000), '日本語のテキスト'.repeat(1000)],
  bytes: [new Uint8Array(), new Uint8Array([0, 1, 2, 255]), new Uint8Array(100_000).map((_, i) => i * 31)],
  number: [0, -0, 1, -1, 0.1, Math.PI, Number.MAX_VALUE, Number.MIN_VALUE, Infinity, -Infinity, NaN, 2 ** 53 + 2],
  v8: [
    new Date(0), new Map([[1, { a: 2 }]]), new Set(['a', 'b']), /re+gex/gi, 10n ** 30n, undefined,
    new Uint16Array([1, 2, 3]), { circular: 'see below' },
  ],
};
// The structured clone codec handles cycles, unlike JSON.
const cyclic: { self?: unknown } = {};
cyclic.self = cyclic;
samples.v8.push(cyclic);

describe.each(Object.keys(samples) as ValueKind[])("values: '%s'", (kind) => {
  it('round-trip through store/load, swap, loadOrStore, loadAndDelete, range and entries', () => {
    const map = SyncMap.createSync<string, unknown>({ values: kind, shards: 4 });
    const expected = samples[kind];
    expected.forEach((value, i) => map.store(`k${i}`, value));
    expected.forEach((value, i) => {
      expect(map.load(`k${i}`)).toEqual(value);
      expect(map.loadOrStore(`k${i}`, expected[0])).toEqual({ value, loaded: true });
    });
    const ranged = new Map<string, unknown>();
    map.range((k, v) => { ranged.set(k, v); });
    expect(ranged).toEqual(new Map(expected.map((value, i) => [`k${i}`, value])));
    expect(new Map(map.entries())).toEqual(ranged);
    expected.forEach((value, i) => {
      expect(map.swap(`k${i}`, expected[(i + 1) % expected.length])).toEqual({ previous: value, loaded: true });
      expect(map.loadAndDelete(`k${i}`)).toEqual({ value: expected[(i + 1) % expected.length], loaded: true });
    });
    expect(map.size).toBe(0);
    map.close();
  });

  it('compare as encoded bytes in compareAndSwap and compareAndDelete', () => {
    const map = SyncMap.createSync<string, unknown>({ values: kind });
    const [a, b] = [samples[kind][1], samples[kind][2]];
    map.store('k', a);
    expect(map.compareAndSwap('k', b, a)).toBe(false);
    expect(map.compareAndSwap('k', a, b)).toBe(true);
    expect(map.load('k')).toEqual(b);
    expect(map.compareAndDelete('k', a)).toBe(false);
    expect(map.compareAndDelete('k', b)).toBe(true);
    expect(map.has('k')).toBe(false);
    map.close();
  });
});

describe('numbers as values', () => {
  it('keep -0 and NaN, and compare NaN equal to NaN (Object.is)', () => {
    const map = SyncMap.createSync<string, number>({ values: 'number' });
    map.store('z', -0);
    expect(Object.is(map.load('z'), -0)).toBe(true);
    expect(map.compareAndSwap('z', 0, 1)).toBe(false);
    map.store('n', NaN);
    expect(map.compareAndSwap('n', NaN, 7)).toBe(true);
    expect(map.load('n')).toBe(7);
    map.close();
  });
});

describe('a custom codec', () => {
  const pointCodec: ValueCodec<{ x: number; y: number }> = {
    encode: ({ x, y }) => new Uint8Array(new Float64Array([x, y]).buffer),
    decode: (bytes) => {
      const [x, y] = new Float64Array(bytes.buffer, bytes.byteOffset, 2);
      return { x: x!, y: y! };
    },
  };

  it('round-trips, and attach() must be given it again', () => {
    const map = SyncMap.createSync<string, { x: number; y: number }>({ values: pointCodec });
    map.store('p', { x: 1.5, y: -2 });
    expect(map.load('p')).toEqual({ x: 1.5, y: -2 });
    expect([...map.values()]).toEqual([{ x: 1.5, y: -2 }]);
    expect(map.handle.values).toBe('custom');
    const again = SyncMap.attach<string, { x: number; y: number }>(map.handle, { values: pointCodec });
    expect(again.load('p')).toEqual({ x: 1.5, y: -2 });
    again.close();
    map.close();
  });

  it('decodes range() values after leaving the core, with a copy it may keep', () => {
    const seen: Uint8Array[] = [];
    const keeping: ValueCodec<number> = {
      encode: (n) => new Uint8Array([n]),
      decode: (bytes) => { seen.push(bytes); return bytes[0]!; },
    };
    const map = SyncMap.createSync<string, number>({ values: keeping });
    for (let i = 0; i < 50; i++) map.store(`k${i}`, i);
    const values: number[] = [];
    map.range((_, v) => { values.push(v); });
    expect(values.sort((a, b) => a - b)).toEqual([...Array(50).keys()]);
    for (let i = 0; i < 50; i++) map.store(`k${i}`, 200);
    // The bytes handed to decode() are copies: overwriting the map did not change them.
    expect(seen.slice(-50).map((b) => b[0]).sort((a, b) => a! - b!)).toEqual([...Array(50).keys()]);
    expect(seen.every((b) => !(b.buffer instanceof SharedArrayBuffer))).toBe(true);
    map.close();
  });
});

describe('keys', () => {
  it("'string' keys are their UTF-8 bytes: distinct strings, distinct keys", () => {
    const map = SyncMap.createSync<string, number>({ values: 'number' });
    const keys = ['', 'a', 'A', 'a ', 'é', 'e\u0301', '🔑', 'k'.repeat(4096), 'ключ-'.repeat(100)];
    keys.forEach((k, i) => map.store(k, i));
    expect(map.size).toBe(keys.length);
    keys.forEach((k, i) => expect(map.load(k)).toBe(i));
    expect(new Set(map.keys())).toEqual(new Set(keys));
    map.close();
  });

  it("'number' keys follow SameValueZero: -0 is 0, every NaN is one key", () => {
    const map = SyncMap.createSync<number, string>({ keys: 'number', values: 'string' });
    map.store(0, 'zero');
    expect(map.load(-0)).toBe('zero');
    map.store(NaN, 'nan');
    expect(map.load(Number('not a number'))).toBe('nan');
    map.store(1.5, 'x');
    map.store(2 ** 53, 'big');
    expect(map.size).toBe(4);
    expect(new Set(map.keys())).toEqual(new Set([0, NaN, 1.5, 2 ** 53]));
    map.close();
  });

  it("'bytes' keys compare by content, and range() hands out copies", () => {
    const map = SyncMap.createSync<Uint8Array, string>({ keys: 'bytes', values: 'string' });
    map.store(new Uint8Array([1, 2, 3]), 'a');
    map.store(Buffer.from([1, 2, 3]), 'b');
    map.store(new Uint8Array(), 'empty');
    expect(map.size).toBe(2);
    expect(map.load(new Uint8Array([1, 2, 3]))).toBe('b');
    const [k] = [...map.keys()].filter((key) => key.length === 3);
    expect(k!.buffer instanceof SharedArrayBuffer).toBe(false);
    map.close();
  });

  it('v8 values keep their types', () => {
    const map = SyncMap.createSync<string, unknown>({ values: 'v8' });
    map.store('d', new Date(5));
    expect(map.load('d')).toBeInstanceOf(Date);
    expect(v8.serialize(map.load('d'))).toEqual(v8.serialize(new Date(5)));
    map.close();
  });
});
