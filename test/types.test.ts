/**
 * The types create() infers from its options, and the explicit type arguments
 * it refuses. These are compile-time checks: tsconfig.json includes this file,
 * so `npm run build` (and with it `npm test`) fails on a wrong type, an
 * expectTypeOf that does not hold, or a @ts-expect-error that sees no error.
 *
 * It imports the TypeScript sources, not build/: the types are the same, and
 * the build must not read its own output. At run time it checks only that the
 * build does include it; the calls sit in functions that never run.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, expectTypeOf, it } from 'vitest';
import type { InferredKey, InferredValue, LockedMap, SyncMap, SyncMapOptions, ValueCodec, ValueOf } from '../bindings/index.js';

interface Pod {
  name: string;
  replicas: number;
}

const pointCodec: ValueCodec<{ x: number; y: number }> = {
  encode: ({ x, y }) => new Uint8Array(new Float64Array([x, y]).buffer),
  decode: (b) => ({ x: b[0]!, y: b[1]! }),
};

export function inferredFromOptions(S: typeof SyncMap, L: typeof LockedMap): void {
  expectTypeOf(S.createSync()).toEqualTypeOf<SyncMap<string, unknown>>();
  expectTypeOf(S.createSync({})).toEqualTypeOf<SyncMap<string, unknown>>();
  expectTypeOf(S.createSync({ keys: 'number', values: 'number' })).toEqualTypeOf<SyncMap<number, number>>();
  expectTypeOf(S.createSync({ values: 'string' })).toEqualTypeOf<SyncMap<string, string>>();
  expectTypeOf(S.createSync({ keys: 'bytes', values: 'bytes' })).toEqualTypeOf<SyncMap<Uint8Array, Uint8Array>>();
  expectTypeOf(S.createSync({ keys: 'string', values: 'json' })).toEqualTypeOf<SyncMap<string, unknown>>();
  expectTypeOf(S.createSync({ values: 'v8', shards: 4 })).toEqualTypeOf<SyncMap<string, unknown>>();
  expectTypeOf(S.createSync({ values: pointCodec })).toEqualTypeOf<SyncMap<string, { x: number; y: number }>>();
  expectTypeOf(S.createSync({ keys: 'number', values: { encode: (v: boolean) => new Uint8Array([+v]), decode: (b) => b[0] === 1 } }))
    .toEqualTypeOf<SyncMap<number, boolean>>();
  expectTypeOf(S.create({ keys: 'number', values: 'string' })).toEqualTypeOf<Promise<SyncMap<number, string>>>();

  expectTypeOf(L.createSync({ keys: 'number', values: 'number' })).toEqualTypeOf<LockedMap<number, number>>();
  expectTypeOf(L.create({ values: 'bytes' })).toEqualTypeOf<Promise<LockedMap<string, Uint8Array>>>();

  // Options held in a variable of the declared type: every kind they allow.
  const options: SyncMapOptions = { maxMemoryBytes: 64 << 20 };
  expectTypeOf(S.createSync(options)).toEqualTypeOf<SyncMap<string | number | Uint8Array, unknown>>();
  const numberKeys = { keys: 'number' } as const;
  expectTypeOf(S.createSync(numberKeys)).toEqualTypeOf<SyncMap<number, unknown>>();

  // What the inferred types give the methods.
  const map = S.createSync({ keys: 'number', values: 'string' });
  expectTypeOf(map.load).parameter(0).toEqualTypeOf<number>();
  expectTypeOf(map.load(1)).toEqualTypeOf<string | undefined>();
  expectTypeOf(map.swap(1, 'a').previous).toEqualTypeOf<string | undefined>();
  expectTypeOf([...map.keys()]).toEqualTypeOf<number[]>();
}

export function namedTypes(): void {
  expectTypeOf<InferredKey<{ keys: 'bytes' }>>().toEqualTypeOf<Uint8Array>();
  expectTypeOf<InferredKey<{ shards: 4 }>>().toEqualTypeOf<string>();
  expectTypeOf<InferredValue<{ values: 'number' }>>().toEqualTypeOf<number>();
  expectTypeOf<InferredValue<{ values: typeof pointCodec }>>().toEqualTypeOf<{ x: number; y: number }>();
  expectTypeOf<ValueOf<'json'>>().toEqualTypeOf<unknown>();
  expectTypeOf<ValueOf<'string'>>().toEqualTypeOf<string>();
}

export function explicitTypeArguments(S: typeof SyncMap, L: typeof LockedMap): void {
  // The README's quick start: the type of JSON values is the caller's to name.
  expectTypeOf(S.create<string, Pod>({ values: 'json' })).toEqualTypeOf<Promise<SyncMap<string, Pod>>>();
  expectTypeOf(S.createSync<string, Pod>({ keys: 'string', values: 'json' })).toEqualTypeOf<SyncMap<string, Pod>>();
  expectTypeOf(S.createSync<string, Pod>()).toEqualTypeOf<SyncMap<string, Pod>>();
  expectTypeOf(S.createSync<string, Pod>({ values: 'v8', shards: 8 })).toEqualTypeOf<SyncMap<string, Pod>>();
  expectTypeOf(S.createSync<number, number>({ keys: 'number', values: 'number' })).toEqualTypeOf<SyncMap<number, number>>();
  expectTypeOf(S.createSync<string>()).toEqualTypeOf<SyncMap<string, unknown>>();
  // Narrower or wider than the codec's type, but not contradicting it.
  expectTypeOf(S.createSync<string, 'on' | 'off'>({ values: 'string' })).toEqualTypeOf<SyncMap<string, 'on' | 'off'>>();
  expectTypeOf(S.createSync<string, unknown>({ values: 'bytes' })).toEqualTypeOf<SyncMap<string, unknown>>();
  expectTypeOf(S.createSync<string, { x: number; y: number }>({ values: pointCodec }))
    .toEqualTypeOf<SyncMap<string, { x: number; y: number }>>();
  expectTypeOf(L.createSync<string, Pod>({ values: 'json' })).toEqualTypeOf<LockedMap<string, Pod>>();
  // attach() keeps its explicit type arguments.
  const handle = S.createSync().handle;
  expectTypeOf(S.attach<string, Pod>(handle)).toEqualTypeOf<SyncMap<string, Pod>>();
  expectTypeOf(L.attach<number, string>(handle)).toEqualTypeOf<LockedMap<number, string>>();
}

export function refused(S: typeof SyncMap, L: typeof LockedMap): void {
  // @ts-expect-error: number values are not bytes
  S.createSync<string, number>({ values: 'bytes' });
  // @ts-expect-error: string keys are not numbers
  S.createSync<string, number>({ keys: 'number' });
  // @ts-expect-error: a Uint8Array is not a string
  S.createSync<string, string>({ values: 'bytes' });
  // @ts-expect-error: the codec's values are not Pods
  S.createSync<string, Pod>({ values: pointCodec });
  // @ts-expect-error: no such option (a typo of maxMemoryBytes)
  S.createSync({ maxMemory: 1 });
  // @ts-expect-error: no such option, beside a good one
  S.createSync({ keys: 'number', maxMemory: 1 });
  // @ts-expect-error: no such option, with explicit type arguments
  S.createSync<string, Pod>({ maxMemory: 1 });
  // @ts-expect-error: a LockedMap has no shards
  L.createSync({ shards: 4 });
  // @ts-expect-error: a LockedMap has no shards, with explicit type arguments
  L.createSync<string, Pod>({ shards: 4 });
  // @ts-expect-error: no such key kind
  S.createSync({ keys: 'object' });
  // @ts-expect-error: no such option for attach
  S.attach(S.createSync().handle, { shards: 4 });
}

describe('the types create() infers', () => {
  it('are checked at compile time: tsconfig.json includes this file', () => {
    const config = JSON.parse(readFileSync(new URL('../tsconfig.json', import.meta.url), 'utf8')) as { include: string[] };
    expect(config.include).toContain('test/types.test.ts');
  });
});
