/**
 * Issue 9, TTL: map default and per-call ttlMs, what an expired key looks like
 * to every read, how `size` counts it, and the writes that meet it. One thread;
 * the sweeper's ticks and other threads are in ttl.workers.test.ts.
 *
 * Short TTLs (tens of ms) and waits with a wide margin: an assertion here is
 * about what is visible after the margin, never about how long anything took.
 */
import { describe, expect, it } from 'vitest';
import { internal, LockedMap, SyncMap, sleep, until } from './helpers.js';

/** Comfortably more than a TTL of SHORT ms plus the clock's resolution (10 ms). */
const SHORT = 30;
const PAST = 120;
/** The default ttlResolutionMs: how far the map clock may lag Date.now(). */
const RESOLUTION = 10;
/** A TTL no test outlives. */
const LONG = 60_000;

function expectInvalidArgument(f: () => unknown, message?: RegExp): void {
  let caught: unknown;
  try {
    f();
  } catch (error) {
    caught = error;
  }
  expect(caught, 'expected a throw').toBeInstanceOf(Error);
  expect((caught as { code?: string }).code).toBe('ERR_SYNCMAP_INVALID_ARGUMENT');
  if (message) expect((caught as Error).message).toMatch(message);
}

describe('TTL: which writes expire, and when', () => {
  it("the map's default ttlMs applies to store, set, swap, loadOrStore, compareAndSwap, add and compute", async () => {
    const map = SyncMap.createSync({ values: 'number', ttlMs: SHORT });
    map.store('store', 1);
    map.set('set', 1);
    map.swap('swap', 1);
    map.loadOrStore('loadOrStore', 1);
    map.store('cas', 0, { ttlMs: 0 });
    expect(map.compareAndSwap('cas', 0, 1)).toBe(true); // the CAS'd value takes the default
    map.add('add', 1);
    map.compute('compute', () => 1);
    const keys = ['store', 'set', 'swap', 'loadOrStore', 'cas', 'add', 'compute'];
    for (const key of keys) expect(map.load(key), key).toBe(1);
    await sleep(PAST);
    for (const key of keys) expect(map.load(key), `${key} after its ttl`).toBeUndefined();
    map.close();
  });

  it('a per-call ttlMs overrides the default on every write; 0 means never', async () => {
    const map = SyncMap.createSync({ values: 'number', ttlMs: SHORT });
    const never = { ttlMs: 0 };
    map.store('store', 1, never);
    map.set('set', 1, never);
    map.swap('swap', 1, never);
    map.loadOrStore('loadOrStore', 1, never);
    map.store('cas', 0, never);
    expect(map.compareAndSwap('cas', 0, 1, never)).toBe(true);
    map.add('add', 1, never);
    map.compute('compute', () => 1, never);
    const keys = ['store', 'set', 'swap', 'loadOrStore', 'cas', 'add', 'compute'];
    for (const key of keys) expect(map.getRemainingTtl(key), key).toBe(Infinity);
    await sleep(PAST);
    for (const key of keys) expect(map.load(key), `${key} stored with ttlMs 0`).toBe(1);
    map.close();
  });

  it('a per-call ttlMs works on a map whose default is 0 (nothing expires unless a write says so)', async () => {
    const map = SyncMap.createSync({ values: 'number', ttlMs: 0 });
    const short = { ttlMs: SHORT };
    map.store('plain', 1);
    map.store('store', 1, short);
    map.set('set', 1, short);
    map.swap('swap', 1, short);
    map.loadOrStore('loadOrStore', 1, short);
    map.store('cas', 0);
    expect(map.compareAndSwap('cas', 0, 1, short)).toBe(true);
    map.add('add', 1, short);
    map.compute('compute', () => 1, short);
    expect(map.getRemainingTtl('plain')).toBe(Infinity);
    await sleep(PAST);
    for (const key of ['store', 'set', 'swap', 'loadOrStore', 'cas', 'add', 'compute']) {
      expect(map.load(key), `${key} with ttlMs ${SHORT}`).toBeUndefined();
    }
    expect(map.load('plain')).toBe(1);
    map.close();
  });

  it('a versioned map without ttlMs takes per-call ttlMs too', async () => {
    const map = SyncMap.createSync({ values: 'number', versioned: true });
    map.store('short', 1, { ttlMs: SHORT });
    map.store('kept', 1);
    expect(map.getRemainingTtl('kept')).toBe(Infinity);
    await sleep(PAST);
    expect(map.load('short')).toBeUndefined();
    expect(map.load('kept')).toBe(1);
    map.close();
  });

  it('a per-call ttlMs on a map created without ttlMs or versioned throws ERR_SYNCMAP_INVALID_ARGUMENT', () => {
    const map = SyncMap.createSync({ values: 'number' });
    const o = { ttlMs: 100 };
    expectInvalidArgument(() => map.store('k', 1, o), /ttlMs/);
    expectInvalidArgument(() => map.set('k', 1, o), /ttlMs/);
    expectInvalidArgument(() => map.swap('k', 1, o), /ttlMs/);
    expectInvalidArgument(() => map.loadOrStore('k', 1, o), /ttlMs/);
    expectInvalidArgument(() => map.compareAndSwap('k', 1, 2, o), /ttlMs/);
    expectInvalidArgument(() => map.add('k', 1, o), /ttlMs/);
    expectInvalidArgument(() => map.compute('k', () => 1, o), /ttlMs/);
    expect(map.size).toBe(0); // nothing was written by the refused calls
    expect(() => map.startSweeper()).toThrow(/without ttlMs/);
    map.close();
  });

  it('LockedMap refuses the ttlMs, ttlResolutionMs and versioned options, and per-call ttlMs', () => {
    expectInvalidArgument(() => LockedMap.createSync({ ttlMs: 100 } as never), /ttlMs/);
    expectInvalidArgument(() => LockedMap.createSync({ ttlResolutionMs: 5 } as never), /ttlResolutionMs/);
    expectInvalidArgument(() => LockedMap.createSync({ versioned: true } as never), /versioned/);
    const locked = LockedMap.createSync({ values: 'number' });
    expectInvalidArgument(() => locked.store('k', 1, { ttlMs: 100 }), /ttlMs/);
    expect(locked.has('k')).toBe(false);
    locked.store('k', 1);
    expect(locked.getRemainingTtl('k')).toBe(Infinity);
    expect(locked.getRemainingTtl('absent')).toBe(0);
    locked.close();
  });

  it('bad ttlMs values are refused (negative, fractional, not a number)', () => {
    const map = SyncMap.createSync({ values: 'number', ttlMs: 1000 });
    for (const ttlMs of [-1, 1.5, NaN, '10', Infinity]) {
      expectInvalidArgument(() => map.store('k', 1, { ttlMs } as never), /ttlMs/);
    }
    expectInvalidArgument(() => SyncMap.createSync({ ttlMs: -5 }), /ttlMs/);
    map.close();
  });
});

describe('TTL: an expired key is absent at once to every read', () => {
  it.each([
    ['not versioned', false],
    ['versioned', true],
  ] as const)('load, has, range, forEach, keys/values/entries, iterator, snapshot (%s)', async (_, versioned) => {
    const map = SyncMap.createSync({ values: 'string', ttlMs: LONG, versioned });
    for (let i = 0; i < 50; i++) map.store(`kept-${i}`, `v${i}`);
    for (let i = 0; i < 50; i++) map.store(`gone-${i}`, `v${i}`, { ttlMs: SHORT });
    // Half of the expiring keys promoted to the read table, half only in dirty.
    map.range(() => {});
    for (let i = 50; i < 100; i++) map.store(`gone-${i}`, `v${i}`, { ttlMs: SHORT });
    await sleep(PAST);
    const kept = new Map(Array.from({ length: 50 }, (_, i) => [`kept-${i}`, `v${i}`]));
    for (let i = 0; i < 100; i++) {
      expect(map.load(`gone-${i}`)).toBeUndefined();
      expect(map.get(`gone-${i}`)).toBeUndefined();
      expect(map.has(`gone-${i}`)).toBe(false);
      expect(map.getRemainingTtl(`gone-${i}`)).toBe(0);
    }
    const ranged = new Map<string, string>();
    map.range((k, v) => {
      ranged.set(k, v);
    });
    expect(ranged).toEqual(kept);
    const forEached = new Map<string, string>();
    map.forEach((v, k) => forEached.set(k, v));
    expect(forEached).toEqual(kept);
    expect(new Set(map.keys())).toEqual(new Set(kept.keys()));
    expect(new Set(map.values())).toEqual(new Set(kept.values()));
    expect(new Map(map.entries())).toEqual(kept);
    expect(new Map(map)).toEqual(kept);
    expect(new Map(map.snapshot())).toEqual(kept);
    map.close();
  });

  it('changesSince reports an expired key as a delete, not as an upsert with its old value', async () => {
    const map = SyncMap.createSync({ values: 'number', versioned: true, ttlMs: LONG });
    map.store('kept', 1);
    map.store('gone', 2, { ttlMs: SHORT });
    await sleep(PAST);
    expect(map.load('gone')).toBeUndefined();
    const changes = map.changesSince(0);
    expect(changes.reset).toBe(false);
    expect(changes.complete).toBe(true);
    // A client applying this delta must not hold a value that load() says is gone.
    expect(changes.upserts).toEqual([['kept', 1]]);
    expect(changes.deletes).toEqual(['gone']);
    map.close();
  });

  it('an expired key is absent to a thread that only reads (no write in between to remove it)', async () => {
    const map = SyncMap.createSync({ values: 'number', ttlMs: SHORT });
    map.store('a', 1);
    const reader = SyncMap.attach<string, number>(map.handle); // a second attachment of this thread
    expect(reader.load('a')).toBe(1);
    await sleep(PAST);
    expect(reader.load('a')).toBeUndefined();
    expect(reader.has('a')).toBe(false);
    reader.close();
    map.close();
  });
});

describe('TTL: size counts an expired key until a write meets it or the sweeper removes it', () => {
  it('size still counts expired keys that nothing has removed yet (documented: size is exact for present + expired-not-yet-removed)', async () => {
    const map = SyncMap.createSync({ values: 'number', ttlMs: SHORT });
    for (let i = 0; i < 10; i++) map.store(`k${i}`, i);
    map.store('forever', 1, { ttlMs: 0 });
    await sleep(PAST);
    expect(map.has('k0')).toBe(false);
    expect([...map.keys()]).toEqual(['forever']);
    expect(map.size).toBe(11);
    expect(map.stats().size).toBe(11);
    map.close();
  });

  // Both places an entry can be: promoted to the read table (lock-free paths), and only in dirty.
  const where = [
    ['in the read table', true],
    ['in the dirty table only', false],
  ] as const;
  const kinds = [
    ['not versioned', false],
    ['versioned', true],
  ] as const;

  describe.each(kinds)('%s', (_v, versioned) => {
    async function expiredMap(promote: boolean): Promise<SyncMap<string, number>> {
      const map = SyncMap.createSync({ values: 'number', ttlMs: SHORT, versioned });
      map.store('keep', 0, { ttlMs: 0 });
      if (promote) {
        map.store('k', 1);
        map.range(() => {});
      } else {
        map.range(() => {});
        map.store('k', 1); // a new key after the promotion: dirty only
      }
      await sleep(PAST);
      expect(map.has('k')).toBe(false);
      expect(map.size).toBe(2);
      return map;
    }

    it.each(where)('delete of an expired key (%s) returns false and removes it: size drops', async (_w, promote) => {
      const map = await expiredMap(promote);
      const before = map.stats().expirations;
      expect(map.delete('k')).toBe(false);
      expect(map.size).toBe(1);
      expect(map.stats().expirations).toBe(before + 1);
      expect(map.delete('k')).toBe(false);
      expect(map.size).toBe(1);
      map.close();
    });

    it.each(where)('loadAndDelete of an expired key (%s) answers loaded: false and removes it', async (_w, promote) => {
      const map = await expiredMap(promote);
      expect(map.loadAndDelete('k')).toEqual({ value: undefined, loaded: false });
      expect(map.size).toBe(1);
      map.close();
    });

    it.each(where)('compareAndDelete with the expired value (%s) answers false; the key is gone either way', async (_w, promote) => {
      const map = await expiredMap(promote);
      expect(map.compareAndDelete('k', 1)).toBe(false);
      expect(map.has('k')).toBe(false);
      expect(map.size).toBe(1);
      map.close();
    });

    it.each(where)('loadOrStore of an expired key (%s) stores: loaded false, the new value', async (_w, promote) => {
      const map = await expiredMap(promote);
      expect(map.loadOrStore('k', 7)).toEqual({ value: 7, loaded: false });
      expect(map.load('k')).toBe(7);
      expect(map.size).toBe(2); // replaced, not added: the expired value was still counted
      map.close();
    });

    it.each(where)('store over an expired key (%s) keeps size right; swap reports no previous value', async (_w, promote) => {
      const map = await expiredMap(promote);
      expect(map.swap('k', 5)).toEqual({ previous: undefined, loaded: false });
      expect(map.load('k')).toBe(5);
      expect(map.size).toBe(2);
      map.store('k', 6);
      expect(map.size).toBe(2);
      map.close();
    });

    it.each(where)('compareAndSwap against an expired value (%s) fails and stores nothing', async (_w, promote) => {
      const map = await expiredMap(promote);
      expect(map.compareAndSwap('k', 1, 2)).toBe(false);
      expect(map.has('k')).toBe(false);
      map.close();
    });

    it.each(where)('add on an expired key (%s) starts again from delta', async (_w, promote) => {
      const map = await expiredMap(promote);
      expect(map.add('k', 10)).toBe(10);
      expect(map.load('k')).toBe(10);
      expect(map.size).toBe(2);
      map.close();
    });
  });
});

describe('getRemainingTtl', () => {
  it('Infinity for a value that never expires, 0 for an absent key, and a count that goes down', async () => {
    const map = SyncMap.createSync({ values: 'number', ttlMs: 10_000 });
    map.store('never', 1, { ttlMs: 0 });
    map.store('ten', 1);
    map.store('one', 1, { ttlMs: 1000 });
    expect(map.getRemainingTtl('never')).toBe(Infinity);
    expect(map.getRemainingTtl('absent')).toBe(0);
    const first = map.getRemainingTtl('ten');
    // Reads compare with the map clock, which may lag Date.now() by up to
    // ttlResolutionMs (documented): the count may read that much above ttlMs.
    expect(first).toBeGreaterThan(9000);
    expect(first).toBeLessThanOrEqual(10_000 + RESOLUTION);
    const one = map.getRemainingTtl('one');
    expect(one).toBeGreaterThan(0);
    expect(one).toBeLessThanOrEqual(1000 + RESOLUTION);
    await sleep(60);
    const second = map.getRemainingTtl('ten');
    expect(second).toBeLessThan(first);
    expect(second).toBeGreaterThan(0);
    map.delete('ten');
    expect(map.getRemainingTtl('ten')).toBe(0);
    map.close();
  });

  it('a rewrite restarts the count; an expired key reads 0', async () => {
    const map = SyncMap.createSync({ values: 'number', ttlMs: 200 });
    map.store('k', 1, { ttlMs: SHORT });
    await sleep(PAST);
    expect(map.getRemainingTtl('k')).toBe(0);
    map.store('k', 2);
    const left = map.getRemainingTtl('k');
    expect(left).toBeGreaterThan(100);
    expect(left).toBeLessThanOrEqual(200 + RESOLUTION);
    map.close();
  });
});

describe('a sweep of a versioned map at the memory limit', () => {
  it('with no memory for tombstones, expires every key all the same, and a delta from before answers reset', async () => {
    // Each expiry leaves a tombstone, which takes memory. A sweep that cannot
    // have one removes the value unrecorded and raises the watermark past it
    // (assembly/map.ts, expireLocked): a map full of expired values gives
    // their memory back, and a delta client takes the whole map again.
    const map = internal.createWithBuild<string, number>('debug', { values: 'number', versioned: true, ttlMs: 60_000, shards: 1 });
    const core = internal.coreOfMap(map);
    map.store('kept', -1);
    // Half in the read table (its value word becomes DELETED), half in dirty
    // only (the entry goes with its value).
    for (let i = 0; i < 50; i++) map.store(`short${i}`, i, { ttlMs: 1 });
    for (let round = 0; round < 3; round++) for (let i = 0; i < 50; i++) map.load(`short${i}`);
    for (let i = 50; i < 100; i++) map.store(`short${i}`, i, { ttlMs: 1 });
    const before = map.version;
    await sleep(SHORT);
    core.sm_tick(Date.now()); // the map clock, as the bindings publish it
    core.sm_debugFailAllocation(1); // every allocation from here fails
    const swept = core.sm_sweep(4096);
    core.sm_debugFailAllocation(0);
    const { SWEEP_SHORT, SWEEP_UNRECORDED } = internal.CoreFlag;
    expect(swept & (SWEEP_SHORT | SWEEP_UNRECORDED), 'went without tombstones, no coalesce under way').toBe(SWEEP_UNRECORDED);
    expect(swept & 0xffff, 'removed').toBe(100);
    expect(map.size).toBe(1);
    expect(map.stats()).toMatchObject({ expirations: 100, tombstones: 0 });
    expect(map.version, 'each unrecorded expiry takes a version').toBe(before + 100);
    expect(map.changesSince(before)).toMatchObject({ reset: true, upserts: [], deletes: [] });
    expect(map.changesSince(map.version)).toMatchObject({ reset: false, complete: true });
    map.store('after', 1);
    expect(map.changesSince(before + 100).upserts).toEqual([['after', 1]]);
    expect(internal.verify(map)).toBe(0);
    map.close();
  });

  it('a map filled to its limit with values that all expire empties, and takes writes again', async () => {
    // A stress test's case: 100-byte values in 2 MiB, stored until
    // ERR_SYNCMAP_FULL. Each tombstone then had to be allocated before the
    // value it replaced was freed, and the sweeper stopped for good in most
    // runs, every write (deletes too) refused until clear().
    const map = SyncMap.createSync<string, string>({
      values: 'string', versioned: true, ttlMs: SHORT, maxMemoryBytes: 2 << 20, maxKeyBytes: 64, maxValueBytes: 2048,
    });
    const value = 'x'.repeat(100);
    let stored = 0;
    for (let refused = 0; refused < 3; ) {
      try {
        map.store(`k${stored}`, value);
        stored++;
      } catch (error) {
        expect((error as { code?: string }).code).toBe('ERR_SYNCMAP_FULL');
        refused++;
      }
    }
    expect(stored).toBeGreaterThan(5000);
    await sleep(PAST);
    const stop = map.startSweeper({ intervalMs: 10 });
    for (let i = 0; i < 200 && map.size > 0; i++) await sleep(10);
    stop();
    expect(map.size).toBe(0);
    expect(map.stats().expirations).toBe(stored);
    // The tombstones made while memory lasted stay until the clients' low
    // watermark passes them; then the map's own compaction takes them.
    map.setLowWatermark(map.version);
    await until(() => map.stats().tombstones === 0, 'compacted');
    for (let i = 0; i < 1000; i++) map.store(`again${i}`, value);
    expect(map.size).toBe(1000);
    expect(internal.verify(map)).toBe(0);
    map.close();
  });
});
