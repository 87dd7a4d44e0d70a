/**
 * Keys and values round-trip through every codec, on the real core: what goes
 * in through store() comes back equal through load(), swap(), loadAndDelete(),
 * range() and the iterators. The default codec ('structured') gives back
 * exactly what was stored, for everything postMessage carries, or refuses it.
 */
import { isDeepStrictEqual } from 'node:util';
import v8 from 'node:v8';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  internal, SyncMap, SyncMapArgumentError, SyncMapKeyTypeError, SyncMapValueEncodingError, SyncMapValueTooLargeError,
  type ValueCodec, type ValueKind,
} from './helpers.js';

/**
 * A value as the structured codec must give it back: deep-equal, with the same
 * prototypes, -0, NaN, holes and undefined members (util.isDeepStrictEqual).
 * That holds no invalid Date equal to itself; vitest's toStrictEqual, as
 * strict on classes, -0 and holes, does.
 */
function expectExact(actual: unknown, expected: unknown): void {
  if (!isDeepStrictEqual(actual, expected)) expect(actual).toStrictEqual(expected);
}

const sparse: unknown[] = [1, , 3]; // eslint-disable-line no-sparse-arrays
(sparse as unknown as Record<string, unknown>).extra = 'property';
const veryLong: unknown[] = [];
veryLong[1_000_000] = 'last';
const error = new RangeError('out of range', { cause: new Error('inner') });
(error as Error & { code?: string }).code = 'E_RANGE';
const pool = Buffer.from('pooled'); // a view into Node's 8 KiB pool
const nullProto = Object.assign(Object.create(null) as object, { a: 1, nested: { b: [2] } });

/** Everything postMessage carries, and then some (a Buffer stays a Buffer, an Error keeps its code). */
const structuredSamples: unknown[] = [
  undefined, null, true, false, 0, -0, 1, -1, 2 ** 31, -(2 ** 31), 2 ** 53, 1.5, NaN, Infinity, -Infinity, Number.MIN_VALUE,
  0n, 1n, -1n, 2n ** 64n, -(10n ** 40n),
  '', 'text', 'ünïcödé ✓ 🔑', 'x'.repeat(100_000), '日本語'.repeat(10_000), 'lone \uD800 surrogate', '\uDC00', 'a\u0000b',
  new Date(0), /re+gex/gi, /[\u{1F600}]/u,
  new Map<unknown, unknown>([[1, { a: 2 }], ['k', new Set([1])], [{ key: 'object' }, null]]), new Set(['a', 1, undefined]),
  new Uint8Array([0, 1, 255]), new Int8Array([-1]), new Uint8ClampedArray([300 & 255]), new Int16Array([-2]), new Uint16Array([65535]),
  new Int32Array([-3]), new Uint32Array([2 ** 32 - 1]), new Float32Array([1.5, NaN]), new Float64Array([-0, Math.PI]),
  new BigInt64Array([-5n]), new BigUint64Array([2n ** 64n - 1n]), new DataView(new Uint8Array([1, 2, 3]).buffer, 1, 2),
  Buffer.from('a buffer'), pool, new ArrayBuffer(3), new Uint16Array(new ArrayBuffer(16), 4, 2),
  { a: undefined, b: [undefined, null], c: { d: NaN, e: -0 } }, sparse, veryLong, [], {}, [[[]]],
  error, new TypeError('plain'), nullProto, JSON.parse('{"__proto__": {"polluted": true}}') as unknown,
  new Number(-0), new String('boxed'), new Boolean(false), Object(5n) as unknown,
  { uid: '6b9f1a2e-7c4d-4e1b-9a3f-0c2d5e8f1b7a', phase: 'Running', labels: { app: 'web' }, restarts: 3, started: new Date(5) },
  Array.from({ length: 1000 }, (_, i) => ({ i, s: `item-${i}` })),
  // Strings inside: short and long, ASCII, UTF-8 and with unpaired surrogates, as values and as keys.
  {
    short: 'abc', long: 'y'.repeat(5000), utf8: 'ünïcödé '.repeat(100), lone: `${'z'.repeat(40)}\uD800`, empty: '',
    ['k'.repeat(31)]: 1, ['k'.repeat(32)]: 2, ['k'.repeat(200)]: 3, ['ключ']: 4, ['\uDBFF']: 5, '': 6, '0': 7, '42': 8,
  },
];

const samples: Record<ValueKind, unknown[]> = {
  structured: structuredSamples,
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
    const map = SyncMap.createSync<string, unknown>({ values: kind, shards: 4, maxValueBytes: 4 << 20 });
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
    const [a, b] = kind === 'structured' ? [{ a: 1 }, [1, 2]] : [samples[kind][1], samples[kind][2]];
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

describe("the default codec, 'structured'", () => {
  it('is the default', () => {
    const map = SyncMap.createSync();
    expect(map.handle.values).toBe('structured');
    map.close();
  });

  it('gives back exactly what was stored, through every method that returns a value', () => {
    const map = SyncMap.createSync<string, unknown>({ shards: 4, maxValueBytes: 4 << 20 });
    structuredSamples.forEach((value, i) => map.store(`k${i}`, value));
    structuredSamples.forEach((value, i) => {
      expectExact(map.load(`k${i}`), value);
      expectExact(map.loadOrStore(`k${i}`, 0).value, value);
    });
    const ranged = new Map<string, unknown>();
    map.range((k, v) => { ranged.set(k, v); });
    for (const [k, v] of map) expectExact(v, ranged.get(k));
    structuredSamples.forEach((value, i) => {
      expectExact(ranged.get(`k${i}`), value);
      expectExact(map.swap(`k${i}`, i).previous, value);
      map.store(`k${i}`, value);
      expectExact(map.loadAndDelete(`k${i}`).value, value);
    });
    expect(internal.verify(map)).toBe(0);
    map.close();
  });

  it('keeps the subtle parts: -0, NaN, holes, extra array properties, null prototypes, Buffer, Error details', () => {
    const map = SyncMap.createSync<string, unknown>();
    map.store('z', -0);
    expect(Object.is(map.load('z'), -0)).toBe(true);
    map.store('s', sparse);
    const s = map.load('s') as unknown[];
    expect(1 in s).toBe(false);
    expect((s as unknown as Record<string, unknown>).extra).toBe('property');
    map.store('long', veryLong);
    expect((map.load('long') as unknown[]).length).toBe(1_000_001);
    map.store('n', nullProto);
    expect(Object.getPrototypeOf(map.load('n'))).toBe(null);
    map.store('b', pool);
    const b = map.load('b') as Buffer;
    expect(Buffer.isBuffer(b)).toBe(true);
    expect(b.toString()).toBe('pooled');
    expect(b.buffer.byteLength).toBe(6); // its own bytes, not the pool behind them
    map.store('e', error);
    const e = map.load('e') as RangeError & { code: string; cause: Error };
    expect(e).toBeInstanceOf(RangeError);
    expect([e.message, e.code, e.stack, e.cause.message]).toEqual(['out of range', 'E_RANGE', error.stack, 'inner']);
    map.store('d', new Date(NaN)); // util.isDeepStrictEqual holds no invalid Date equal to itself
    expect(map.load('d')).toBeInstanceOf(Date);
    expect((map.load('d') as Date).getTime()).toBeNaN();
    map.store('u', { a: undefined });
    expect(Object.hasOwn(map.load('u') as object, 'a')).toBe(true);
    map.store('p', JSON.parse('{"__proto__": 1}'));
    expect(Object.getPrototypeOf(map.load('p'))).toBe(Object.prototype);
    expect(Object.keys(map.load('p') as object)).toEqual(['__proto__']);
    map.close();
  });

  it('keeps shared references and cycles, as structured clone does', () => {
    const map = SyncMap.createSync<string, unknown>();
    const shared = { n: 1 };
    const cycle: Record<string, unknown> = { shared, twice: [shared, shared] };
    cycle.self = cycle;
    cycle.inMap = new Map([[shared, cycle]]);
    map.store('c', cycle);
    const back = map.load('c') as typeof cycle & { twice: object[]; inMap: Map<object, unknown> };
    expect(back.self).toBe(back);
    expect(back.twice[0]).toBe(back.shared);
    expect(back.twice[1]).toBe(back.shared);
    expect([...back.inMap.keys()][0]).toBe(back.shared);
    expect(back.inMap.get(back.shared as object)).toBe(back);
    map.close();
  });

  it('gives back what fast-check generates, exactly', () => {
    const map = SyncMap.createSync<string, unknown>({ maxValueBytes: 4 << 20 });
    const anything = fc.anything({
      withBigInt: true, withBoxedValues: true, withDate: true, withMap: true, withSet: true, withNullPrototype: true,
      withObjectString: true, withSparseArray: true, withTypedArray: true, withUnicodeString: true, maxDepth: 4,
    });
    fc.assert(
      fc.property(anything, (value) => {
        map.store('k', value);
        expectExact(map.load('k'), value);
        expect(map.compareAndSwap('k', value, 'next')).toBe(true); // the same value encodes to the same bytes
      }),
      { numRuns: 500 },
    );
    map.close();
  });

  it('refuses what it could not give back, saying what and where, and leaves the map as it was', () => {
    class Pod {
      name = 'web-0';
    }
    const map = SyncMap.createSync<string, unknown>();
    map.store('k', 'before');
    const cases: [unknown, string][] = [
      [() => 1, 'value cannot be stored: a function cannot be cloned'],
      [Symbol('s'), 'value cannot be stored: a symbol cannot be cloned'],
      [new Pod(), 'value cannot be stored: an object of class Pod would come back as a plain Object (a clone keeps no class); store a plain object, or give the map a codec of your own'],
      [{ spec: { containers: [{ probe: () => true }] } }, 'value.spec.containers[0].probe cannot be stored: a function cannot be cloned'],
      [{ 'odd key': new WeakMap() }, 'value["odd key"] cannot be stored: a WeakMap cannot be cloned'],
      [new Map([['k', Promise.resolve()]]), 'value<Map value> cannot be stored: a Promise cannot be cloned'],
      [new Uint8Array(new SharedArrayBuffer(4)), 'value cannot be stored: a Uint8Array over a SharedArrayBuffer is shared between threads, never copied; store a copy'],
      [new SharedArrayBuffer(4), 'value cannot be stored: a SharedArrayBuffer is shared between threads, never copied; store a copy of its bytes'],
      [new (class extends Map {})(), 'value cannot be stored: an object of class an anonymous class would come back as a plain Object (a clone keeps no class); store a plain object, or give the map a codec of your own'],
      [new (class MyError extends Error {})('x'), 'value cannot be stored: an object of class MyError would come back as a plain Object (a clone keeps no class); store a plain object, or give the map a codec of your own'],
    ];
    for (const [value, message] of cases) {
      for (const act of [() => map.store('k', value), () => map.swap('k', value), () => map.loadOrStore('new', value), () => map.compareAndSwap('k', 'before', value)]) {
        let error: unknown;
        try {
          act();
        } catch (e) {
          error = e;
        }
        expect(error).toBeInstanceOf(SyncMapValueEncodingError);
        expect((error as Error).message).toMatch(/^SyncMap\.\w+( \(new\))?: /);
        expect((error as Error).message.replace(/^SyncMap\.\w+( \(new\))?: /, '')).toBe(message);
      }
    }
    expect(map.load('k')).toBe('before');
    expect(map.size).toBe(1);
    map.close();
  });

  it("passes on what the value's own code throws (a getter), as the cause", () => {
    const map = SyncMap.createSync<string, unknown>();
    const boom = new Error('boom\nsecond line');
    let error: unknown;
    try {
      map.store('k', { ok: 1, get bad(): number { throw boom; } });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(SyncMapValueEncodingError);
    expect((error as Error).message).toBe('SyncMap.store: value cannot be encoded (boom)');
    expect((error as Error).cause).toBe(boom);
    expect(map.size).toBe(0);
    map.store('k', 'after'); // the encoder is not left busy
    expect(map.load('k')).toBe('after');
    map.close();
  });

  it('writes strings of any length and form straight into the scratch, within maxValueBytes', () => {
    const map = SyncMap.createSync<string, unknown>({ maxValueBytes: 1000 });
    for (const s of ['', 'a', 'é', '🔑', '\uD800', 'x\uDFFFy', 'é'.repeat(499), 'a'.repeat(999), '\uD800'.repeat(497)]) {
      map.store('k', s);
      expect(map.load('k')).toBe(s);
    }
    for (const s of ['a'.repeat(1000), 'é'.repeat(500), '\uD800'.repeat(498)]) {
      expect(() => map.store('k', s)).toThrow(SyncMapValueTooLargeError);
    }
    map.close();
  });

  it('compares numbers as Object.is does, and objects by their properties in order', () => {
    const map = SyncMap.createSync<string, unknown>();
    map.store('n', 1);
    expect(map.compareAndSwap('n', 1.0, NaN)).toBe(true);
    expect(map.compareAndSwap('n', NaN, -0)).toBe(true);
    expect(map.compareAndSwap('n', 0, 5)).toBe(false);
    expect(map.compareAndDelete('n', -0)).toBe(true);
    map.store('o', { a: 1, b: 2 });
    expect(map.compareAndSwap('o', { b: 2, a: 1 }, 'x')).toBe(false);
    expect(map.compareAndSwap('o', { a: 1, b: 2 }, 'x')).toBe(true);
    map.close();
  });
});

describe('loadOrStore returns the same kind of value whether it stored or loaded', () => {
  it.each(['structured', 'json', 'v8'] as const)("'%s': a decoded copy, never the caller's own object", (values) => {
    const map = SyncMap.createSync<string, unknown>({ values });
    const mine = { replicas: 3, labels: { app: 'web' } };
    const stored = map.loadOrStore('k', mine);
    expect(stored.loaded).toBe(false);
    expect(stored.value).toEqual(mine);
    expect(stored.value).not.toBe(mine);
    mine.replicas = 4; // the caller's object is the caller's
    expect((stored.value as typeof mine).replicas).toBe(3);
    const loaded = map.loadOrStore('k', mine);
    expect(loaded).toEqual({ value: stored.value, loaded: true });
    map.close();
  });

  it('what JSON changes, loadOrStore changes too, as a load would', () => {
    const map = SyncMap.createSync<string, unknown>({ values: 'json' });
    expect(map.loadOrStore('nan', NaN).value).toBe(null);
    expect(map.loadOrStore('date', new Date(0)).value).toBe('1970-01-01T00:00:00.000Z');
    map.close();
  });
});

describe('compareAndSwap and compareAndDelete with undefined, what load() returns for an absent key', () => {
  // The optimistic update `compareAndSwap(k, map.load(k), next)` meets an absent key.
  it.each(['json', 'string', 'number', 'bytes'] as const)("'%s', whose values cannot be undefined: false, nothing stored", (values) => {
    const map = SyncMap.createSync<string, unknown>({ values });
    const sample = samples[values][0];
    const before = map.stats().writes;
    expect(map.compareAndSwap('absent', map.load('absent'), sample)).toBe(false);
    expect(map.compareAndDelete('absent', undefined)).toBe(false);
    map.store('present', sample);
    expect(map.compareAndSwap('present', undefined, sample)).toBe(false);
    expect(map.compareAndDelete('present', undefined)).toBe(false);
    expect([map.has('absent'), map.load('present'), map.size]).toEqual([false, sample, 1]);
    expect(map.stats().writes).toBe(before + 1); // the store only
    // What cannot be stored is still refused: the new value, the key.
    expect(() => map.compareAndSwap('absent', undefined, undefined)).toThrow(SyncMapValueEncodingError);
    expect(() => map.compareAndSwap(7 as never, undefined, sample)).toThrow(SyncMapKeyTypeError);
    expect(() => map.compareAndDelete(7 as never, undefined)).toThrow(SyncMapKeyTypeError);
    map.close();
  });

  it.each(['structured', 'v8'] as const)("'%s', which can hold undefined: compared as any value", (values) => {
    const map = SyncMap.createSync<string, unknown>({ values });
    expect(map.compareAndSwap('absent', undefined, 1)).toBe(false); // a missing key is never stored
    map.store('u', undefined);
    expect(map.compareAndSwap('u', undefined, 1)).toBe(true);
    expect(map.load('u')).toBe(1);
    map.store('u', undefined);
    expect(map.compareAndDelete('u', undefined)).toBe(true);
    expect(map.has('u')).toBe(false);
    map.close();
  });
});

describe("'json', as an explicit choice, keeps JSON", () => {
  it('and changes the rest, as JSON does (which is why it is not the default)', () => {
    const map = SyncMap.createSync<string, unknown>({ values: 'json' });
    const cases: [unknown, unknown][] = [
      [new Date(0), '1970-01-01T00:00:00.000Z'], [new Map([[1, 2]]), {}], [new Uint8Array([1, 2]), { 0: 1, 1: 2 }],
      [NaN, null], [-0, 0], [{ a: undefined, b: 1 }, { b: 1 }], [[undefined], [null]],
    ];
    for (const [value, back] of cases) {
      map.store('k', value);
      expect(map.load('k')).toStrictEqual(back);
    }
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

  it("refuses attach() with a built-in codec's name, which would decode its bytes as garbage", () => {
    const map = SyncMap.createSync<string, { x: number; y: number }>({ values: pointCodec });
    map.store('p', { x: 1, y: 2 });
    for (const values of ['json', 'structured', 'string'] as const) {
      expect(() => SyncMap.attach(map.handle, { values })).toThrow(SyncMapArgumentError);
      expect(() => SyncMap.attach(map.handle, { values })).toThrow(`must be that { encode, decode } codec, got '${values}'`);
    }
    expect(map.stats().threads).toBe(1); // the refused attachments took no slot
    expect(map.load('p')).toEqual({ x: 1, y: 2 });
    map.close();
  });

  it('refuses a detached Uint8Array from encode(), and stores nothing', () => {
    const detaching: ValueCodec<number> = {
      encode: (n) => {
        const bytes = new Uint8Array([n]);
        structuredClone(bytes.buffer, { transfer: [bytes.buffer] });
        return bytes;
      },
      decode: (bytes) => bytes[0]!,
    };
    const map = SyncMap.createSync<string, number>({ values: detaching });
    expect(() => map.store('k', 1)).toThrow(SyncMapValueEncodingError);
    expect(() => map.store('k', 1)).toThrow('returned a detached Uint8Array');
    expect(map.size).toBe(0);
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

  it("'bytes' keys and values whose buffer was transferred are refused, not taken for empty", () => {
    const map = SyncMap.createSync<Uint8Array, Uint8Array>({ keys: 'bytes', values: 'bytes' });
    const detached = (): Uint8Array => {
      const bytes = new Uint8Array([1, 2, 3]);
      structuredClone(bytes.buffer, { transfer: [bytes.buffer] });
      return bytes;
    };
    map.store(new Uint8Array(), new Uint8Array([9]));
    expect(() => map.store(detached(), new Uint8Array([1]))).toThrow(SyncMapKeyTypeError);
    expect(() => map.load(detached())).toThrow('buffer was transferred (detached)');
    expect(() => map.store(new Uint8Array([1]), detached())).toThrow(SyncMapValueEncodingError);
    expect(() => map.store(new Uint8Array([1]), detached())).toThrow('buffer was transferred (detached)');
    // The empty key is still there, unchanged, and nothing else was stored.
    expect(map.size).toBe(1);
    expect(map.load(new Uint8Array())).toEqual(new Uint8Array([9]));
    map.close();
  });

  it("'bytes' keys and values are taken by their own length: a redefined length getter never runs", () => {
    const map = SyncMap.createSync<Uint8Array, Uint8Array>({ keys: 'bytes', values: 'bytes' });
    let calls = 0;
    // A length that calls the map (overwriting the scratch) and lies about the size.
    const sneaky = (bytes: Uint8Array): Uint8Array =>
      Object.defineProperty(bytes, 'length', {
        get() {
          calls++;
          map.store(new Uint8Array([111]), new Uint8Array([1]));
          return 4000;
        },
      });
    map.store(sneaky(new Uint8Array([1, 2, 3])), sneaky(new Uint8Array([4, 5])));
    expect(calls).toBe(0);
    expect(map.size).toBe(1);
    expect(map.load(new Uint8Array([1, 2, 3]))).toEqual(new Uint8Array([4, 5]));
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
