/**
 * What error messages say about a value of the wrong type ("got an undefined",
 * "got a bigint"), and that a message is one line, with the detail in `cause`.
 */
import { describe, expect, it } from 'vitest';
import { SyncMap, SyncMapError, SyncMapValueEncodingError } from './helpers.js';

function messageOf(fn: () => unknown): string {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(SyncMapError);
    return (error as Error).message;
  }
  throw new Error('no error');
}

describe('what a value is, in messages', () => {
  const map = SyncMap.createSync<unknown, unknown>();
  const numbers = SyncMap.createSync<unknown, unknown>({ keys: 'number', values: 'string' });
  const bytes = SyncMap.createSync<unknown, unknown>({ keys: 'bytes', values: 'bytes' });

  it.each([
    [undefined, 'an undefined'],
    [null, 'null'],
    [true, 'a boolean'],
    [1, 'a number'],
    [1n, 'a bigint'],
    [Symbol('s'), 'a symbol'],
    [() => 1, 'a function'],
    [{}, 'an object (Object)'],
    [new Date(0), 'an object (Date)'],
    [Object.create(null), 'an object (no prototype)'],
    [[1], 'an object (Array)'],
    [new Uint8Array(1), 'a Uint8Array'],
    [Buffer.from('x'), 'a Buffer'],
  ])('%s is %s', (key, description) => {
    if (typeof key !== 'string') {
      expect(messageOf(() => map.load(key))).toBe(`SyncMap.load: key must be a string, got ${description}`);
    }
    if (typeof key !== 'number') {
      expect(messageOf(() => numbers.store(key, 'v'))).toBe(`SyncMap.store: key must be a number, got ${description}`);
      expect(messageOf(() => numbers.store(1, key))).toBe(`SyncMap.store: value must be a string, got ${description}`);
    }
    if (!(key instanceof Uint8Array)) {
      expect(messageOf(() => bytes.has(key))).toBe(`SyncMap.has: key must be a Uint8Array, got ${description}`);
      expect(messageOf(() => bytes.swap(new Uint8Array(1), key))).toBe(`SyncMap.swap: value must be a Uint8Array, got ${description}`);
    }
  });

  it("values with no JSON form, under 'json'", () => {
    const json = SyncMap.createSync({ values: 'json' });
    expect(messageOf(() => json.store('k', undefined as never))).toBe('SyncMap.store: value cannot be encoded as JSON (an undefined has no JSON form)');
    expect(messageOf(() => json.store('k', (() => 1) as never))).toBe('SyncMap.store: value cannot be encoded as JSON (a function has no JSON form)');
    json.close();
  });

  it("values the default codec cannot give back: what, and where", () => {
    expect(messageOf(() => map.store('k', () => 1))).toBe('SyncMap.store: value cannot be stored: a function cannot be cloned');
    expect(messageOf(() => map.store('k', { a: [0, { b: Symbol('s') }] }))).toBe(
      'SyncMap.store: value.a[1].b cannot be stored: a symbol cannot be cloned',
    );
  });
});

describe('one-line messages', () => {
  it("a JSON cycle: the first line of V8's message, the rest in cause", () => {
    const map = SyncMap.createSync({ values: 'json' });
    const cycle: Record<string, unknown> = {};
    cycle.self = cycle;
    let error: unknown;
    try {
      map.store('k', cycle as never);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(SyncMapValueEncodingError);
    const e = error as SyncMapValueEncodingError;
    expect(e.message).toBe('SyncMap.store: value cannot be encoded as JSON (Converting circular structure to JSON)');
    expect(e.cause).toBeInstanceOf(TypeError);
    expect((e.cause as Error).message).toContain("property 'self' closes the circle");
    map.close();
  });

  it("a custom encode() that throws a multi-line error", () => {
    const map = SyncMap.createSync({
      values: { encode: (): Uint8Array => { throw new Error('first\nsecond'); }, decode: () => 0 },
    });
    const message = messageOf(() => map.store('k', 1));
    expect(message).toBe("SyncMap.store: the custom codec's encode() threw (first)");
    map.close();
  });

  it('a custom encode() that stores into the same map without end quotes a bounded cause', () => {
    // Each level's error quotes the inner one's message: without a bound, the
    // message at the stack's limit ran to ~620 KB. The whole chain stays in `cause`.
    const map: SyncMap<string, number> = SyncMap.createSync({
      values: {
        encode: (n: number): Uint8Array => {
          map.store(`k${n + 1}`, n + 1);
          return new Uint8Array(8);
        },
        decode: () => 0,
      },
    });
    let error: unknown;
    try {
      map.store('k0', 0);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(SyncMapValueEncodingError);
    const e = error as SyncMapValueEncodingError;
    expect(e.message.startsWith("SyncMap.store: the custom codec's encode() threw (SyncMap.store: ")).toBe(true);
    expect(e.message.length).toBeLessThan(300);
    expect(e.message.endsWith('…)')).toBe(true);
    expect(e.cause).toBeInstanceOf(SyncMapValueEncodingError);
    expect(map.size).toBe(0);
    map.close();
  });
});
