/**
 * The types, as a user compiles them: the shipped .d.ts in build/, under a
 * plain Node setup (@types/node, no DOM lib, skipLibCheck off:
 * test/typecheck.tsconfig.json). vitest's typecheck mode runs this file with
 * `npm test`: an expectTypeOf that does not hold, or a @ts-expect-error that
 * sees no error, fails the test around it. Nothing here runs.
 */
import { describe, expectTypeOf, it } from 'vitest';
import {
  LockedMap,
  SyncMap,
  type InferredKey,
  type InferredValue,
  type JsonValue,
  type SyncMapHandle,
  type SyncMapOptions,
  type ValueCodec,
  type ValueOf,
} from '../build/bindings/index.js';

interface Pod {
  name: string;
  replicas: number;
  labels?: Record<string, string>;
}

const pointCodec: ValueCodec<{ x: number; y: number }> = {
  encode: ({ x, y }) => new Uint8Array(new Float64Array([x, y]).buffer),
  decode: (b) => ({ x: b[0]!, y: b[1]! }),
};

describe('the types create() infers from its options', () => {
  it('follow keys and values', () => {
    expectTypeOf(SyncMap.createSync()).toEqualTypeOf<SyncMap<string, unknown>>();
    expectTypeOf(SyncMap.createSync({})).toEqualTypeOf<SyncMap<string, unknown>>();
    expectTypeOf(SyncMap.createSync({ keys: 'number', values: 'number' })).toEqualTypeOf<SyncMap<number, number>>();
    expectTypeOf(SyncMap.createSync({ values: 'string' })).toEqualTypeOf<SyncMap<string, string>>();
    expectTypeOf(SyncMap.createSync({ keys: 'bytes', values: 'bytes' })).toEqualTypeOf<SyncMap<Uint8Array, Uint8Array>>();
    expectTypeOf(SyncMap.createSync({ values: 'structured' })).toEqualTypeOf<SyncMap<string, unknown>>();
    expectTypeOf(SyncMap.createSync({ values: 'v8', shards: 4 })).toEqualTypeOf<SyncMap<string, unknown>>();
    expectTypeOf(SyncMap.createSync({ values: pointCodec })).toEqualTypeOf<SyncMap<string, { x: number; y: number }>>();
    expectTypeOf(SyncMap.createSync({ keys: 'number', values: { encode: (v: boolean) => new Uint8Array([+v]), decode: (b) => b[0] === 1 } }))
      .toEqualTypeOf<SyncMap<number, boolean>>();
    const frozenPoints = { ...pointCodec, decode: (b: Uint8Array) => Object.freeze(pointCodec.decode(b)), immutable: true };
    expectTypeOf(SyncMap.createSync({ values: frozenPoints })).toEqualTypeOf<SyncMap<string, Readonly<{ x: number; y: number }>>>();
    // @ts-expect-error: immutable is a boolean
    SyncMap.createSync({ values: { ...pointCodec, immutable: 'yes' } });
    expectTypeOf(SyncMap.create({ keys: 'number', values: 'string' })).toEqualTypeOf<Promise<SyncMap<number, string>>>();
    expectTypeOf(LockedMap.createSync({ keys: 'number', values: 'number' })).toEqualTypeOf<LockedMap<number, number>>();
    expectTypeOf(LockedMap.create({ values: 'bytes' })).toEqualTypeOf<Promise<LockedMap<string, Uint8Array>>>();
  });

  it("'json' holds JSON values, and says so", () => {
    expectTypeOf(SyncMap.createSync({ values: 'json' })).toEqualTypeOf<SyncMap<string, JsonValue>>();
    expectTypeOf<ValueOf<'json'>>().toEqualTypeOf<JsonValue>();
    const map = SyncMap.createSync({ values: 'json' });
    map.store('k', { a: [1, 'two', null, { b: true }] });
    // @ts-expect-error: a Date is not JSON (it would come back a string)
    map.store('k', new Date());
    // @ts-expect-error: undefined is not JSON
    map.store('k', undefined);
    // @ts-expect-error: a bigint is not JSON
    map.store('k', 1n);
  });

  it('from options in a variable: every kind they allow', () => {
    const options: SyncMapOptions = { maxMemoryBytes: 64 << 20 };
    expectTypeOf(SyncMap.createSync(options)).toEqualTypeOf<SyncMap<string | number | Uint8Array, unknown>>();
    const numberKeys = { keys: 'number' } as const;
    expectTypeOf(SyncMap.createSync(numberKeys)).toEqualTypeOf<SyncMap<number, unknown>>();
  });

  it('give the methods their types', () => {
    const map = SyncMap.createSync({ keys: 'number', values: 'string' });
    expectTypeOf(map.load).parameter(0).toEqualTypeOf<number>();
    expectTypeOf(map.load(1)).toEqualTypeOf<string | undefined>();
    expectTypeOf(map.swap(1, 'a').previous).toEqualTypeOf<string | undefined>();
    expectTypeOf([...map.keys()]).toEqualTypeOf<number[]>();
    expectTypeOf(map.set(1, 'a')).toEqualTypeOf<SyncMap<number, string>>();
  });

  it('are named and exported', () => {
    expectTypeOf<InferredKey<{ keys: 'bytes' }>>().toEqualTypeOf<Uint8Array>();
    expectTypeOf<InferredKey<{ shards: 4 }>>().toEqualTypeOf<string>();
    expectTypeOf<InferredValue<{ values: 'number' }>>().toEqualTypeOf<number>();
    expectTypeOf<InferredValue<{ values: typeof pointCodec }>>().toEqualTypeOf<{ x: number; y: number }>();
    expectTypeOf<ValueOf<'structured'>>().toEqualTypeOf<unknown>();
    expectTypeOf<ValueOf<'string'>>().toEqualTypeOf<string>();
  });
});

describe('explicit type arguments', () => {
  it('are taken when the options can hold them', () => {
    expectTypeOf(SyncMap.create<string, Pod>()).toEqualTypeOf<Promise<SyncMap<string, Pod>>>();
    expectTypeOf(SyncMap.createSync<string, Pod>({ values: 'json' })).toEqualTypeOf<SyncMap<string, Pod>>();
    expectTypeOf(SyncMap.createSync<string, Pod>({ keys: 'string', values: 'json' })).toEqualTypeOf<SyncMap<string, Pod>>();
    expectTypeOf(SyncMap.createSync<string, Pod>({ values: 'v8', shards: 8 })).toEqualTypeOf<SyncMap<string, Pod>>();
    expectTypeOf(SyncMap.createSync<string, Date>()).toEqualTypeOf<SyncMap<string, Date>>();
    expectTypeOf(SyncMap.createSync<number, number>({ keys: 'number', values: 'number' })).toEqualTypeOf<SyncMap<number, number>>();
    expectTypeOf(SyncMap.createSync<number, string>({ keys: 'number' })).toEqualTypeOf<SyncMap<number, string>>();
    expectTypeOf(SyncMap.createSync<string>()).toEqualTypeOf<SyncMap<string, unknown>>();
    expectTypeOf(SyncMap.createSync<'a' | 'b', number>()).toEqualTypeOf<SyncMap<'a' | 'b', number>>();
    // Narrower or wider than the codec's type, but not contradicting it.
    expectTypeOf(SyncMap.createSync<string, 'on' | 'off'>({ values: 'string' })).toEqualTypeOf<SyncMap<string, 'on' | 'off'>>();
    expectTypeOf(SyncMap.createSync<string, unknown>({ values: 'bytes' })).toEqualTypeOf<SyncMap<string, unknown>>();
    expectTypeOf(SyncMap.createSync<string, unknown>({ values: 'json' })).toEqualTypeOf<SyncMap<string, unknown>>();
    expectTypeOf(SyncMap.createSync<string, { x: number; y: number }>({ values: pointCodec }))
      .toEqualTypeOf<SyncMap<string, { x: number; y: number }>>();
    expectTypeOf(LockedMap.createSync<string, Pod>({ values: 'json' })).toEqualTypeOf<LockedMap<string, Pod>>();
    expectTypeOf(LockedMap.createSync<Uint8Array, number>({ keys: 'bytes' })).toEqualTypeOf<LockedMap<Uint8Array, number>>();
  });

  it('that the defaults cannot hold require their option', () => {
    // @ts-expect-error: the default keys are strings; number keys need { keys: 'number' }
    SyncMap.createSync<number, string>();
    // @ts-expect-error: the same, with options that leave keys out
    SyncMap.createSync<number, string>({ values: 'string' });
    // @ts-expect-error: and by create()
    void SyncMap.create<number>();
    // @ts-expect-error: and by LockedMap
    LockedMap.createSync<Uint8Array, number>({});
    // @ts-expect-error: string | number keys are not all strings
    SyncMap.createSync<string | number>();
  });

  it('that contradict the options do not compile', () => {
    // @ts-expect-error: number values are not bytes
    SyncMap.createSync<string, number>({ values: 'bytes' });
    // @ts-expect-error: string keys are not numbers
    SyncMap.createSync<string, number>({ keys: 'number' });
    // @ts-expect-error: a Uint8Array is not a string
    SyncMap.createSync<string, string>({ values: 'bytes' });
    // @ts-expect-error: the codec's values are not Pods
    SyncMap.createSync<string, Pod>({ values: pointCodec });
    // @ts-expect-error: a Date is not JSON
    SyncMap.createSync<string, Date>({ values: 'json' });
    // @ts-expect-error: a Map is not JSON
    SyncMap.createSync<string, Map<string, number>>({ values: 'json' });
    // @ts-expect-error: an object with a method is not JSON
    SyncMap.createSync<string, { f(): void }>({ values: 'json' });
  });

  it('are kept by attach()', () => {
    const handle = SyncMap.createSync().handle;
    expectTypeOf(SyncMap.attach<string, Pod>(handle)).toEqualTypeOf<SyncMap<string, Pod>>();
    expectTypeOf(LockedMap.attach<number, string>(handle)).toEqualTypeOf<LockedMap<number, string>>();
  });
});

describe('options', () => {
  it('refuse what they do not name', () => {
    // @ts-expect-error: no such option (a typo of maxMemoryBytes)
    SyncMap.createSync({ maxMemory: 1 });
    // @ts-expect-error: no such option, beside a good one
    SyncMap.createSync({ keys: 'number', maxMemory: 1 });
    // @ts-expect-error: no such option, with explicit type arguments
    SyncMap.createSync<string, Pod>({ maxMemory: 1 });
    // @ts-expect-error: lru-cache's max: this map bounds bytes (maxMemoryBytes)
    SyncMap.createSync({ max: 100 });
    // @ts-expect-error: a LockedMap has no shards
    LockedMap.createSync({ shards: 4 });
    // @ts-expect-error: a LockedMap has no shards, with explicit type arguments
    LockedMap.createSync<string, Pod>({ shards: 4 });
    // @ts-expect-error: no such key kind
    SyncMap.createSync({ keys: 'object' });
    // @ts-expect-error: no such option for attach
    SyncMap.attach(SyncMap.createSync().handle, { shards: 4 });
  });
});

describe('misuse that must not compile', () => {
  it('new, and a map where its handle belongs', () => {
    // @ts-expect-error: no public constructor; SyncMap.create, createSync or attach
    new SyncMap({});
    // @ts-expect-error: the same for LockedMap
    new LockedMap();
    const map = SyncMap.createSync();
    // @ts-expect-error: attach takes map.handle, not the map
    SyncMap.attach(map);
    // @ts-expect-error: nor an empty object, what a map becomes through postMessage
    SyncMap.attach({});
  });
});

describe('under a plain Node setup', () => {
  it('the handle holds typed WebAssembly objects, not any', () => {
    const handle: SyncMapHandle = SyncMap.createSync().handle;
    expectTypeOf(handle.memory).not.toBeAny();
    expectTypeOf(handle.module).not.toBeAny();
    expectTypeOf(handle.memory.buffer).toEqualTypeOf<ArrayBuffer>();
    expectTypeOf(handle.memory.grow).toEqualTypeOf<(delta: number) => number>();
  });

  it('`using` closes the attachment at the end of the block', () => {
    expectTypeOf(SyncMap.createSync()).toMatchTypeOf<Disposable>();
    {
      using map = SyncMap.createSync<string, number>({ values: 'number' });
      map.store('k', 1);
    }
  });
});
