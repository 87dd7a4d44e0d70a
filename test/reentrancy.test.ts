/**
 * A value whose encoding runs user code that calls a map again (a toJSON under
 * 'json', a getter read by the 'structured' codec, a custom encode()): the
 * outer call must still store under its own key and value. Every write method,
 * with a reentrant call that reads, one that moves the scratch region (a
 * compareAndSwap of two large values makes it grow), and one on another map.
 * And decoding: a custom decode() that calls the map gets a copy and disturbs
 * nothing.
 */
import { describe, expect, it } from 'vitest';
import { internal, SyncMap, SyncMapClosedError, type ValueCodec } from './helpers.js';

type Pod = { v: number };
type Map_ = SyncMap<string, unknown>;

const MINE = 'mine-a-longer-key-than-the-other';
const LARGE = 60_000;

/** What the user code does when it runs. */
const reentries: Record<string, (map: Map_, other: Map_) => void> = {
  'reads the map': (map) => {
    map.load('other');
    map.has('other');
  },
  'writes the map and grows its scratch': (map) => {
    map.store('other', 'a'.repeat(LARGE));
    map.compareAndSwap('other', 'a'.repeat(LARGE), 'b'.repeat(LARGE)); // key + two values: past the scratch
  },
  'writes another map': (_, other) => {
    other.store('elsewhere', { n: 1 });
    other.load('elsewhere');
  },
};

/** A value of V that runs `reenter` while it is encoded, and encodes as { v }. */
const codecs: Record<string, { options: object; value: (v: number, reenter: () => void) => unknown }> = {
  "'json' (toJSON)": {
    options: { values: 'json' },
    value: (v, reenter) => ({ toJSON: () => (reenter(), { v }) }),
  },
  "'structured' (a getter)": {
    options: {},
    value: (v, reenter) => ({
      get v() {
        reenter();
        return v;
      },
    }),
  },
  'a custom encode()': {
    options: {
      values: {
        encode: (value: unknown) => {
          (value as { reenter?: () => void } | null)?.reenter?.();
          return Buffer.from(JSON.stringify(value, (key, v: unknown) => (key === 'reenter' ? undefined : v)));
        },
        decode: (bytes: Uint8Array) => JSON.parse(Buffer.from(bytes).toString()) as unknown,
      } satisfies ValueCodec<unknown>,
    },
    value: (v, reenter) => ({ v, reenter }),
  },
};

/** Each write method, run with reentrant values; returns what the map must then hold under MINE (undefined: absent). */
const methods: Record<string, (map: Map_, value: (v: number) => unknown) => Pod | undefined> = {
  store: (map, value) => {
    map.store(MINE, value(1));
    return { v: 1 };
  },
  set: (map, value) => {
    expect(map.set(MINE, value(1))).toBe(map);
    return { v: 1 };
  },
  'loadOrStore (stores)': (map, value) => {
    expect(map.loadOrStore(MINE, value(1))).toEqual({ value: { v: 1 }, loaded: false });
    return { v: 1 };
  },
  swap: (map, value) => {
    map.store(MINE, { v: 0 });
    expect(map.swap(MINE, value(1))).toEqual({ previous: { v: 0 }, loaded: true });
    return { v: 1 };
  },
  compareAndSwap: (map, value) => {
    map.store(MINE, value(0));
    expect(map.compareAndSwap(MINE, value(0), value(1))).toBe(true);
    expect(map.compareAndSwap(MINE, value(0), value(2))).toBe(false);
    return { v: 1 };
  },
  compareAndDelete: (map, value) => {
    map.store(MINE, value(0));
    expect(map.compareAndDelete(MINE, value(1))).toBe(false);
    expect(map.compareAndDelete(MINE, value(0))).toBe(true);
    return undefined;
  },
};

describe.each(Object.keys(codecs))('a value encoded by %s that calls a map', (codecName) => {
  const { options, value } = codecs[codecName]!;

  describe.each(Object.keys(reentries))('and %s', (reentryName) => {
    it.each(Object.keys(methods))('%s stores under its own key, the value given', (methodName) => {
      const map = SyncMap.createSync<string, unknown>({ shards: 4, maxValueBytes: 64 << 10, ...options });
      const other = SyncMap.createSync<string, unknown>();
      map.store('other', 'o');
      let calls = 0;
      const reenter = (): void => {
        calls++;
        reentries[reentryName]!(map, other);
      };
      const expected = methods[methodName]!(map, (v) => value(v, reenter));
      expect(calls).toBeGreaterThan(0);
      expect(map.load(MINE)).toEqual(expected);
      // Nothing stored under a key made of two keys' bytes.
      expect([...map.keys()].sort()).toEqual((expected === undefined ? ['other'] : [MINE, 'other']).sort());
      expect(internal.verify(map)).toBe(0);
      if (reentryName === 'writes another map') expect(other.load('elsewhere')).toEqual({ n: 1 });
      if (reentryName.includes('grows')) expect(map.load('other') === 'b'.repeat(LARGE)).toBe(true);
      map.close();
      other.close();
    });
  });

  it('a value whose encoding closes the map: the write fails as on a closed map, and writes nothing', () => {
    const map = SyncMap.createSync<string, unknown>(options);
    const witness = SyncMap.attach<string, unknown>(map.handle, codecName.startsWith('a custom') ? (options as never) : undefined);
    expect(() => map.store(MINE, value(1, () => map.close()))).toThrow(SyncMapClosedError);
    expect(witness.size).toBe(0);
    expect(internal.verify(witness)).toBe(0);
    witness.close();
  });
});

describe('a custom decode() that calls the map', () => {
  it('decodes a copy: the bytes it gets are not disturbed by its own calls', () => {
    let map!: SyncMap<string, Pod>;
    let inside = false;
    const codec: ValueCodec<Pod> = {
      encode: (pod) => Buffer.from(JSON.stringify(pod)),
      decode: (bytes) => {
        const before = Buffer.from(bytes).toString();
        if (!inside) {
          inside = true;
          map.store('side', { v: -1 }); // overwrites this thread's scratch
          map.load('other');
          inside = false;
        }
        expect(Buffer.from(bytes).toString()).toBe(before);
        return JSON.parse(before) as Pod;
      },
    };
    map = SyncMap.createSync<string, Pod>({ values: codec, shards: 2 });
    map.store(MINE, { v: 1 });
    map.store('other', { v: 2 });
    expect(map.load(MINE)).toEqual({ v: 1 });
    expect(map.loadOrStore(MINE, { v: 9 })).toEqual({ value: { v: 1 }, loaded: true });
    expect(map.loadOrStore('fresh', { v: 3 })).toEqual({ value: { v: 3 }, loaded: false });
    expect(map.swap(MINE, { v: 4 })).toEqual({ previous: { v: 1 }, loaded: true });
    const seen: Record<string, Pod> = {};
    map.range((k, v) => {
      seen[k] = v;
    });
    expect(seen).toEqual({ [MINE]: { v: 4 }, other: { v: 2 }, fresh: { v: 3 }, side: { v: -1 } });
    expect(map.loadAndDelete(MINE)).toEqual({ value: { v: 4 }, loaded: true });
    expect(internal.verify(map)).toBe(0);
    map.close();
  });
});

describe("the 'structured' decoder", () => {
  it('calls no Map#set or Set#add patched after the package loaded: a load that would call the map gets its own value', () => {
    const map = SyncMap.createSync<string, unknown>();
    const stored = new Map<unknown, unknown>([['a', new Set([1, 2])], ['b', { c: 3 }]]);
    map.store('k', stored);
    map.store('other', 'x'.repeat(1000));
    const { set } = Map.prototype;
    const { add } = Set.prototype;
    let calls = 0;
    Map.prototype.set = function patchedSet(this: Map<unknown, unknown>, k: unknown, v: unknown) {
      calls++;
      map.load('other'); // would overwrite this thread's scratch in the middle of the read
      return set.call(this, k, v);
    };
    Set.prototype.add = function patchedAdd(this: Set<unknown>, v: unknown) {
      calls++;
      map.load('other');
      return add.call(this, v);
    };
    try {
      expect(map.load('k')).toStrictEqual(stored);
      expect(calls).toBe(0);
    } finally {
      Map.prototype.set = set;
      Set.prototype.add = add;
    }
    map.close();
  });
});
