/**
 * Misuse from plain JavaScript fails at once, with a message that says what to
 * do, and never later: `new SyncMap()`, a map object where its handle belongs,
 * options from other libraries. Errors name the class and method the caller
 * used. And the map reads like a Map in a console, and works with `using`.
 */
import { spawnSync } from 'node:child_process';
import { inspect } from 'node:util';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import {
  LockedMap,
  SyncMap,
  SyncMapError,
  SyncMapInvalidHandleError,
  type ConcurrentMap,
  type ValueCodec,
} from './helpers.js';

function errorOf(fn: () => unknown): Error {
  try {
    fn();
  } catch (error) {
    return error as Error;
  }
  throw new Error('no error');
}

const index = new URL('../build/bindings/index.js', import.meta.url).href;

describe('new SyncMap() from plain JavaScript', () => {
  it.each([
    ['SyncMap', () => new (SyncMap as unknown as new (o: object) => unknown)({ keys: 'string' })],
    ['LockedMap', () => new (LockedMap as unknown as new () => unknown)()],
  ] as const)('%s: a TypeError naming create, createSync and attach', (cls, construct) => {
    const error = errorOf(construct);
    expect(error).toBeInstanceOf(TypeError);
    expect(error.message).toBe(
      `${cls} has no public constructor: create a map with ${cls}.create(options) or ${cls}.createSync(options), ` +
        `or attach to one created elsewhere with ${cls}.attach(handle)`,
    );
  });

  it('registers nothing: a garbage collection and a worker exit afterwards do not crash the process', () => {
    // In a process of its own, with gc() exposed: the failure used to come at
    // the next collection (the finalizer) or when a worker exited (reaping).
    const script = `
      import { Worker } from 'node:worker_threads';
      const { SyncMap, LockedMap } = await import(${JSON.stringify(index)});
      const open = SyncMap.createSync(); // so that worker exits are watched
      for (let i = 0; i < 3; i++) {
        for (const C of [SyncMap, LockedMap]) {
          try { new C({}); } catch (e) { if (!(e instanceof TypeError)) throw e; }
        }
      }
      globalThis.gc();
      await new Promise((r) => setTimeout(r, 50));
      globalThis.gc();
      const worker = new Worker('setTimeout(() => {}, 10)', { eval: true });
      await new Promise((r) => worker.once('exit', r));
      await new Promise((r) => setTimeout(r, 50));
      open.store('still', 'works');
      console.log(open.load('still'));
      open.close();
    `;
    const child = spawnSync(process.execPath, ['--expose-gc', '--input-type=module', '-e', script], { encoding: 'utf8', timeout: 60_000 });
    expect(child.stderr).toBe('');
    expect(child.stdout.trim()).toBe('works');
    expect(child.status).toBe(0);
  });
});

describe('a map where its handle belongs', () => {
  const map = SyncMap.createSync();

  it.each([
    ['structuredClone(map)', () => structuredClone(map)],
    ['{} (what postMessage and workerData deliver)', () => ({})],
  ])('%s: attach() says to pass map.handle', (_, make) => {
    const error = errorOf(() => SyncMap.attach(make() as never));
    expect(error).toBeInstanceOf(SyncMapInvalidHandleError);
    expect(error.message).toBe(
      'SyncMap.attach: handle is an empty object, which is what a map object becomes through postMessage, ' +
        'workerData or structuredClone; pass map.handle instead',
    );
  });

  it('the map itself, in the same thread', () => {
    expect(errorOf(() => LockedMap.attach(map as never)).message).toBe('LockedMap.attach: got a map, not its handle; pass map.handle');
  });

  it('nothing was attached', () => {
    expect(map.stats().threads).toBe(1);
  });
});

describe('errors name the class and the method the caller used', () => {
  const failing: ValueCodec<number> = {
    encode: (n) => new Uint8Array([n]),
    decode: () => {
      throw new Error('bad bytes');
    },
  };

  it.each([
    ['get', (m: ConcurrentMap<unknown, unknown>) => m.get(5), 'get: key must be a string, got a number'],
    ['set', (m: ConcurrentMap<unknown, unknown>) => m.set(5, 1), 'set: key must be a string, got a number'],
    ['has', (m: ConcurrentMap<unknown, unknown>) => m.has(5), 'has: key must be a string, got a number'],
    ['store', (m: ConcurrentMap<unknown, unknown>) => m.store('k', () => 1), 'store: value cannot be stored: a function cannot be cloned'],
    ['compareAndSwap', (m: ConcurrentMap<unknown, unknown>) => m.compareAndSwap('k', 1, Symbol('s')),
      'compareAndSwap (new): value cannot be stored: a symbol cannot be cloned'],
    ['forEach', (m: ConcurrentMap<unknown, unknown>) => m.forEach(42 as never), 'forEach: callback must be a function'],
    ['range', (m: ConcurrentMap<unknown, unknown>) => m.range(42 as never), 'range: f must be a function'],
  ] as const)('%s', (_, act, message) => {
    for (const [cls, map] of [['SyncMap', SyncMap.createSync()], ['LockedMap', LockedMap.createSync()]] as const) {
      const error = errorOf(() => act(map as ConcurrentMap<unknown, unknown>));
      expect(error).toBeInstanceOf(SyncMapError);
      expect(error.message).toBe(`${cls}.${message}`);
      map.close();
    }
  });

  it.each([
    ['keys', (m: ConcurrentMap<string, number>) => m.keys()],
    ['values', (m: ConcurrentMap<string, number>) => m.values()],
    ['entries', (m: ConcurrentMap<string, number>) => m.entries()],
    ['[Symbol.iterator]', (m: ConcurrentMap<string, number>) => [...m]],
    ['forEach', (m: ConcurrentMap<string, number>) => m.forEach(() => {})],
    ['get', (m: ConcurrentMap<string, number>) => m.get('k')],
    ['size', (m: ConcurrentMap<string, number>) => m.size],
    ['stats', (m: ConcurrentMap<string, number>) => m.stats()],
    ['handle', (m: ConcurrentMap<string, number>) => m.handle],
  ] as const)('%s on a closed map, at the call', (method, act) => {
    for (const [cls, map] of [['SyncMap', SyncMap.createSync<string, number>()], ['LockedMap', LockedMap.createSync<string, number>()]] as const) {
      map.close();
      const error = errorOf(() => act(map));
      const name = method.startsWith('[') ? `${cls}${method}` : `${cls}.${method}`;
      expect(error.message).toBe(`${name}: the map is closed`);
      expect((error as SyncMapError).code).toBe('ERR_SYNCMAP_CLOSED');
    }
  });

  it.each([
    ['forEach', (m: ConcurrentMap<string, number>) => m.forEach(() => {})],
    ['keys', (m: ConcurrentMap<string, number>) => [...m.keys()]],
    ['values', (m: ConcurrentMap<string, number>) => [...m.values()]],
    ['get', (m: ConcurrentMap<string, number>) => m.get('k')],
  ] as const)('%s, when a custom decode() throws', (method, act) => {
    const map = LockedMap.createSync<string, number>({ values: failing });
    map.store('k', 1);
    expect(errorOf(() => act(map)).message).toBe(
      `LockedMap.${method}: the custom codec's decode() threw (bad bytes); the map was not changed`,
    );
    map.close();
  });
});

describe('option names', () => {
  const message = (options: object) => errorOf(() => SyncMap.createSync(options as never)).message;

  it('suggest only a close name: maxKeySize is maxKeyBytes, never keys', () => {
    expect(message({ maxKeySize: 64 })).toMatch(/^SyncMap\.createSync: unknown option "maxKeySize" \(did you mean maxKeyBytes\?\); /);
    expect(message({ maxValueSize: 64 })).toMatch(/\(did you mean maxValueBytes\?\)/);
    expect(message({ valeus: 'json' })).toMatch(/\(did you mean values\?\)/);
    expect(message({ Shards: 4 })).toMatch(/\(did you mean shards\?\)/);
    expect(message({ ttl: 1000 })).toMatch(/^SyncMap\.createSync: unknown option "ttl" \(did you mean ttlMs\?\); /);
    expect(message({ lockTimeout: 1 })).toMatch(/\(did you mean lockTimeoutMs\?\)/);
    expect(message({ size: 1 })).not.toMatch(/did you mean/);
    expect(message({ maxBytes: 1 })).not.toMatch(/did you mean/);
  });

  it("lru-cache's max and maxSize: what bounds this map instead", () => {
    expect(message({ max: 500 })).toBe(
      'SyncMap.createSync: unknown option "max": this map holds no count of entries and evicts nothing: what bounds it ' +
        'is its memory, maxMemoryBytes (bytes, all threads together), and a write that does not fit throws ERR_SYNCMAP_FULL; ' +
        'the options are keys, values, maxMemoryBytes, shards, maxKeyBytes, maxValueBytes, lockTimeoutMs, ' +
        'ttlMs, ttlResolutionMs, versioned, readCache, freeze',
    );
    expect(message({ maxSize: 5000 })).toMatch(/"maxSize": this map evicts nothing: what bounds it is its memory, maxMemoryBytes/);
    expect(errorOf(() => LockedMap.createSync({ max: 1 } as never)).message).toMatch(/^LockedMap\.createSync: unknown option "max": /);
  });
});

describe('in a console', () => {
  it('shows the size and the entries, as a Map does', () => {
    const map = SyncMap.createSync({ shards: 1 });
    expect(inspect(map)).toBe('SyncMap(0) {}');
    map.set('a', 1).set('b', { x: [1, 2] });
    const shown = inspect(map);
    expect(shown).toMatch(/^SyncMap\(2\) \{ .* \}$/);
    expect(shown).toContain("'a' => 1");
    expect(shown).toContain("'b' => { x: [ 1, 2 ] }");
    map.close();
  });

  it('honours depth and maxArrayLength', () => {
    const map = SyncMap.createSync({ shards: 1 });
    for (let i = 0; i < 150; i++) map.store(`k${i}`, i);
    expect(inspect(map)).toContain('... 50 more items');
    expect(inspect(map, { maxArrayLength: 2 })).toMatch(/^SyncMap\(150\) \{ 'k\d+' => \d+, 'k\d+' => \d+, \.\.\. 148 more items \}$/);
    expect(inspect(map, { maxArrayLength: 0 })).toBe('SyncMap(150) { ... 150 more items }');
    map.clear();
    map.store('deep', { a: { b: { c: { d: 1 } } } });
    expect(inspect(map)).toBe("SyncMap(1) { 'deep' => { a: { b: [Object] } } }");
    expect(inspect({ nested: { map } }, { depth: 1 })).toBe('{ nested: { map: [SyncMap] } }');
    expect(inspect(map, { depth: 0 })).toBe("SyncMap(1) { 'deep' => [Object] }");
    map.close();
  });

  it('a closed map says so; LockedMap is named', () => {
    const map = LockedMap.createSync();
    map.store('k', 'v');
    expect(inspect(map)).toBe("LockedMap(1) { 'k' => 'v' }");
    map.close();
    expect(inspect(map)).toBe('LockedMap { <closed> }');
  });
});

describe('using', () => {
  it('closes the attachment when the block ends', async () => {
    // Compiled as a user's TypeScript would be (down-levelled `using`), and run.
    const source = `
      import { SyncMap } from ${JSON.stringify(index)};
      export let seen;
      {
        using map = SyncMap.createSync({ values: 'number' });
        map.store('k', 1);
        seen = map;
      }
    `;
    const { outputText } = ts.transpileModule(source, { compilerOptions: { target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.ESNext } });
    const { seen } = (await import(`data:text/javascript,${encodeURIComponent(outputText)}`)) as { seen: SyncMap };
    expect(seen.closed).toBe(true);
    expect(typeof SyncMap.prototype[Symbol.dispose]).toBe('function');
  });
});
