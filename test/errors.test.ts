/**
 * Errors: every failure is a typed SyncMapError with a stable code, and leaves
 * the map exactly as it was. Also keeps the Wasm status list and the bindings'
 * error classes equal.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  internal,
  SyncMap,
  SyncMapError,
  type SyncMapErrorCode,
  type SyncMapHandle,
} from './helpers.js';

function codeOf(fn: () => unknown): SyncMapErrorCode | 'no error' | 'not a SyncMapError' {
  try {
    fn();
  } catch (error) {
    return error instanceof SyncMapError ? error.code : 'not a SyncMapError';
  }
  return 'no error';
}

/** Everything observable about a map's contents. */
function snapshot(map: SyncMap<string, unknown>): unknown {
  return { size: map.size, entries: [...map.entries()].sort(([a], [b]) => (a < b ? -1 : 1)), verify: internal.verify(map) };
}

function filledMap(options: Parameters<typeof SyncMap.createSync>[0] = {}): SyncMap<string, unknown> {
  const map = SyncMap.createSync<string, unknown>({ shards: 4, ...options });
  for (let i = 0; i < 100; i++) map.store(`key-${i}`, { i });
  map.delete('key-7');
  return map;
}

describe('the status list', () => {
  it('is the same in assembly/status.ts and in the bindings, and every failure has an error class', () => {
    const source = readFileSync(new URL('../assembly/status.ts', import.meta.url), 'utf8');
    const wasm = Object.fromEntries([...source.matchAll(/^\s+([A-Z_]+) = (-?\d+),/gm)].map((m) => [m[1], Number(m[2])]));
    expect(wasm).toEqual(internal.Status);
    // MOVED is a signal to the bindings (store by key instead), never a failure.
    const failures = Object.keys(wasm).filter((name) => name !== 'OK' && name !== 'ABSENT' && name !== 'MOVED');
    expect(Object.keys(internal.errorForStatus).sort()).toEqual(failures.sort());
    const codes = failures.map((name) => internal.statusError(wasm[name]!, 'test').code);
    expect(new Set(codes).size).toBe(codes.length); // 1:1
  });

  it('has one layout version on both sides', () => {
    const config = readFileSync(new URL('../assembly/config.ts', import.meta.url), 'utf8');
    const version = Number(/LAYOUT_VERSION: u32 = (\d+)/.exec(config)?.[1]);
    expect(version).toBe(internal.LAYOUT_VERSION);
  });
});

describe('bad input leaves the map exactly as it was', () => {
  const cases: [string, SyncMapErrorCode, (map: SyncMap<string, unknown>) => unknown][] = [
    ['a number key on a string map', 'ERR_SYNCMAP_KEY_TYPE', (m) => m.store(42 as unknown as string, 1)],
    ['an object key', 'ERR_SYNCMAP_KEY_TYPE', (m) => m.load({} as unknown as string)],
    ['a key with an unpaired surrogate', 'ERR_SYNCMAP_KEY_TYPE', (m) => m.store('bad\uD800key', 1)],
    ['a key over maxKeyBytes', 'ERR_SYNCMAP_KEY_TOO_LARGE', (m) => m.store('k'.repeat(300), 1)],
    ['a multi-byte key over maxKeyBytes', 'ERR_SYNCMAP_KEY_TOO_LARGE', (m) => m.swap('é'.repeat(200), 1)],
    ['a value over maxValueBytes', 'ERR_SYNCMAP_VALUE_TOO_LARGE', (m) => m.store('key-1', 'v'.repeat(5000))],
    ['a value over maxValueBytes in loadOrStore', 'ERR_SYNCMAP_VALUE_TOO_LARGE', (m) => m.loadOrStore('new', 'v'.repeat(5000))],
    ['a function', 'ERR_SYNCMAP_VALUE_ENCODING', (m) => m.loadOrStore('fresh', () => 1)],
    ['a symbol, deep inside', 'ERR_SYNCMAP_VALUE_ENCODING', (m) => m.store('key-2', { a: [{ b: Symbol('s') }] })],
    ['an instance of a class', 'ERR_SYNCMAP_VALUE_ENCODING', (m) => m.swap('key-4', new (class Pod {})())],
    ['an unencodable new value in compareAndSwap', 'ERR_SYNCMAP_VALUE_ENCODING', (m) => m.compareAndSwap('key-5', { i: 5 }, () => 1)],
    ['an unencodable old value in compareAndDelete', 'ERR_SYNCMAP_VALUE_ENCODING', (m) => m.compareAndDelete('key-5', new WeakSet())],
    ['a range callback that is not a function', 'ERR_SYNCMAP_INVALID_ARGUMENT', (m) => m.range(42 as never)],
  ];
  const jsonCases: [string, SyncMapErrorCode, (map: SyncMap<string, unknown>) => unknown][] = [
    ['a circular value under json', 'ERR_SYNCMAP_VALUE_ENCODING', (m) => {
      const cycle: Record<string, unknown> = {};
      cycle.self = cycle;
      m.store('key-2', cycle);
    }],
    ['undefined under json', 'ERR_SYNCMAP_VALUE_ENCODING', (m) => m.store('key-3', undefined)],
    ['a BigInt under json', 'ERR_SYNCMAP_VALUE_ENCODING', (m) => m.swap('key-4', 10n)],
    ['a function under json', 'ERR_SYNCMAP_VALUE_ENCODING', (m) => m.loadOrStore('fresh', () => 1)],
    ['an unencodable new value in compareAndSwap under json', 'ERR_SYNCMAP_VALUE_ENCODING', (m) => m.compareAndSwap('key-5', { i: 5 }, 1n)],
    ['an unencodable old value in compareAndDelete under json', 'ERR_SYNCMAP_VALUE_ENCODING', (m) => m.compareAndDelete('key-5', 1n)],
  ];

  it.each(jsonCases)('%s → %s', (_, code, act) => {
    const map = filledMap({ maxKeyBytes: 256, maxValueBytes: 4096, values: 'json' });
    const before = snapshot(map);
    expect(codeOf(() => act(map))).toBe(code);
    expect(snapshot(map)).toEqual(before);
    map.close();
  });

  it.each(cases)('%s → %s', (_, code, act) => {
    const map = filledMap({ maxKeyBytes: 256, maxValueBytes: 4096 });
    const before = snapshot(map);
    expect(codeOf(() => act(map))).toBe(code);
    expect(snapshot(map)).toEqual(before);
    map.close();
  });

  it('a value of the wrong type for its codec', () => {
    const cases: [string, unknown][] = [['string', 42], ['number', '42'], ['bytes', [1, 2]]];
    for (const [values, value] of cases) {
      const map = SyncMap.createSync<string, unknown>({ values: values as 'string' });
      expect(codeOf(() => map.store('k', value))).toBe('ERR_SYNCMAP_VALUE_ENCODING');
      expect(map.size).toBe(0);
      map.close();
    }
  });

  it('a custom codec that throws or returns something else', () => {
    const map = SyncMap.createSync<string, number>({
      values: { encode: (n) => { if (n < 0) throw new Error('negative'); return n === 0 ? ('zero' as never) : new Uint8Array([n]); }, decode: (b) => b[0]! },
    });
    map.store('k', 1);
    expect(codeOf(() => map.store('k', -1))).toBe('ERR_SYNCMAP_VALUE_ENCODING');
    expect(codeOf(() => map.store('k', 0))).toBe('ERR_SYNCMAP_VALUE_ENCODING');
    expect(map.load('k')).toBe(1);
    map.close();
  });

  it('a full map refuses the write that does not fit, and stays usable', () => {
    const map = SyncMap.createSync<string, string>({ values: 'string', maxMemoryBytes: 4 << 20, maxValueBytes: 64 << 10 });
    const big = 'v'.repeat(60_000);
    let stored = 0;
    let error: unknown;
    try {
      for (;;) map.store(`k${stored++}`, big);
    } catch (e) {
      error = e;
      stored--;
    }
    expect((error as SyncMapError).code).toBe('ERR_SYNCMAP_FULL');
    expect(stored).toBeGreaterThan(10);
    expect(map.size).toBe(stored);
    expect(map.has(`k${stored}`)).toBe(false);
    expect(internal.verify(map)).toBe(0);
    // Deleting makes room again: memory is reclaimed, not leaked.
    for (let i = 0; i < stored; i++) map.delete(`k${i}`);
    map.store('after', big);
    expect(map.load('after')).toBe(big);
    map.close();
  });

  it('an operation after close() throws ERR_SYNCMAP_CLOSED, close() twice is fine', () => {
    const map = filledMap();
    map.close();
    map.close();
    expect(map.closed).toBe(true);
    for (const act of [() => map.load('a'), () => map.store('a', 1), () => map.size, () => map.range(() => true), () => [...map], () => map.handle]) {
      expect(codeOf(act)).toBe('ERR_SYNCMAP_CLOSED');
    }
  });
});

describe('options and handles', () => {
  it.each([
    [{ shards: 3 }], [{ shards: 0 }], [{ shards: 2048 }], [{ maxKeyBytes: 0 }], [{ maxValueBytes: -1 }],
    [{ maxMemoryBytes: 1024 }], [{ maxMemoryBytes: 2 ** 33 }], [{ keys: 'object' }], [{ values: 'xml' }],
    [{ values: { encode: () => new Uint8Array() } }], [{ lockTimeoutMs: 0 }], [{ shards: 1.5 }],
  ])('create(%j) → ERR_SYNCMAP_INVALID_ARGUMENT', (options) => {
    expect(codeOf(() => SyncMap.createSync(options as never))).toBe('ERR_SYNCMAP_INVALID_ARGUMENT');
  });

  it('attach() refuses what is not a handle, or a handle of another layout, build or kind', () => {
    const map = filledMap();
    const handle = map.handle;
    const other = SyncMap.createSync({ values: 'string' });
    const tampered = (patch: Partial<Record<keyof SyncMapHandle, unknown>>) => ({ ...handle, ...patch }) as SyncMapHandle;
    expect(codeOf(() => SyncMap.attach(null as never))).toBe('ERR_SYNCMAP_INVALID_HANDLE');
    expect(codeOf(() => SyncMap.attach({} as never))).toBe('ERR_SYNCMAP_INVALID_HANDLE');
    expect(codeOf(() => SyncMap.attach(tampered({ kind: 'other' })))).toBe('ERR_SYNCMAP_INVALID_HANDLE');
    expect(codeOf(() => SyncMap.attach(tampered({ layout: 99 })))).toBe('ERR_SYNCMAP_LAYOUT_MISMATCH');
    expect(codeOf(() => SyncMap.attach(tampered({ memory: new WebAssembly.Memory({ initial: 1, maximum: 2, shared: true }) }))))
      .toBe('ERR_SYNCMAP_INVALID_HANDLE');
    expect(codeOf(() => SyncMap.attach(tampered({ memory: new WebAssembly.Memory({ initial: 1 }) })))).toBe('ERR_SYNCMAP_INVALID_HANDLE');
    expect(codeOf(() => SyncMap.attach(tampered({ values: 'string' })))).toBe('ERR_SYNCMAP_INVALID_HANDLE');
    expect(codeOf(() => SyncMap.attach(tampered({ keys: 'number' })))).toBe('ERR_SYNCMAP_INVALID_HANDLE');
    expect(codeOf(() => SyncMap.attach(tampered({ memory: other.handle.memory })))).toBe('ERR_SYNCMAP_INVALID_HANDLE');
    const foreignModule = new WebAssembly.Module(new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0]));
    expect(codeOf(() => SyncMap.attach(tampered({ module: foreignModule })))).toBe('ERR_SYNCMAP_INVALID_HANDLE');
    expect(codeOf(() => SyncMap.attach(handle, { values: { encode: () => new Uint8Array(), decode: () => 0 } })))
      .toBe('ERR_SYNCMAP_INVALID_ARGUMENT');
    expect(snapshot(map)).toEqual(snapshot(SyncMap.attach(handle)));
    other.close();
    map.close();
  });

  it('attach() with the core of another build → ERR_SYNCMAP_BUILD_MISMATCH', () => {
    const map = filledMap();
    // Same sources, another stamp: patch the build stamp the core exports and checks.
    const bytes = readFileSync(new URL('../build/syncmap.wasm', import.meta.url));
    const stamp = internal.instantiate(internal.coreModuleSync(), new WebAssembly.Memory({ initial: 1, maximum: 1, shared: true })).sm_buildStamp();
    const patched = patchI32Const(bytes, stamp, stamp ^ 1);
    const handle = { ...map.handle, module: new WebAssembly.Module(patched) };
    expect(codeOf(() => SyncMap.attach(handle))).toBe('ERR_SYNCMAP_BUILD_MISMATCH');
    map.close();
  });

  it('a custom-codec map needs its codec on attach', () => {
    const map = SyncMap.createSync({ values: { encode: (v: number) => new Uint8Array([v]), decode: (b) => b[0]! } });
    expect(codeOf(() => SyncMap.attach(map.handle))).toBe('ERR_SYNCMAP_INVALID_ARGUMENT');
    map.close();
  });

  it('the 129th attached thread slot → ERR_SYNCMAP_TOO_MANY_THREADS, and a closed slot is reused', () => {
    const map = SyncMap.createSync();
    // 127 more threads, played by made-up thread ids (one thread attaching again shares its slot).
    const attached = Array.from({ length: 127 }, (_, i) => internal.attachAs(map.handle, 900_000 + i));
    expect(codeOf(() => internal.attachAs(map.handle, 899_999))).toBe('ERR_SYNCMAP_TOO_MANY_THREADS');
    attached.pop()!.close();
    const again = internal.attachAs(map.handle, 899_998);
    expect(map.stats().threads).toBe(128);
    [again, ...attached, map].forEach((m) => m.close());
  });

  it('attaching again in the same thread shares its slot and scratch, until the last one closes', () => {
    const map = SyncMap.createSync<string, string>({ values: 'string' });
    const before = map.stats();
    const again = Array.from({ length: 200 }, () => SyncMap.attach<string, string>(map.handle));
    expect(map.stats().threads).toBe(1);
    expect(map.stats().scratchBytes).toBe(before.scratchBytes);
    again[0]!.store('k', 'v');
    expect(map.load('k')).toBe('v');
    map.close();
    again.slice(1).forEach((m) => m.close());
    expect(again[0]!.load('k')).toBe('v'); // the last one open keeps the slot
    expect(again[0]!.stats().threads).toBe(1);
    again[0]!.close();
  });
});

/** Replaces every `i32.const old` (signed LEB128) in a module with `i32.const replacement` of the same length. */
function patchI32Const(bytes: Uint8Array, old: number, replacement: number): Uint8Array {
  const leb = (n: number): number[] => {
    const out: number[] = [];
    for (;;) {
      const byte = n & 0x7f;
      n >>= 7;
      if ((n === 0 && !(byte & 0x40)) || (n === -1 && byte & 0x40)) return [...out, byte];
      out.push(byte | 0x80);
    }
  };
  const from = [0x41, ...leb(old)];
  const to = [0x41, ...leb(replacement)];
  if (from.length !== to.length) throw new Error('stamp patch would change the code length');
  const out = Uint8Array.from(bytes);
  let patched = 0;
  for (let i = 0; i + from.length <= out.length; i++) {
    if (from.every((b, j) => out[i + j] === b)) {
      out.set(to, i);
      patched++;
    }
  }
  if (!patched) throw new Error('build stamp not found in the module');
  return out;
}

describe('SyncMap and LockedMap handles', () => {
  it('attach only with their own class', async () => {
    const { LockedMap } = await import('./helpers.js');
    const locked = LockedMap.createSync();
    const sync = SyncMap.createSync();
    expect(codeOf(() => SyncMap.attach(locked.handle))).toBe('ERR_SYNCMAP_INVALID_HANDLE');
    expect(codeOf(() => LockedMap.attach(sync.handle))).toBe('ERR_SYNCMAP_INVALID_HANDLE');
    // A handle that lies about its class is caught by the core's record of it.
    expect(codeOf(() => SyncMap.attach({ ...locked.handle, map: 'sync' }))).toBe('ERR_SYNCMAP_INVALID_HANDLE');
    const again = LockedMap.attach(locked.handle);
    again.store('k', 1);
    expect(locked.load('k')).toBe(1);
    [again, locked, sync].forEach((m) => m.close());
  });
});
