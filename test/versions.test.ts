/**
 * Issue 9, versions and deltas on one thread: which writes take a version,
 * what changesSince answers (each key once, latest change, version order,
 * paging with limit), compaction and the watermark, automatic compaction.
 * Across threads: versions.workers.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { codeOf, crashAt, internal, nextImmediate, sleep, SyncMap, until } from './helpers.js';

function versionedMap(): SyncMap<string, number> {
  return SyncMap.createSync({ values: 'number', versioned: true });
}

describe('every write takes the next version', () => {
  it('store, set, swap, compareAndSwap, delete, loadAndDelete, compareAndDelete, loadOrStore that stores, add, compute: +1 each', () => {
    const map = versionedMap();
    expect(map.version).toBe(0);
    let v = 0;
    const step = (what: string, f: () => unknown): void => {
      f();
      v++;
      expect(map.version, what).toBe(v);
    };
    const same = (what: string, f: () => unknown): void => {
      f();
      expect(map.version, `${what} changed nothing and takes no version`).toBe(v);
    };
    step('store (new key)', () => map.store('a', 1));
    step('store (existing key)', () => map.store('a', 2));
    step('set', () => map.set('b', 1));
    step('swap', () => map.swap('a', 3));
    step('compareAndSwap that swaps', () => expect(map.compareAndSwap('a', 3, 4)).toBe(true));
    same('compareAndSwap that fails', () => expect(map.compareAndSwap('a', 3, 5)).toBe(false));
    same('compareAndSwap of a missing key', () => expect(map.compareAndSwap('zz', 3, 5)).toBe(false));
    step('loadOrStore that stores', () => expect(map.loadOrStore('c', 1).loaded).toBe(false));
    same('loadOrStore that loads', () => expect(map.loadOrStore('c', 9).loaded).toBe(true));
    step('add (present)', () => expect(map.add('c', 5)).toBe(6));
    step('add (absent)', () => expect(map.add('d', 5)).toBe(5));
    step('compute', () => expect(map.compute('d', (x) => (x ?? 0) * 2)).toBe(10));
    step('delete', () => expect(map.delete('d')).toBe(true));
    same('delete of an absent key', () => expect(map.delete('d')).toBe(false));
    step('loadAndDelete', () => expect(map.loadAndDelete('c')).toEqual({ value: 6, loaded: true }));
    step('compareAndDelete that deletes', () => expect(map.compareAndDelete('b', 1)).toBe(true));
    same('compareAndDelete that fails', () => expect(map.compareAndDelete('a', 1)).toBe(false));
    step('compute returning undefined (a delete)', () => expect(map.compute('a', () => undefined)).toBeUndefined());
    same('loads, has, range, snapshot, changesSince', () => {
      map.load('a');
      map.has('a');
      map.range(() => {});
      map.snapshot();
      map.changesSince(0);
    });
    expect(map.stats().version).toBe(v);
    map.close();
  });

  it('expiry removed by the sweeper takes a version per key and leaves a tombstone; so does a delete that meets an expired key', async () => {
    const map = SyncMap.createSync({ values: 'number', versioned: true, ttlMs: 30 });
    for (let i = 0; i < 20; i++) map.store(`k${i}`, i);
    map.store('met', 1);
    map.store('kept', 1, { ttlMs: 0 });
    const v0 = map.version;
    expect(v0).toBe(22);
    await sleep(120);
    expect(map.version, 'expiry itself takes no version until something removes it').toBe(v0);
    expect(map.delete('met')).toBe(false);
    expect(map.version).toBe(v0 + 1);
    const stop = map.startSweeper({ intervalMs: 10 });
    await until(() => map.size === 1, 'the sweeper to remove the expired keys');
    stop();
    expect(map.version).toBe(v0 + 21);
    expect(map.stats().tombstones).toBe(21);
    const changes = map.changesSince(v0);
    expect(changes.upserts).toEqual([]);
    expect(new Set(changes.deletes)).toEqual(new Set(['met', ...Array.from({ length: 20 }, (_, i) => `k${i}`)]));
    expect(changes.deletes[0]).toBe('met'); // the first of those versions
    map.close();
  });

  it('clear() is a write a delta client must see: the version moves, and changesSince answers the deleted keys or reset', async () => {
    const map = versionedMap();
    map.store('a', 1);
    map.store('b', 2);
    const v = map.version;
    const woke = map.waitForChangeAsync(v, 2000);
    map.clear();
    expect(map.size).toBe(0);
    expect(map.version, 'clear() took no version').toBeGreaterThan(v);
    expect(await woke).toBeGreaterThan(v);
    const changes = map.changesSince(v);
    // Either the deletions, or a reset that sends the client to the (empty) full state.
    if (!changes.reset) expect(new Set(changes.deletes)).toEqual(new Set(['a', 'b']));
    expect(changes.upserts).toEqual([]);
    map.close();
  });

  it('changesSince(the current version) answers nothing, whole, and the next call answers what came after', () => {
    const map = versionedMap();
    for (let i = 0; i < 100; i++) map.store(`k${i}`, i);
    map.delete('k5');
    const v = map.version;
    expect(map.changesSince(v)).toEqual({ version: v, reset: false, complete: true, upserts: [], deletes: [] });
    // A version from beyond the map's (a client of another map): nothing, and the map's version.
    expect(map.changesSince(v + 10)).toEqual({ version: v, reset: false, complete: true, upserts: [], deletes: [] });
    map.store('k7', 70);
    map.delete('k8');
    expect(map.changesSince(v)).toEqual({ version: v + 2, reset: false, complete: true, upserts: [['k7', 70]], deletes: ['k8'] });
    expect(map.changesSince(v + 2)).toEqual({ version: v + 2, reset: false, complete: true, upserts: [], deletes: [] });
    map.close();
  });

  it('a map created without versioned has version 0 and refuses the delta API', () => {
    const map = SyncMap.createSync({ values: 'number' });
    map.store('a', 1);
    map.delete('a');
    expect(map.version).toBe(0);
    expect(map.stats().version).toBe(0);
    expect(map.snapshot().version).toBe(0);
    for (const f of [
      () => map.changesSince(0),
      () => map.compact(0),
      () => map.setLowWatermark(0),
      () => map.waitForChange(0, 1),
    ]) {
      expect(f).toThrow(expect.objectContaining({ code: 'ERR_SYNCMAP_INVALID_ARGUMENT', message: expect.stringMatching(/versioned/) }));
    }
    map.close();
  });
});

describe('changesSince', () => {
  it('upserts with their values and deletes, each key once with its latest change, in version order', () => {
    const map = versionedMap();
    map.store('a', 1); // v1
    map.store('b', 2); // v2
    map.store('c', 3); // v3
    map.store('a', 10); // v4
    map.delete('b'); // v5
    map.store('d', 4); // v6
    map.delete('c'); // v7
    map.store('b', 20); // v8: b comes back
    map.store('e', 5); // v9
    map.delete('e'); // v10
    expect(map.version).toBe(10);
    const all = map.changesSince(0);
    expect(all).toEqual({ version: 10, reset: false, complete: true, upserts: [['a', 10], ['d', 4], ['b', 20]], deletes: ['c', 'e'] });
    expect(map.changesSince(4)).toEqual({ version: 10, reset: false, complete: true, upserts: [['d', 4], ['b', 20]], deletes: ['c', 'e'] });
    expect(map.changesSince(8)).toEqual({ version: 10, reset: false, complete: true, upserts: [], deletes: ['e'] });
    expect(map.changesSince(10)).toEqual({ version: 10, reset: false, complete: true, upserts: [], deletes: [] });
    // Past the current version: nothing yet, and the answer's version is the map's.
    expect(map.changesSince(50)).toMatchObject({ version: 10, reset: false, upserts: [], deletes: [] });
    map.close();
  });

  it('version order holds across shards (keys spread over every shard)', () => {
    const map = SyncMap.createSync({ values: 'number', versioned: true, shards: 16 });
    const order: string[] = [];
    for (let i = 0; i < 500; i++) {
      const key = `key-${(i * 7919) % 500}`;
      map.store(key, i);
      order.push(key);
    }
    const changes = map.changesSince(0);
    expect(changes.upserts.map(([k]) => k)).toEqual(order);
    expect(changes.upserts.map(([, v]) => v)).toEqual(order.map((_, i) => i));
    map.close();
  });

  it('limit cuts the answer short (complete: false); paging on from the returned version reaches every change exactly once', () => {
    const map = SyncMap.createSync({ values: 'number', versioned: true, shards: 8 });
    for (let i = 0; i < 1000; i++) map.store(`k${i}`, i);
    for (let i = 0; i < 1000; i += 3) map.delete(`k${i}`);
    for (let i = 1; i < 1000; i += 5) map.store(`k${i}`, -i);
    const full = map.changesSince(0);
    expect(full.complete).toBe(true);
    const local = new Map<string, number>();
    const seen = new Set<string>();
    let since = 0;
    let pages = 0;
    for (;;) {
      const page = map.changesSince(since, { limit: 37 });
      pages++;
      expect(page.reset).toBe(false);
      const keys = [...page.upserts.map(([k]) => k), ...page.deletes];
      if (!page.complete) expect(keys.length).toBe(37);
      else expect(keys.length).toBeLessThanOrEqual(37);
      for (const key of keys) {
        expect(seen.has(key), `${key} came twice`).toBe(false);
        seen.add(key);
      }
      for (const [k, v] of page.upserts) local.set(k, v);
      for (const k of page.deletes) local.delete(k);
      expect(page.version).toBeGreaterThan(since);
      since = page.version;
      if (page.complete) break;
      expect(pages).toBeLessThan(100);
    }
    expect(since).toBe(map.version);
    expect(seen.size).toBe(full.upserts.length + full.deletes.length);
    expect(seen.size).toBe(1000);
    expect(local).toEqual(new Map(map.snapshot()));
    expect(pages).toBe(Math.ceil(1000 / 37));
    map.close();
  });

  it('refuses a bad since or limit', () => {
    const map = versionedMap();
    for (const since of [-1, 1.5, NaN, '0']) expect(() => map.changesSince(since as never)).toThrow(expect.objectContaining({ code: 'ERR_SYNCMAP_INVALID_ARGUMENT' }));
    for (const limit of [0, -1, 1.5]) expect(() => map.changesSince(0, { limit })).toThrow(expect.objectContaining({ code: 'ERR_SYNCMAP_INVALID_ARGUMENT' }));
    map.close();
  });
});

describe('compaction and the watermark', () => {
  it('compact(w) removes the tombstones at or below w; changesSince from below w answers reset: true, from w on it does not', () => {
    const map = versionedMap();
    for (let i = 0; i < 10; i++) map.store(`k${i}`, i); // v1..v10
    for (let i = 0; i < 6; i++) map.delete(`k${i}`); // v11..v16
    expect(map.stats().tombstones).toBe(6);
    const before = map.stats().compactions;
    expect(map.compact(13)).toBe(3); // the tombstones of v11, v12, v13
    expect(map.stats().tombstones).toBe(3);
    expect(map.stats().compactions - before).toBe(3);
    expect(map.changesSince(12)).toMatchObject({ reset: true, upserts: [], deletes: [], version: 16 });
    expect(map.changesSince(0).reset).toBe(true);
    const at = map.changesSince(13);
    expect(at.reset).toBe(false);
    expect(at.deletes).toEqual(['k3', 'k4', 'k5']);
    // The watermark only rises.
    expect(map.compact(5)).toBe(0);
    expect(map.changesSince(12).reset).toBe(true);
    // Compacting everything: the map holds no tombstones, and present keys are untouched.
    expect(map.compact(map.version)).toBe(3);
    expect(map.stats().tombstones).toBe(0);
    expect(new Map(map.snapshot())).toEqual(new Map([['k6', 6], ['k7', 7], ['k8', 8], ['k9', 9]]));
    expect(map.changesSince(16)).toMatchObject({ reset: false, upserts: [], deletes: [] });
    map.close();
  });

  it('a key deleted, compacted away, and stored again is an upsert again', () => {
    const map = versionedMap();
    map.store('k', 1);
    map.delete('k');
    map.compact(map.version);
    const v = map.version;
    map.store('k', 2);
    expect(map.changesSince(v)).toMatchObject({ reset: false, upserts: [['k', 2]], deletes: [] });
    map.close();
  });

  it('automatic compaction: once tombstones reach 1024, up to setLowWatermark()\'s version, off the call path', async () => {
    const map = SyncMap.createSync({ keys: 'number', values: 'number', versioned: true });
    const n = 40_000; // 5% of it is 2000: the count, not the share, triggers here
    for (let i = 0; i < n; i++) map.store(i, i);
    for (let i = 0; i < 1023; i++) map.delete(i);
    await nextImmediate();
    expect(map.stats().tombstones).toBe(1023);
    const low = map.version;
    expect(map.setLowWatermark(low)).toBe(low);
    expect(map.setLowWatermark(low - 10), 'the low watermark never falls').toBe(low);
    const before = map.stats().compactions;
    map.delete(1023); // the 1024th tombstone, newer than the low watermark
    expect(map.stats().tombstones, 'compaction runs off the call path, not inside delete()').toBe(1024);
    await nextImmediate();
    expect(map.stats().tombstones).toBe(1);
    expect(map.stats().compactions - before).toBe(1023);
    expect(map.changesSince(low - 1).reset).toBe(true);
    expect(map.changesSince(low)).toMatchObject({ reset: false, deletes: [1023] });
    map.close();
  });

  it('automatic compaction: not again until the low watermark rises, however many deletes', async () => {
    // No tombstone at or below a low watermark that has not risen can appear (a
    // delete takes a newer version), so another walk of every shard would find
    // nothing: it used to run once per event-loop turn with a delete.
    const map = SyncMap.createSync({ keys: 'number', values: 'number', versioned: true, shards: 8 });
    for (let i = 0; i < 4000; i++) map.store(i, i);
    for (let i = 0; i < 1100; i++) map.delete(i);
    await nextImmediate(); // the first: up to low watermark 0, nothing to remove
    const locks = (): number => map.stats().lockAcquisitions;
    const before = locks();
    for (let turn = 0; turn < 50; turn++) {
      map.delete(2000 + turn); // one lock
      await nextImmediate();
    }
    expect(locks() - before, "the deletes' locks only, no compaction's").toBe(50);
    expect(map.stats().tombstones).toBe(1150);
    map.setLowWatermark(map.version - 50);
    map.delete(3000);
    await nextImmediate();
    expect(map.stats().tombstones, 'once it rose: up to it').toBe(51);
    map.close();
  });

  it('automatic compaction: once tombstones reach 5% of the keys', async () => {
    const map = versionedMap();
    for (let i = 0; i < 200; i++) map.store(`k${i}`, i);
    for (let i = 0; i < 9; i++) map.delete(`k${i}`); // 9 < 5% of 191
    await nextImmediate();
    expect(map.stats().tombstones).toBe(9);
    const low = map.setLowWatermark(map.version);
    map.delete('k9'); // 10 >= 5% of 190
    await nextImmediate();
    expect(map.stats().tombstones).toBe(1);
    expect(map.changesSince(low - 1).reset).toBe(true);
    map.close();
  });

  it('without a low watermark, automatic compaction removes nothing (no client has acknowledged anything)', async () => {
    const map = versionedMap();
    for (let i = 0; i < 50; i++) map.store(`k${i}`, i);
    for (let i = 0; i < 50; i++) map.delete(`k${i}`);
    await nextImmediate();
    expect(map.stats().tombstones).toBe(50);
    expect(map.changesSince(0).reset).toBe(false);
    expect(map.changesSince(0).deletes).toHaveLength(50);
    map.close();
  });
});

describe('at the memory limit', () => {
  /** A versioned map on the debug core, whose allocations a test can make fail. */
  function debugMap(): { map: SyncMap<string, number>; failAllocations: (from: number) => void } {
    const map = internal.createWithBuild<string, number>('debug', { values: 'number', versioned: true });
    const core = internal.coreOfMap(map);
    // From the `from`-th allocation on, every one fails (1: all; 0: none).
    return { map, failAllocations: (from) => core.sm_debugFailAllocation(from) };
  }

  it('a delete with no memory for its tombstone deletes all the same, and a delta from before answers reset', () => {
    // A full map must be able to shrink: before, every delete of a full
    // versioned map met ERR_SYNCMAP_FULL.
    const { map, failAllocations } = debugMap();
    for (let i = 0; i < 10; i++) map.store(`k${i}`, i);
    map.delete('k0'); // a tombstone, while memory lasts
    const before = map.version;
    failAllocations(1);
    expect(map.delete('k1')).toBe(true);
    expect(map.loadAndDelete('k2')).toEqual({ value: 2, loaded: true });
    expect(map.compareAndDelete('k3', 3)).toBe(true);
    expect(map.delete('absent')).toBe(false);
    failAllocations(0);
    expect(map.version, 'a version per deletion, none for the absent key').toBe(before + 3);
    expect([map.has('k1'), map.has('k2'), map.has('k3'), map.size]).toEqual([false, false, false, 6]);
    expect(map.stats().tombstones, 'only the one made with memory').toBe(1);
    expect(map.changesSince(before - 1)).toMatchObject({ reset: true, upserts: [], deletes: [] });
    expect(map.changesSince(map.version)).toMatchObject({ reset: false, complete: true });
    map.store('k1', 11);
    expect(map.changesSince(before + 3)).toMatchObject({ reset: false, upserts: [['k1', 11]], deletes: [] });
    expect(internal.verify(map)).toBe(0);
    map.close();
  });

  it('a write refused for want of memory takes no version', () => {
    // The new key's value was stamped before its entry was allocated: each
    // refused insert (tried twice by the bindings) moved the version.
    const { map, failAllocations } = debugMap();
    map.store('a', 1);
    const version = map.version;
    // The value block is allocated (the first allocation), the entry not.
    const refused = (write: () => unknown): string | undefined => {
      failAllocations(2);
      const code = codeOf(write);
      failAllocations(0);
      return code;
    };
    expect(refused(() => map.store('new', 1))).toBe('ERR_SYNCMAP_FULL');
    expect(refused(() => map.loadOrStore('new', 1))).toBe('ERR_SYNCMAP_FULL');
    expect(refused(() => map.swap('new', 1))).toBe('ERR_SYNCMAP_FULL');
    expect(refused(() => map.add('counter', 1))).toBe('ERR_SYNCMAP_FULL');
    expect(map.version).toBe(version);
    expect([map.size, map.load('a'), map.has('new')]).toEqual([1, 1, false]);
    expect(map.changesSince(version)).toMatchObject({ reset: false, upserts: [], deletes: [] });
    expect(internal.verify(map)).toBe(0);
    map.close();
  });
});

describe('a thread that dies in a deletion without a tombstone', () => {
  type Victim = SyncMap<string, number>;
  const sorted = (m: Map<string, number>): string => JSON.stringify([...m].sort(([a], [b]) => (a < b ? -1 : 1)));
  // Each with every allocation failing (a map at its limit), on keys in the
  // read table, in dirty only, and expired.
  const scripts: Record<string, (victim: Victim) => void> = {
    'delete, loadAndDelete, compareAndDelete': (victim) => {
      internal.coreOfMap(victim).sm_debugFailAllocation(1);
      victim.delete('k1');
      victim.loadAndDelete('k2');
      victim.compareAndDelete('k3', 3);
      victim.delete('dirty');
    },
    'a sweep': (victim) => {
      const core = internal.coreOfMap(victim);
      core.sm_debugFailAllocation(1);
      core.sm_sweep(4096);
    },
    'a sweep that runs out of memory part-way': (victim) => {
      const core = internal.coreOfMap(victim);
      core.sm_debugFailAllocation(3);
      core.sm_sweep(4096);
    },
    'clear()': (victim) => victim.clear(),
  };

  it.each(Object.keys(scripts))('%s: at every crash point, a delta from before is reset or exact, and nothing leaks', (name) => {
    const script = scripts[name]!;
    let crashes = 0;
    for (let n = 1; ; n++) {
      const map = internal.createWithBuild<string, number>('debug', { values: 'number', versioned: true, shards: 2, lockTimeoutMs: 1000 });
      const core = internal.coreOfMap(map);
      for (let i = 0; i < 10; i++) map.store(`k${i}`, i);
      for (let round = 0; round < 3; round++) for (let i = 0; i < 10; i++) map.load(`k${i}`); // into the read tables
      for (let i = 0; i < 6; i++) map.store(`e${i}`, i, { ttlMs: 1 });
      map.store('dirty', 1);
      const before = map.version;
      const then = new Map(map.snapshot());
      core.sm_tick(Date.now() + 10_000); // the e keys have expired
      const dead = 7_000_000 + n;
      const died = crashAt(map.handle, dead, n, script, 'terminated');
      if (died) {
        crashes++;
        expect(internal.reapThread(map, dead)).toBe(1);
        internal.recordDeath(dead);
      }
      core.sm_debugFailAllocation(0);
      while ((core.sm_sweep(4096) & internal.CoreFlag.SWEEP_WRAPPED) === 0); // the rest, with tombstones
      expect(internal.verify(map), `n=${n}`).toBe(0);
      const delta = map.changesSince(before);
      if (!delta.reset) {
        for (const [key, value] of delta.upserts) then.set(key, value);
        for (const key of delta.deletes) then.delete(key);
        expect(sorted(then), `n=${n}: the delta misses a deletion`).toBe(sorted(new Map(map.snapshot())));
      }
      const tombstones = map.stats().tombstones;
      expect(map.compact(map.version), `n=${n}: tombstones counted`).toBe(tombstones);
      map.clear();
      internal.collect(map);
      expect(internal.heapUnaccounted(map), `n=${n}`).toBe(0);
      map.close();
      if (!died) break;
    }
    expect(crashes).toBeGreaterThan(3);
  });
});

describe('snapshot and version', () => {
  it('snapshot().version is the map\'s version at that moment', () => {
    const map = versionedMap();
    expect(map.snapshot().version).toBe(0);
    for (let i = 0; i < 100; i++) map.store(`k${i}`, i);
    map.delete('k5');
    const snap = map.snapshot();
    expect(snap.version).toBe(map.version);
    expect(snap.version).toBe(101);
    expect(snap.size).toBe(99);
    expect(snap).toBeInstanceOf(Map);
    map.store('k5', 5);
    expect(snap.has('k5'), 'a snapshot is a copy').toBe(false);
    expect(map.snapshot().version).toBe(102);
    map.close();
  });
});
