/**
 * The read cache (bindings/read-cache.ts): a load answered from this thread's
 * cache must be exactly what a load through the core would return, whatever
 * another thread did in between: overwrite, delete (from read, or from dirty
 * only), clear, let expire, or churn the memory so that entries and value
 * blocks are freed and reused under other keys.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { Worker } from 'node:worker_threads';
import {
  LockedMap,
  SyncMap,
  SyncMapArgumentError,
  controlBlock,
  crashAt,
  exited,
  internal,
  firstMessage,
  sleep,
  startWorker,
  type SyncMapHandle,
} from './helpers.js';

/** A worker that makes one write per call and resolves once it has returned. */
function peer(
  handle: SyncMapHandle, codec?: 'frozen',
): { worker: Worker; run(op: string, key?: string, value?: unknown): Promise<void> } {
  const worker = startWorker('read-cache-peer.mjs', { handle, role: 'commands', codec });
  return {
    worker,
    async run(op, key, value) {
      const answer = firstMessage<string>(worker);
      worker.postMessage({ op, key, value });
      expect(await answer).toBe('done');
    },
  };
}

/** Where the thread's last load found its value: the entry's value word, the block, the read table. */
function foundWords(map: SyncMap<string, string>): number[] {
  const slot = internal.coreOfMap(map).sm_readCacheWord(internal.WORD_SLOT);
  const u32 = new Uint32Array(map.handle.memory.buffer);
  return [internal.SLOT_FOUND_VALUE_WORD, internal.SLOT_FOUND_BLOCK, internal.SLOT_FOUND_READ].map((at) => u32[(slot + at) >>> 2]!);
}

/**
 * Loads every key a few times: each load of a key in dirty only counts a miss
 * in its shard, and enough misses promote dirty to read, which the cache
 * needs (a key found while a shard's read table is empty is not cached).
 */
function promote(map: SyncMap<string, unknown>, ...keys: string[]): void {
  for (let round = 0; round < 4; round++) for (const key of keys) map.load(key);
}

describe('read cache', () => {
  it('answers a repeated load from the cache, and counts it as a hit', async () => {
    const map = await SyncMap.create<string, string>({ values: 'string' });
    map.store('k', 'v1');
    promote(map, 'k');
    expect(map.load('k')).toBe('v1'); // fills
    const before = map.stats();
    for (let i = 0; i < 100; i++) expect(map.load('k')).toBe('v1');
    expect(map.has('k')).toBe(true);
    const after = map.stats();
    expect(after.cacheHits - before.cacheHits).toBe(101);
    expect(after.hits - before.hits).toBe(101);
    expect(after.loads - before.loads).toBe(101);
    map.close();
  });

  it('gives another thread’s store, delete and clear at once', async () => {
    const map = await SyncMap.create<string, string>({ values: 'string' });
    const other = peer(map.handle);
    for (let i = 0; i < 100; i++) map.store(`k${i}`, `v${i}`);
    promote(map, ...Array.from({ length: 100 }, (_, i) => `k${i}`));
    for (let i = 0; i < 100; i++) expect(map.load(`k${i}`)).toBe(`v${i}`);
    const hits = map.stats().cacheHits;
    expect(map.load('k1')).toBe('v1');
    expect(map.stats().cacheHits).toBe(hits + 1); // cached

    await other.run('store', 'k1', 'w1');
    expect(map.load('k1')).toBe('w1');
    await other.run('delete', 'k2');
    expect(map.load('k2')).toBeUndefined();
    expect(map.has('k2')).toBe(false);
    await other.run('store', 'k2', 'again');
    expect(map.load('k2')).toBe('again');
    expect(map.load('k3')).toBe('v3');
    await other.run('clear');
    for (let i = 0; i < 100; i++) expect(map.load(`k${i}`)).toBeUndefined();
    await other.run('store', 'k3', 'after-clear');
    expect(map.load('k3')).toBe('after-clear');
    await other.run('close');
    await exited(other.worker);
    map.close();
  });

  it('gives the delete of a key that is in the dirty table only', async () => {
    const map = await SyncMap.create<string, string>({ values: 'string', shards: 1 });
    const other = peer(map.handle);
    map.store('old', 'x');
    promote(map, 'old'); // read holds 'old': a key found in dirty can now be cached
    map.store('new', 'y'); // in dirty only
    expect(map.load('new')).toBe('y'); // the slow path, which fills the cache
    const before = map.stats();
    expect(map.load('new')).toBe('y');
    const after = map.stats();
    expect(after.cacheHits).toBe(before.cacheHits + 1);
    expect(after.slowLoads).toBe(before.slowLoads); // answered without the lock
    await other.run('delete', 'new');
    expect(map.load('new')).toBeUndefined();
    await other.run('close');
    await exited(other.worker);
    map.close();
  });

  it('stats(): cacheHits never above hits while another thread hits the cache', async () => {
    const map = await SyncMap.create<string, string>({ values: 'string' });
    map.store('k', 'v');
    promote(map, 'k');
    const control = controlBlock();
    const worker = startWorker('read-cache-peer.mjs', { handle: map.handle, role: 'loader', keys: ['k'], control: control.buffer });
    const loads = firstMessage<number>(worker);
    while (Atomics.load(control, 0) === 0) await sleep(1);
    let polls = 0;
    let worst = 0;
    const until = Date.now() + 500;
    while (Date.now() < until) {
      const s = map.stats();
      worst = Math.max(worst, s.cacheHits - s.hits);
      polls++;
    }
    Atomics.store(control, 1, 1);
    expect(await loads).toBeGreaterThan(1000);
    await exited(worker);
    expect(polls).toBeGreaterThan(100);
    expect(worst).toBeLessThanOrEqual(0); // the part (cacheHits) is read before the whole (hits)
    expect(map.stats().cacheHits).toBeGreaterThan(1000);
    map.close();
  });

  it('sees through an entry and a value block freed and reused by another key', async () => {
    const map = await SyncMap.create<string, string>({ values: 'string', shards: 1 });
    map.store('old', 'x');
    promote(map, 'old');
    // Keys in dirty only, enough that the misses below promote nothing: the
    // read table stays the same, and only the epoch advances tell the reuse.
    for (let i = 0; i < 10; i++) map.store(`filler-${i}`, 'f');
    map.store('key-1', 'value-1'); // in dirty only: deleting it retires its entry at once
    expect(map.load('key-1')).toBe('value-1');
    const found = foundWords(map);
    const before = map.stats().cacheHits;
    expect(map.load('key-1')).toBe('value-1');
    expect(map.stats().cacheHits).toBe(before + 1);
    map.delete('key-1');
    for (let i = 0; i < 3; i++) internal.collect(map); // frees the entry and the value block
    map.store('key-2', 'value-2'); // same sizes: takes the freed entry and block back
    expect(map.load('key-2')).toBe('value-2');
    // The reuse happened: key-2 sits in key-1's entry with key-1's block, under the same
    // read table, so only the count of epoch advances can tell the cached record is stale.
    expect(foundWords(map)).toEqual(found);
    expect(map.load('key-1')).toBeUndefined();
    expect(map.load('key-2')).toBe('value-2');
    map.close();
  });

  it('agrees with the core after a thread dies at any point of deleting a key in dirty only', () => {
    let crashes = 0;
    for (let n = 1; ; n++) {
      const map = internal.createWithBuild<string, string>('debug', { values: 'string', shards: 1, lockTimeoutMs: 1000 });
      map.store('old', 'x');
      promote(map, 'old');
      for (let i = 0; i < 10; i++) map.store(`filler-${i}`, 'f'); // so that no miss below promotes
      map.store('new', 'y'); // in dirty only
      expect(map.load('new')).toBe('y'); // fills the cache
      const hits = map.stats().cacheHits;
      expect(map.load('new')).toBe('y');
      expect(map.stats().cacheHits).toBe(hits + 1);
      const deadThread = 5_000_000 + n;
      if (!crashAt<string, string>(map.handle, deadThread, n, (victim) => victim.delete('new'))) {
        map.close();
        break;
      }
      crashes++;
      expect(internal.reapThread(map, deadThread)).toBe(1);
      // What the core says once the dead thread's step is finished or undone,
      // the cache must say too (the old order, entry out of dirty before its
      // value word changed, left the cache handing out the deleted value).
      const uncached = SyncMap.attach<string, string>(map.handle, { readCache: false });
      const truth = uncached.load('new');
      expect(map.load('new'), `after crash point ${n}`).toBe(truth);
      uncached.close();
      map.close();
    }
    expect(crashes).toBeGreaterThan(2);
  });

  it('lets a cached value expire on the map clock', async () => {
    const map = await SyncMap.create<string, string>({ values: 'string', ttlMs: 60_000, ttlResolutionMs: 1 });
    map.store('short', 'gone soon', { ttlMs: 50 });
    map.store('long', 'stays');
    promote(map, 'short', 'long');
    expect(map.load('short')).toBe('gone soon');
    const hits = map.stats().cacheHits;
    expect(map.load('short')).toBe('gone soon');
    expect(map.stats().cacheHits).toBe(hits + 1);
    await sleep(120);
    expect(map.load('short')).toBeUndefined();
    expect(map.has('short')).toBe(false);
    expect(map.load('long')).toBe('stays');
    map.close();
  });

  it('never hands out another key’s value or an older one while entries and blocks are reused', async () => {
    const keys = Array.from({ length: 64 }, (_, i) => `key-${i}`);
    const map = await SyncMap.create<string, string>({ values: 'string', shards: 2, maxMemoryBytes: 2 << 20, maxValueBytes: 1024 });
    const control = controlBlock();
    const worker = startWorker('read-cache-peer.mjs', { handle: map.handle, role: 'churn', keys, control: control.buffer });
    const rounds = firstMessage<number>(worker);
    while (Atomics.load(control, 0) === 0) await sleep(1);
    const newest = new Map<string, number>();
    let loads = 0;
    let bad = '';
    const until = Date.now() + 1500;
    while (Date.now() < until && !bad) {
      for (let n = 0; n < 2000; n++) {
        const key = keys[(n * 7) % keys.length]!;
        const value = map.load(key);
        loads++;
        if (value === undefined) continue;
        const colon = value.lastIndexOf(':');
        const version = Number(value.slice(colon + 1));
        if (value.slice(0, colon) !== key) bad = `${key} read ${value}`;
        else if (version < (newest.get(key) ?? 0)) bad = `${key} read version ${version} after ${newest.get(key)}`;
        else newest.set(key, version);
      }
      await sleep(0); // let the worker's messages and exit be seen
    }
    Atomics.store(control, 1, 1);
    expect(await rounds).toBeGreaterThan(10);
    await exited(worker);
    expect(bad).toBe('');
    const stats = map.stats();
    expect(loads).toBeGreaterThan(10_000);
    expect(stats.cacheHits).toBeGreaterThan(0); // the cache took part
    map.close();
  });

  it('is not used for values a caller could change, or for byte keys', async () => {
    const objects = await SyncMap.create<string, { n: number }>();
    objects.store('k', { n: 1 });
    const first = objects.load('k')!;
    first.n = 2;
    expect(objects.load('k')).toEqual({ n: 1 });
    expect(objects.load('k')).not.toBe(objects.load('k'));
    expect(objects.stats().cacheHits).toBe(0);
    objects.close();

    const bytes = await SyncMap.create<Uint8Array, string>({ keys: 'bytes', values: 'string' });
    bytes.store(new Uint8Array([1]), 'v');
    for (let i = 0; i < 10; i++) expect(bytes.load(new Uint8Array([1]))).toBe('v');
    expect(bytes.stats().cacheHits).toBe(0);
    bytes.close();
  });

  it('caches number keys as the map compares them (-0 is 0, every NaN is one)', async () => {
    const map = await SyncMap.create<number, number>({ keys: 'number', values: 'number' });
    map.store(0, 1);
    map.store(NaN, 2);
    for (let i = 0; i < 4; i++) map.load(0), map.load(NaN); // promote, then fill
    const before = map.stats().cacheHits;
    for (let i = 0; i < 40; i++) {
      expect(map.load(-0)).toBe(1);
      expect(map.load(0)).toBe(1);
      expect(map.load(NaN)).toBe(2);
      expect(map.load(Number('x'))).toBe(2);
    }
    expect(map.stats().cacheHits - before).toBe(160); // -0 found 0's record, one NaN another's
    map.close();
  });

  it('stays within maxEntries, and readCache: false turns it off', async () => {
    const map = await SyncMap.create<string, string>({ values: 'string', readCache: { maxEntries: 2 } });
    for (let i = 0; i < 10; i++) map.store(`k${i}`, `v${i}`);
    promote(map, ...Array.from({ length: 10 }, (_, i) => `k${i}`));
    // Ten keys in turn through a cache of two: each is evicted before it comes round again.
    const start = map.stats().cacheHits;
    for (let round = 0; round < 3; round++) for (let i = 0; i < 10; i++) expect(map.load(`k${i}`)).toBe(`v${i}`);
    expect(map.stats().cacheHits).toBe(start);
    expect(map.load('k9')).toBe('v9'); // the last one filled is still there
    expect(map.stats().cacheHits).toBe(start + 1);
    const uncached = SyncMap.attach<string, string>(map.handle, { readCache: false });
    const hits = map.stats().cacheHits;
    for (let i = 0; i < 50; i++) expect(uncached.load('k9')).toBe('v9');
    expect(map.stats().cacheHits).toBe(hits);
    uncached.close();
    map.close();
  });

  it('steps aside while loads find nothing to cache, and comes back', async () => {
    const map = await SyncMap.create<string, string>({ values: 'string' });
    map.store('hot', 'v');
    promote(map, 'hot');
    // Absent keys: no lookup can find them, and none leads to a fill.
    for (let i = 0; i < 4096; i++) expect(map.load(`absent-${i}`)).toBeUndefined();
    const before = map.stats().cacheHits;
    for (let i = 0; i < 1000; i++) expect(map.load('hot')).toBe('v');
    expect(map.stats().cacheHits).toBe(before); // stepped aside: every load went to the core
    for (let i = 0; i < 40_000; i++) expect(map.load('hot')).toBe('v');
    expect(map.stats().cacheHits).toBeGreaterThan(before + 20_000); // and came back
    map.close();
  });

  it('evicts the oldest filled first, however many have been evicted before', async () => {
    const max = 64;
    const map = await SyncMap.create<string, number>({ values: 'number', readCache: { maxEntries: max } });
    const keys = Array.from({ length: 5000 }, (_, i) => `key-${i}`);
    keys.forEach((key, i) => map.store(key, i));
    const uncached = SyncMap.attach<string, number>(map.handle, { readCache: false });
    promote(uncached as SyncMap<string, unknown>, ...keys); // without thrashing the cache, which would step aside
    uncached.close();
    // Fill the keys in order, in windows of `max` that each end on a reload of the
    // window's keys: those must all be hits, so that eviction, once the cache is
    // full, took the windows before and nothing of this one. (That it evicts at all,
    // keeping to maxEntries, is the test above.)
    for (let start = 0; start + 2 * max <= keys.length; start += max) {
      for (let i = start; i < start + max; i++) expect(map.load(keys[i]!)).toBe(i);
      const hits = map.stats().cacheHits;
      for (let i = start; i < start + max; i++) expect(map.load(keys[i]!)).toBe(i);
      expect(map.stats().cacheHits - hits).toBe(max);
    }
    map.close();
  });

  it('steps aside while it keeps evicting and rarely hits, and comes back', async () => {
    const map = await SyncMap.create<string, number>({ values: 'number', readCache: { maxEntries: 64 } });
    const keys = Array.from({ length: 1024 }, (_, i) => `key-${i}`);
    keys.forEach((key, i) => map.store(key, i));
    promote(map, ...keys);
    // Keys in turn through a cache 16 times smaller: every load misses, fills and evicts.
    for (let round = 0; round < 4; round++) keys.forEach((key, i) => expect(map.load(key)).toBe(i));
    const before = map.stats().cacheHits;
    for (let i = 0; i < 1000; i++) expect(map.load('key-7')).toBe(7);
    expect(map.stats().cacheHits).toBe(before); // stepped aside: no lookups, no fills
    for (let i = 0; i < 40_000; i++) expect(map.load('key-7')).toBe(7);
    expect(map.stats().cacheHits).toBeGreaterThan(before + 20_000); // and came back
    map.close();
  });

  it('reads the slot words where the core writes them', () => {
    const slots = readFileSync(new URL('../assembly/slots.ts', import.meta.url), 'utf8');
    const names = [
      'SLOT_CACHE_HITS', 'SLOT_FOUND_VALUE_WORD', 'SLOT_FOUND_BLOCK', 'SLOT_FOUND_TABLES_WORD', 'SLOT_FOUND_READ',
      'SLOT_FOUND_EXPIRY', 'SLOT_FOUND_ADVANCES', 'SLOT_FOUND_SLOT', 'SLOT_FOUND_SERIAL',
    ] as const;
    for (const name of names) {
      const core = Number(new RegExp(`${name}: usize = (\\d+);`).exec(slots)?.[1]);
      expect([name, internal[name]]).toEqual([name, core]);
    }
  });

  it('refuses a readCache option it cannot use, naming it', async () => {
    await expect(SyncMap.create({ readCache: true as never })).rejects.toThrow(SyncMapArgumentError);
    await expect(SyncMap.create({ readCache: { maxEntries: -1 } })).rejects.toThrow(/readCache\.maxEntries/);
    await expect(SyncMap.create({ readCache: { max: 5 } as never })).rejects.toThrow(/readCache\.max\b/);
    const map = await SyncMap.create();
    expect(() => SyncMap.attach(map.handle, { readCache: 'yes' as never })).toThrow(/options\.readCache/);
    map.close();
  });
});

/** Where this thread's last load or lock-free store found the key (assembly/slots.ts, "found"). */
function place(map: SyncMap<string, string>) {
  const slot = internal.coreOfMap(map).sm_readCacheWord(internal.WORD_SLOT);
  const memory = map.handle.memory.buffer;
  const u32 = new Uint32Array(memory);
  const f64 = new Float64Array(memory);
  const word = (at: number) => u32[(slot + at) >>> 2]!;
  return {
    valueWord: word(internal.SLOT_FOUND_VALUE_WORD),
    block: word(internal.SLOT_FOUND_BLOCK),
    tablesWord: word(internal.SLOT_FOUND_TABLES_WORD),
    read: word(internal.SLOT_FOUND_READ),
    slot: word(internal.SLOT_FOUND_SLOT),
    serial: f64[(slot + internal.SLOT_FOUND_SERIAL) >>> 3]!,
    advances: f64[(slot + internal.SLOT_FOUND_ADVANCES) >>> 3]!,
  };
}

/** Sets the map's count of epoch advances by hand (reclaim.ts, ADVANCES): only where nothing else runs. */
function setAdvances(map: SyncMap<string, string>, count: number): void {
  const at = internal.coreOfMap(map).sm_readCacheWord(internal.WORD_ADVANCES) >>> 3;
  new Float64Array(map.handle.memory.buffer)[at] = count;
}

/** The core's check (sm_revalidate) of where `found`'s thread last found a key (place), from a given count. */
function revalidator(found: SyncMap<string, string>): (since: number) => number {
  const { tablesWord, read, slot, serial, block } = place(found);
  const core = internal.coreOfMap(found);
  return (since) => core.sm_revalidate(tablesWord, read, serial, slot - 1, block, since);
}

/** Writes `text` (ASCII) at the map's scratch offset 0, as the bindings put a value stored by place. */
function putValue(map: SyncMap<string, string>, text: string): number {
  const core = internal.coreOfMap(map);
  new Uint8Array(map.handle.memory.buffer).set(Buffer.from(text, 'latin1'), core.sm_scratch());
  return text.length;
}

describe('read cache: loadOrStore', () => {
  it('finds a key the thread has read in the cache: no call into the core, no load counted', async () => {
    const map = await SyncMap.create<string, string>({ values: 'string' });
    const other = peer(map.handle);
    map.store('key', 'v1');
    promote(map, 'key');
    expect(map.load('key')).toBe('v1'); // fills
    const scratch = internal.coreOfMap(map).sm_scratch();
    const memory = new Uint8Array(map.handle.memory.buffer);
    memory.fill(0x2a, scratch, scratch + 16); // a core call would write the key here
    const before = map.stats();
    expect(map.loadOrStore('key', 'other')).toEqual({ value: 'v1', loaded: true });
    expect([...memory.subarray(scratch, scratch + 16)]).toEqual(new Array(16).fill(0x2a));
    const after = map.stats();
    expect([after.loads, after.hits, after.cacheHits, after.writes]).toEqual(
      [before.loads, before.hits, before.cacheHits, before.writes],
    );
    // As fresh as a load: another thread's store, then its delete, are seen at once.
    await other.run('store', 'key', 'v2');
    expect(map.loadOrStore('key', 'other')).toEqual({ value: 'v2', loaded: true });
    expect(map.load('key')).toBe('v2');
    await other.run('delete', 'key');
    expect(map.loadOrStore('key', 'mine')).toEqual({ value: 'mine', loaded: false });
    expect(map.load('key')).toBe('mine');
    await other.run('close');
    await exited(other.worker);
    map.close();
  });

  it('a loadOrStore that finds the key through the core fills the cache, as a load does', async () => {
    // One shard: a key still in dirty has a read table beside it to be checked by.
    const map = await SyncMap.create<string, string>({ values: 'string', shards: 1 });
    const other = peer(map.handle);
    map.store('key', 'v1');
    promote(map, 'key');
    await other.run('store', 'key', 'v1'); // this thread's record of 'key' is stale now
    // So the first loadOrStore goes to the core, and records where it found the key.
    const scratch = internal.coreOfMap(map).sm_scratch();
    const memory = new Uint8Array(map.handle.memory.buffer);
    const before = map.stats();
    expect(map.loadOrStore('key', 'other')).toEqual({ value: 'v1', loaded: true });
    memory.fill(0x2a, scratch, scratch + 16);
    expect(map.loadOrStore('key', 'other')).toEqual({ value: 'v1', loaded: true });
    expect(map.load('key')).toBe('v1');
    expect([...memory.subarray(scratch, scratch + 16)]).toEqual(new Array(16).fill(0x2a)); // no core call
    const after = map.stats();
    expect(after.cacheHits - before.cacheHits).toBe(1); // the load; the second loadOrStore counts none
    expect(after.writes).toBe(before.writes);
    // The record it made is as fresh as a load's: another thread's store is seen at once.
    await other.run('store', 'key', 'v2');
    expect(map.loadOrStore('key', 'other')).toEqual({ value: 'v2', loaded: true });
    expect(map.load('key')).toBe('v2');
    // A key found in dirty (under the lock) is recorded too, and as fresh.
    map.store('fresh', 'f1'); // a new key: in dirty until promoted
    expect(map.loadOrStore('fresh', 'other')).toEqual({ value: 'f1', loaded: true });
    const hits = map.stats().cacheHits;
    expect(map.load('fresh')).toBe('f1');
    expect(map.stats().cacheHits - hits).toBe(1); // recorded by the loadOrStore
    await other.run('store', 'fresh', 'f2');
    expect(map.loadOrStore('fresh', 'other')).toEqual({ value: 'f2', loaded: true });
    await other.run('delete', 'fresh');
    expect(map.loadOrStore('fresh', 'mine')).toEqual({ value: 'mine', loaded: false });
    await other.run('close');
    await exited(other.worker);
    map.close();
  });

  it('stores over a cached value that has expired', async () => {
    const map = await SyncMap.create<string, string>({ values: 'string', ttlMs: 60_000, ttlResolutionMs: 1 });
    map.store('short', 'gone soon', { ttlMs: 50 });
    promote(map, 'short');
    expect(map.load('short')).toBe('gone soon');
    expect(map.loadOrStore('short', 'new')).toEqual({ value: 'gone soon', loaded: true });
    await sleep(120);
    expect(map.loadOrStore('short', 'new')).toEqual({ value: 'new', loaded: false });
    expect(map.load('short')).toBe('new');
    map.close();
  });
});

describe('read cache: stores by place', () => {
  it('stores a key found in read by its place, without writing the key, and loads the value from the cache', async () => {
    const map = await SyncMap.create<string, string>({ values: 'string' });
    map.store('key', 'v1');
    promote(map, 'key');
    expect(map.load('key')).toBe('v1');
    const found = place(map);
    expect(found.slot).toBeGreaterThan(0); // found in read
    const before = map.stats();
    map.store('key', 'v2');
    const stored = place(map);
    // The scratch holds the value at offset 0: the key was never written there.
    const scratch = internal.coreOfMap(map).sm_scratch();
    expect(Buffer.from(map.handle.memory.buffer, scratch, 2).toString('latin1')).toBe('v2');
    // Same place, a new block, now in the entry's value word.
    expect({ ...stored, block: 0 }).toEqual({ ...found, block: 0 });
    expect(stored.block).not.toBe(found.block);
    expect(new Uint32Array(map.handle.memory.buffer)[stored.valueWord >>> 2]).toBe(stored.block);
    const after = map.stats();
    expect(after.writes - before.writes).toBe(1);
    expect(after.lockAcquisitions).toBe(before.lockAcquisitions);
    expect(map.load('key')).toBe('v2');
    expect(map.stats().cacheHits).toBe(after.cacheHits + 1); // the store refreshed the record
    expect(map.swap('key', 'v3')).toEqual({ previous: 'v2', loaded: true });
    expect(map.load('key')).toBe('v3');
    expect(internal.verify(map)).toBe(0);
    map.close();
  });

  it('the core stores at a place only while it holds the key, and refuses any other, changing nothing', async () => {
    const map = await SyncMap.create<string, string>({ values: 'string', shards: 2 });
    map.store('key', 'v1');
    promote(map, 'key');
    expect(map.load('key')).toBe('v1');
    const { tablesWord, read, slot, serial } = place(map);
    const core = internal.coreOfMap(map);
    const { BAD_ARGUMENT, MOVED, OK } = internal.Status;
    // A shard's tables word begins its 64-byte block, which holds its lock word.
    const mine = [0, 1].find((i) => core.sm_shardLockWord(i) - tablesWord >= 0 && core.sm_shardLockWord(i) - tablesWord < 64)!;
    const otherShard = tablesWord + core.sm_shardLockWord(1 - mine) - core.sm_shardLockWord(mine);
    internal.collect(map);
    const inUse = map.stats().bytesInUse;
    const refused: [string, number, number[]][] = [
      ['a table made later at the same address', MOVED, [tablesWord, read, serial + 1, slot - 1]],
      ['a read table that is not the shard’s', MOVED, [tablesWord, read + 64, serial, slot - 1]],
      ['the other shard', MOVED, [otherShard, read, serial, slot - 1]],
      // The key is its shard's only one: any other slot of the table is empty.
      ['a slot without an entry', MOVED, [tablesWord, read, serial, slot === 1 ? 1 : 0]],
      ['a word between shards', BAD_ARGUMENT, [tablesWord + 4, read, serial, slot - 1]],
      ['a word before the shards', BAD_ARGUMENT, [64, read, serial, slot - 1]],
      ['a word past the shards', BAD_ARGUMENT, [tablesWord + 64 * 1000, read, serial, slot - 1]],
      ['a slot past the table', BAD_ARGUMENT, [tablesWord, read, serial, 2 ** 31]],
    ];
    for (const [what, status, [t, r, s, i]] of refused) {
      const len = putValue(map, 'bad');
      expect([what, core.sm_swapFound(t!, r!, s!, i!, len, 0, 0)]).toEqual([what, status]);
    }
    const uncached = SyncMap.attach<string, string>(map.handle, { readCache: false });
    expect(uncached.load('key')).toBe('v1');
    internal.collect(map);
    expect(map.stats().bytesInUse).toBe(inUse); // every refused block was freed
    expect(internal.verify(map)).toBe(0);
    // And the place itself works, as a store of the key.
    const len = putValue(map, 'v2');
    expect(core.sm_swapFound(tablesWord, read, serial, slot - 1, len, 0, 0)).toBe(OK);
    expect(uncached.load('key')).toBe('v2');
    uncached.close();
    map.close();
  });

  it('stores by key once another thread has deleted the key, cleared the map or replaced the read table', async () => {
    const map = await SyncMap.create<string, string>({ values: 'string', shards: 1 });
    const other = peer(map.handle);
    const truth = SyncMap.attach<string, string>(map.handle, { readCache: false });
    const cachePlace = () => {
      promote(map, 'key');
      expect(map.load('key')).not.toBeUndefined();
      expect(place(map).slot).toBeGreaterThan(0);
    };
    map.store('key', 'v0');
    cachePlace();
    await other.run('delete', 'key');
    map.store('key', 'after-delete');
    expect([truth.load('key'), truth.size]).toEqual(['after-delete', 1]);

    cachePlace();
    await other.run('clear');
    map.store('key', 'after-clear'); // not into the table the clear retired
    expect([truth.load('key'), truth.size]).toEqual(['after-clear', 1]);

    cachePlace();
    const read = place(map).read;
    for (let i = 0; i < 50; i++) await other.run('store', `new-${i}`, 'n');
    promote(truth as SyncMap<string, unknown>, ...Array.from({ length: 50 }, (_, i) => `new-${i}`));
    map.store('key', 'after-promotion');
    expect(truth.load('key')).toBe('after-promotion');
    expect(place(map).read).not.toBe(read); // the store found the key in the new read table
    expect(internal.verify(map)).toBe(0);
    await other.run('close');
    await exited(other.worker);
    truth.close();
    map.close();
  });

  it('leaves the key’s old value or its new one when a thread dies at any point of a store by place', () => {
    let crashes = 0;
    for (let n = 1; ; n++) {
      const map = internal.createWithBuild<string, string>('debug', { values: 'string', shards: 1, lockTimeoutMs: 1000 });
      map.store('key', 'old');
      promote(map, 'key');
      const deadThread = 6_000_000 + n;
      const died = crashAt<string, string>(map.handle, deadThread, n, (victim) => {
        expect(victim.load('key')).toBe('old'); // its own cache learns the place
        victim.store('key', 'new');
        // Reached only in the run without a crash: the store went by place (its value, not
        // the key, at scratch offset 0), so the crash points before it were on that path.
        const scratch = internal.coreOfMap(victim).sm_scratch();
        expect(Buffer.from(map.handle.memory.buffer, scratch, 3).toString('latin1')).toBe('new');
      });
      if (!died) {
        expect(map.load('key')).toBe('new');
        map.close();
        break;
      }
      crashes++;
      expect(internal.reapThread(map, deadThread)).toBe(1);
      expect(['old', 'new']).toContain(map.load('key'));
      expect(internal.verify(map)).toBe(0);
      map.store('key', 'later'); // and the map takes writes again
      expect(map.load('key')).toBe('later');
      map.close();
    }
    expect(crashes).toBeGreaterThan(0);
  });

  it('judges stores apart: inserting new keys does not turn the cache off for loads', async () => {
    const map = await SyncMap.create<string, string>({ values: 'string' });
    map.store('hot', 'v');
    promote(map, 'hot');
    expect(map.load('hot')).toBe('v');
    // Each store of a new key looks for a place it cannot find.
    for (let i = 0; i < 5000; i++) map.store(`new-${i}`, 'n');
    const before = map.stats().cacheHits;
    for (let i = 0; i < 1000; i++) expect(map.load('hot')).toBe('v');
    expect(map.stats().cacheHits).toBe(before + 1000);
    map.close();
  });
});

/** True when `value` and every object and array it holds are frozen. */
function deeplyFrozen(value: unknown): boolean {
  if (typeof value !== 'object' || value === null) return true;
  return Object.isFrozen(value) && Object.values(value).every(deeplyFrozen);
}

interface Pod {
  name: string;
  spec: { containers: { image: string; ports: number[] }[] };
}
const pod = (name: string, image = 'nginx:1.27'): Pod => ({ name, spec: { containers: [{ image, ports: [80, 443] }] } });

describe('read cache: records across epoch advances', () => {
  it('keeps a record whose key kept its value, answering from the cache after advances', async () => {
    const map = await SyncMap.create<string, string>({ values: 'string', shards: 1 });
    const other = SyncMap.attach<string, string>(map.handle, { readCache: false });
    map.store('key', 'value-1');
    promote(map, 'key');
    expect(map.load('key')).toBe('value-1'); // fills
    // Writes to other keys, each retiring a block, and collections: the epoch advances.
    for (let i = 0; i < 300; i++) other.store(`other-${i % 10}`, `v${i}`);
    const advances = map.stats().epochAdvances;
    for (let i = 0; i < 3; i++) internal.collect(map);
    expect(map.stats().epochAdvances).toBeGreaterThan(advances);
    const { cacheHits } = map.stats();
    expect(map.load('key')).toBe('value-1');
    expect(map.load('key')).toBe('value-1');
    expect(map.stats().cacheHits).toBe(cacheHits + 2); // the first asked the core, which copied nothing
    other.close();
    map.close();
  });

  it('sees through the key’s own value block freed and made again, at the same address, for a new value', async () => {
    const map = await SyncMap.create<string, string>({ values: 'string', shards: 1 });
    const other = SyncMap.attach<string, string>(map.handle, { readCache: false });
    map.store('key', 'value-1');
    promote(map, 'key');
    expect(map.load('key')).toBe('value-1');
    const found = place(map);
    other.store('key', 'value-2'); // without the lock, in read: the record is not told
    for (let i = 0; i < 3; i++) internal.collect(map); // frees value-1's block
    other.store('key', 'value-3'); // same size: takes value-1's block back
    // The reuse happened: the same read table, slot and value word hold the same block
    // address as when the record was made; only the block's birth tells them apart.
    const now = place(other);
    expect([now.tablesWord, now.read, now.serial, now.slot, now.valueWord, now.block])
      .toEqual([found.tablesWord, found.read, found.serial, found.slot, found.valueWord, found.block]);
    expect(map.load('key')).toBe('value-3');
    expect(map.load('key')).toBe('value-3');
    other.close();
    map.close();
  });

  it('the core confirms a place only while its key holds the block, born by then; writes nothing else, whatever it is given', async () => {
    // A small memory, compared whole below.
    const map = await SyncMap.create<string, string>({ values: 'string', shards: 2, maxMemoryBytes: 2 << 20, maxValueBytes: 1024 });
    for (let i = 0; i < 3; i++) internal.collect(map); // a count above 0, so that one below it means something
    map.store('key', 'v1');
    promote(map, 'key');
    expect(map.load('key')).toBe('v1');
    const { tablesWord, read, slot, serial, block, advances } = place(map);
    expect(advances).toBeGreaterThan(0);
    expect(map.stats().epochAdvances).toBe(advances); // none since the store: the block was born at `advances`
    const core = internal.coreOfMap(map);
    const mine = [0, 1].find((i) => core.sm_shardLockWord(i) - tablesWord >= 0 && core.sm_shardLockWord(i) - tablesWord < 64)!;
    const otherShard = tablesWord + core.sm_shardLockWord(1 - mine) - core.sm_shardLockWord(mine);
    const now = core.sm_revalidate(tablesWord, read, serial, slot - 1, block, advances);
    expect(now).toBe(map.stats().epochAdvances);
    const refused: [string, number[]][] = [
      ['another block', [tablesWord, read, serial, slot - 1, block + 8, advances]],
      ['a block born after the count given', [tablesWord, read, serial, slot - 1, block, advances - 1]],
      ['a table made later at the same address', [tablesWord, read, serial + 1, slot - 1, block, advances]],
      ['a read table that is not the shard’s', [tablesWord, read + 64, serial, slot - 1, block, advances]],
      ['the other shard', [otherShard, read, serial, slot - 1, block, advances]],
      ['a slot without an entry', [tablesWord, read, serial, slot === 1 ? 1 : 0, block, advances]],
      ['a word between shards', [tablesWord + 4, read, serial, slot - 1, block, advances]],
      ['a word before the shards', [64, read, serial, slot - 1, block, advances]],
      ['a word past the shards', [tablesWord + 64 * 1000, read, serial, slot - 1, block, advances]],
      ['a slot past the table', [tablesWord, read, serial, 2 ** 31, block, advances]],
      ['a count 2^27 advances back', [tablesWord, read, serial, slot - 1, block, advances - 2 ** 27]],
      ['a count below 0', [tablesWord, read, serial, slot - 1, block, -1]],
      ['a count after the map’s', [tablesWord, read, serial, slot - 1, block, advances + 1]],
      ['no block', [tablesWord, read, serial, slot - 1, 0, advances]],
    ];
    const inUse = map.stats().bytesInUse;
    const memory = new Uint8Array(map.handle.memory.buffer);
    const before = memory.slice();
    for (const [what, [t, r, s, i, b, a]] of refused) {
      expect([what, core.sm_revalidate(t!, r!, s!, i!, b!, a!)]).toEqual([what, -1]);
    }
    // Not a byte changed but in this thread's own slot (its pin word): SLOT_SIZE, assembly/slots.ts.
    const ownSlot = core.sm_readCacheWord(internal.WORD_SLOT);
    const changed = memory.findIndex((byte, at) => byte !== before[at] && (at < ownSlot || at >= ownSlot + 256));
    expect(changed).toBe(-1);
    expect(map.stats().bytesInUse).toBe(inUse);
    expect(internal.verify(map)).toBe(0);
    map.store('key', 'v2');
    expect(core.sm_revalidate(tablesWord, read, serial, slot - 1, block, advances)).toBe(-1); // the key has another block
    map.close();
  });

  it('tells births apart modulo 2^29, within 2^27 advances of the count given', async () => {
    const map = await SyncMap.create<string, string>({ values: 'string', shards: 1 });
    // The count of advances, set by hand (nothing else runs): where the birth's modulus wraps.
    const born = 2 ** 29 + 10; // kept as 10
    setAdvances(map, born);
    // One key per check that finds its value 2^26 advances old or more (which moves its birth up).
    const keys = ['wrap', 'horizon', 'within', 'apart'];
    for (const key of keys) map.store(key, 'v1');
    promote(map, ...keys);
    const uncached = SyncMap.attach<string, string>(map.handle, { readCache: false }); // each load finds
    const checks = Object.fromEntries(keys.map((key) => {
      expect(uncached.load(key)).toBe('v1');
      return [key, revalidator(uncached)];
    }));
    expect(checks.wrap!(born)).toBe(born);
    expect(checks.wrap!(born - 1)).toBe(-1); // born after the count given, across the wrap
    setAdvances(map, born + 2 ** 27 + 5); // later advances
    expect(checks.horizon!(born)).toBe(-1); // 2^27 + 5 advances since: beyond the horizon
    expect(checks.within!(born + 6)).toBe(born + 2 ** 27 + 5); // within it, born before
    setAdvances(map, born + 2 ** 28); // births 2^28 or more before the count given: not told apart
    expect(checks.apart!(born + 2 ** 28)).toBe(-1);
    uncached.close();
    map.close();
  });

  it('the core confirms no value expired by the clock it reads after the value word', async () => {
    const map = await SyncMap.create<string, string>({ values: 'string', shards: 1, ttlMs: 60_000 });
    map.store('key', 'v1');
    promote(map, 'key');
    expect(map.load('key')).toBe('v1');
    const { advances } = place(map);
    const core = internal.coreOfMap(map);
    const check = revalidator(map);
    expect(check(advances)).toBe(advances);
    core.sm_tick(Date.now() + 59_000); // the map clock, as another thread's tick moves it
    expect(check(advances)).toBe(advances);
    core.sm_tick(Date.now() + 61_000); // past the value's expiry
    expect(check(advances)).toBe(-1);
    expect(map.load('key')).toBeUndefined();
    map.close();
  });

  it('moves up the birth of a value 2^26 advances old, so that one kept unchanged for hours stays checkable', async () => {
    const map = await SyncMap.create<string, string>({ values: 'string', shards: 1 });
    const born = 2 ** 29 + 10;
    setAdvances(map, born);
    map.store('key', 'v1');
    promote(map, 'key');
    expect(map.load('key')).toBe('v1');
    const check = revalidator(map);
    setAdvances(map, born + 2 ** 26 - 1); // young: left as it is
    expect(check(born)).toBe(born + 2 ** 26 - 1);
    expect(check(born)).toBe(born + 2 ** 26 - 1);
    setAdvances(map, born + 2 ** 26); // old enough: confirmed, and its birth moved up to the count
    expect(check(born)).toBe(born + 2 ** 26);
    expect(check(born)).toBe(-1); // a record from before the move fails once: born after it, as it can tell
    expect(check(born + 2 ** 26)).toBe(born + 2 ** 26);
    // A value left unread for 2^28 advances: its first check fails (not told apart), and moves it up.
    const later = born + 2 ** 26 + 2 ** 28;
    setAdvances(map, later);
    expect(check(later)).toBe(-1);
    expect(check(later)).toBe(later);
    expect(internal.verify(map)).toBe(0);
    // Through the bindings, with real advances between loads: one load asks the core
    // again, then every load is a hit, as for a value stored a moment ago.
    setAdvances(map, born + 2 ** 29 + 2 ** 28 + 3);
    const other = SyncMap.attach<string, string>(map.handle, { readCache: false });
    const hitsPerRound: number[] = [];
    for (let round = 0; round < 20; round++) {
      const advances = map.stats().epochAdvances;
      for (let i = 0; map.stats().epochAdvances === advances; i++) {
        other.store(`other-${i % 10}`, `x${i}`);
        if (i % 50 === 49) internal.collect(map);
      }
      const before = map.stats().cacheHits;
      for (let i = 0; i < 5; i++) expect(map.load('key')).toBe('v1');
      hitsPerRound.push(map.stats().cacheHits - before);
    }
    expect(hitsPerRound[0]).toBeGreaterThanOrEqual(4);
    expect(hitsPerRound.slice(1)).toEqual(Array(19).fill(5));
    other.close();
    map.close();
  });

  it('answers from the cache while another thread’s writes to other keys keep the epoch advancing', async () => {
    const keys = Array.from({ length: 2000 }, (_, i) => `kept-${i}`);
    const churned = Array.from({ length: 64 }, (_, i) => `overwritten-${i}`);
    const map = await SyncMap.create<string, string>({ values: 'string', maxMemoryBytes: 16 << 20 });
    keys.forEach((key) => map.store(key, `${key}:value`));
    churned.forEach((key) => map.store(key, `${key}:0`));
    promote(map, ...keys, ...churned); // every key in read: the overwrites take no lock and promote nothing
    const control = controlBlock();
    const worker = startWorker('read-cache-peer.mjs', { handle: map.handle, role: 'overwrite', keys: churned, control: control.buffer });
    const rounds = firstMessage<number>(worker);
    while (Atomics.load(control, 0) === 0) await sleep(1);
    let passesAfterAdvances = 0;
    let wrong = 0;
    const hitShares: number[] = [];
    const until = Date.now() + 1500;
    let advances = map.stats().epochAdvances;
    while (Date.now() < until) {
      const before = map.stats();
      for (const key of keys) if (map.load(key) !== `${key}:value`) wrong++;
      const after = map.stats();
      // An advance since the last pass (during it, or in the pause before this
      // one, as on a busy machine where the two threads seldom run at once):
      // this pass checked records the last one made.
      if (after.epochAdvances > advances) passesAfterAdvances++;
      advances = after.epochAdvances;
      hitShares.push((after.cacheHits - before.cacheHits) / keys.length);
      await sleep(1); // the worker's advances fall between passes too
    }
    Atomics.store(control, 1, 1);
    expect(await rounds).toBeGreaterThan(10);
    await exited(worker);
    expect(wrong).toBe(0);
    expect(passesAfterAdvances).toBeGreaterThan(3);
    // Every record stays the key's: after the first pass every load is a hit, advances or not.
    expect(Math.min(...hitShares.slice(1))).toBe(1);
    map.close();
  });
});

describe("read cache of 'json' values, freeze: true", () => {
  it('hands out each value deeply frozen, the same object to every load while it is unchanged', async () => {
    const map = await SyncMap.create<string, Pod>({ values: 'json', freeze: true });
    map.store('web-0', pod('web-0'));
    promote(map, 'web-0');
    const first = map.load('web-0')!;
    expect(first).toEqual(pod('web-0'));
    expect(deeplyFrozen(first)).toBe(true);
    const before = map.stats().cacheHits;
    for (let i = 0; i < 100; i++) expect(map.load('web-0')).toBe(first);
    expect(map.stats().cacheHits - before).toBe(100);
    expect(() => first.spec.containers[0]!.ports.push(8080)).toThrow(TypeError);
    expect(() => {
      (first as { name: string }).name = 'changed';
    }).toThrow(TypeError);
    expect(map.load('web-0')).toEqual(pod('web-0'));
    map.close();
  });

  it("gives another thread's store, delete and clear at once; that thread, without freeze, gets copies", async () => {
    const map = await SyncMap.create<string, Pod>({ values: 'json', freeze: true });
    const other = peer(map.handle);
    map.store('web-0', pod('web-0'));
    promote(map, 'web-0');
    const cached = map.load('web-0');
    expect(map.load('web-0')).toBe(cached);

    await other.run('store', 'web-0', pod('web-0', 'nginx:1.28'));
    const updated = map.load('web-0')!;
    expect(updated.spec.containers[0]!.image).toBe('nginx:1.28');
    expect(deeplyFrozen(updated)).toBe(true);
    await other.run('delete', 'web-0');
    expect(map.load('web-0')).toBeUndefined();
    await other.run('store', 'web-0', pod('web-0', 'nginx:1.29'));
    expect(map.load('web-0')!.spec.containers[0]!.image).toBe('nginx:1.29');
    await other.run('clear');
    expect(map.load('web-0')).toBeUndefined();
    await other.run('close');
    await exited(other.worker);

    // The option is this map object's: another attachment of the same thread without it gets fresh copies.
    map.store('web-1', pod('web-1'));
    const plain = SyncMap.attach<string, Pod>(map.handle);
    promote(plain, 'web-1');
    const copy = plain.load('web-1')!;
    expect(Object.isFrozen(copy)).toBe(false);
    expect(plain.load('web-1')).not.toBe(copy);
    copy.name = 'mine';
    expect(map.load('web-1')!.name).toBe('web-1');
    plain.close();
    map.close();
  });

  it('hands out every value frozen: loadOrStore, swap, loadAndDelete, iteration, snapshot, compute, changesSince', async () => {
    const map = await SyncMap.create<string, Pod>({ values: 'json', freeze: true, versioned: true });
    const start = map.version;
    const stored = map.loadOrStore('a', pod('a'));
    expect(stored.loaded).toBe(false);
    expect(deeplyFrozen(stored.value)).toBe(true);
    const loaded = map.loadOrStore('a', pod('other'));
    expect(loaded).toEqual({ value: pod('a'), loaded: true });
    expect(deeplyFrozen(loaded.value)).toBe(true);
    map.store('b', pod('b'));
    const swapped = map.swap('b', pod('b2'));
    expect(swapped.previous).toEqual(pod('b'));
    expect(deeplyFrozen(swapped.previous)).toBe(true);
    map.store('c', pod('c'));
    const taken = map.loadAndDelete('c');
    expect(taken.value).toEqual(pod('c'));
    expect(deeplyFrozen(taken.value)).toBe(true);

    const handedOut: unknown[] = [...map.values(), ...[...map.entries()].map(([, v]) => v)];
    map.forEach((v) => handedOut.push(v));
    map.range((_k, v) => {
      handedOut.push(v);
    });
    handedOut.push(...map.snapshot().values());
    handedOut.push(...map.changesSince(start).upserts.map(([, value]) => value));
    expect(handedOut.length).toBeGreaterThanOrEqual(12);
    expect(handedOut.every(deeplyFrozen)).toBe(true);

    // compute's function gets the current value frozen: it returns a new one.
    const next = map.compute('a', (current) => {
      expect(deeplyFrozen(current)).toBe(true);
      return { ...current!, name: 'a2' };
    });
    expect(next!.name).toBe('a2');
    expect(map.load('a')!.name).toBe('a2');
    map.close();
  });

  it('freezes own members only: a getter on Object.prototype neither runs nor gets frozen', async () => {
    const map = await SyncMap.create<string, Pod>({ values: 'json', freeze: true });
    map.store('k', pod('k'));
    let calls = 0;
    const shared = { inherited: true };
    // Only around the load: the test runner's own code assigns to objects it makes.
    Object.defineProperty(Object.prototype, 'pollution', {
      enumerable: true, configurable: true, get: () => (calls++, shared),
    });
    let value: Pod | undefined;
    try {
      value = map.load('k');
    } finally {
      delete (Object.prototype as { pollution?: unknown }).pollution;
    }
    expect(calls).toBe(0);
    expect(Object.isFrozen(shared)).toBe(false);
    expect(deeplyFrozen(value)).toBe(true);
    map.close();
  });

  it('leaves the cache to loads: a store decodes nothing for it, and the next load sees the new value', async () => {
    const map = await SyncMap.create<string, Pod>({ values: 'json', freeze: true });
    map.store('k', pod('k'));
    promote(map, 'k');
    const first = map.load('k');
    map.store('k', pod('k', 'redis:7'));
    const hits = map.stats().cacheHits;
    const second = map.load('k')!; // through the core: the store filled nothing
    expect(map.stats().cacheHits).toBe(hits);
    expect(second).not.toBe(first);
    expect(second.spec.containers[0]!.image).toBe('redis:7');
    expect(map.load('k')).toBe(second); // and now cached
    map.close();
  });

  it('keeps primitives as they are, and refuses values freezing cannot make immutable', async () => {
    const strings = await SyncMap.create<string, string>({ values: 'string', freeze: true });
    strings.store('s', 'v');
    expect(strings.load('s')).toBe('v');
    strings.close();
    const json = await SyncMap.create<string, unknown>({ values: 'json', freeze: true });
    json.store('n', 5);
    json.store('nothing', null);
    expect([json.load('n'), json.load('nothing')]).toEqual([5, null]);
    json.close();

    for (const values of ['bytes', 'structured', 'v8'] as const) {
      expect(() => SyncMap.createSync({ values, freeze: true })).toThrow(SyncMapArgumentError);
    }
    expect(() => SyncMap.createSync({ freeze: true })).toThrow(/options\.freeze applies to 'json' values/);
    const custom = { encode: (v: number) => new Uint8Array([v]), decode: (b: Uint8Array) => b[0]! };
    expect(() => SyncMap.createSync({ values: custom, freeze: true })).toThrow(/a custom codec's/);
    expect(() => SyncMap.createSync({ values: 'json', freeze: 'yes' as never })).toThrow(/options\.freeze must be a boolean/);
    expect(() => LockedMap.createSync({ values: 'json', freeze: true } as never)).toThrow(/does not apply to a LockedMap: it keeps no read cache/);
    const locked = LockedMap.createSync({ values: 'json' });
    expect(() => LockedMap.attach(locked.handle, { freeze: true } as never)).toThrow(/options\.freeze does not apply to a LockedMap/);
    locked.close();
    const bytes = SyncMap.createSync({ values: 'bytes' });
    expect(() => SyncMap.attach(bytes.handle, { freeze: true })).toThrow(SyncMapArgumentError);
    bytes.close();
  });
});

describe("read cache of 'json' values, freeze: true, whose lookups rarely hit", () => {
  it('steps aside below one hit in 3 lookups (a primitive cache goes on to one in 16)', async () => {
    // Nine loads in ten follow a store of the key, which leaves the record
    // stale (a frozen value is never filled by a store): each such load
    // decodes, freezes and refills. One in ten hits: below a third, so after
    // a window of 1024 lookups the cache steps aside, and the loads after it
    // go through the core, the cache not looked in.
    const map = await SyncMap.create<string, Pod>({ values: 'json', freeze: true });
    map.store('k', pod('k'));
    promote(map, 'k');
    for (let i = 0; i < 3 * 1024; i++) {
      if (i % 10 !== 0) map.store('k', pod('k', `nginx:${i}`));
      map.load('k');
    }
    const before = map.stats().cacheHits;
    const value = map.load('k');
    for (let i = 0; i < 1000; i++) expect(map.load('k')).toEqual(value);
    expect(map.stats().cacheHits).toBe(before);
    map.close();
  });
});

/** A codec of the user's own whose decode() returns frozen objects, as fixtures/read-cache-peer.mjs's 'frozen'. */
interface Tag {
  readonly name: string;
  readonly n: number;
}
const frozenCodec = {
  encode: (value: Tag) => new TextEncoder().encode(JSON.stringify(value)),
  decode: (bytes: Uint8Array): Tag => Object.freeze(JSON.parse(new TextDecoder().decode(bytes)) as Tag),
  immutable: true,
};

describe('read cache of a custom codec declared immutable', () => {
  it('hands the same value to each load while unchanged, and another thread’s store at once', async () => {
    const map = await SyncMap.create<string, Tag>({ values: frozenCodec });
    const other = peer(map.handle, 'frozen');
    map.store('k', { name: 'k', n: 1 });
    promote(map, 'k');
    const first = map.load('k')!;
    expect(first).toEqual({ name: 'k', n: 1 });
    const before = map.stats().cacheHits;
    for (let i = 0; i < 10; i++) expect(map.load('k')).toBe(first); // no decode(): the same object
    expect(map.stats().cacheHits - before).toBe(10);
    await other.run('store', 'k', { name: 'k', n: 2 });
    expect(map.load('k')).toEqual({ name: 'k', n: 2 });
    await other.run('delete', 'k');
    expect(map.load('k')).toBeUndefined();
    // A store does not fill the cache (it would decode its own value): the next load decodes.
    map.store('k', { name: 'k', n: 3 });
    const hits = map.stats().cacheHits;
    expect(map.load('k')).toEqual({ name: 'k', n: 3 });
    expect(map.stats().cacheHits).toBe(hits);
    await other.run('close');
    await exited(other.worker);
    map.close();
  });

  it('keeps no object decode() returns unfrozen; freeze: true is accepted and changes nothing', async () => {
    const unfrozen = { ...frozenCodec, decode: (bytes: Uint8Array): Tag => JSON.parse(new TextDecoder().decode(bytes)) as Tag };
    const map = await SyncMap.create<string, Tag>({ values: unfrozen });
    map.store('k', { name: 'k', n: 1 });
    promote(map, 'k');
    const first = map.load('k')!;
    expect(map.load('k')).not.toBe(first); // decoded again: a shared copy could be changed
    expect(map.stats().cacheHits).toBe(0);
    const frozen = SyncMap.attach<string, Tag>(map.handle, { values: frozenCodec, freeze: true });
    const once = frozen.load('k')!;
    expect(Object.isFrozen(once)).toBe(true);
    expect(frozen.load('k')).toBe(once);
    frozen.close();
    map.close();
  });

  it('stores as before when decode() writes to the map: a store neither decodes nor goes by place', async () => {
    let writer: SyncMap<string, Tag> | undefined;
    const writing = {
      ...frozenCodec,
      decode: (bytes: Uint8Array): Tag => {
        const value = frozenCodec.decode(bytes);
        if (value.name !== 'side') writer?.store('side', { name: 'side', n: value.n }); // writes the scratch
        return value;
      },
    };
    const map = await SyncMap.create<string, Tag>({ values: writing });
    writer = map;
    const check = SyncMap.attach<string, Tag>(map.handle, { values: frozenCodec, readCache: false });
    for (const key of ['a', 'b']) map.store(key, { name: key, n: 0 });
    promote(map, 'a', 'b');
    for (let n = 1; n <= 50; n++) {
      const key = n % 2 ? 'a' : 'b';
      expect(map.load(key)).toEqual({ name: key, n: n - 2 < 0 ? 0 : n - 2 });
      map.store(key, { name: key, n });
      expect(check.load(key)).toEqual({ name: key, n });
    }
    expect(check.load('side')?.name).toBe('side');
    expect(internal.verify(map)).toBe(0);
    check.close();
    map.close();
  });

  it('without the promise, caches nothing: each load decodes', async () => {
    const { immutable: _, ...mutable } = frozenCodec;
    const map = await SyncMap.create<string, Tag>({ values: mutable });
    map.store('k', { name: 'k', n: 1 });
    promote(map, 'k');
    const first = map.load('k');
    expect(map.load('k')).not.toBe(first);
    expect(map.stats().cacheHits).toBe(0);
    map.close();
    expect(() => SyncMap.createSync({ values: { ...frozenCodec, immutable: 'yes' as never } }))
      .toThrow(/options\.values\.immutable must be a boolean, got a string/);
  });

  it('records where the key was found before decode() runs, though decode() loads other keys through the core', async () => {
    const map = await SyncMap.create<string, Tag>({ values: frozenCodec });
    let inner: SyncMap<string, Tag> | undefined; // same thread, no cache: each of its loads calls the core
    const reentrant = {
      ...frozenCodec,
      decode: (bytes: Uint8Array): Tag => {
        inner?.load('other'); // rewrites this thread's "found" words, as any core call does
        return frozenCodec.decode(bytes);
      },
    };
    const reader = SyncMap.attach<string, Tag>(map.handle, { values: reentrant });
    inner = SyncMap.attach<string, Tag>(map.handle, { values: frozenCodec, readCache: false });
    map.store('k', { name: 'k', n: 1 });
    map.store('other', { name: 'other', n: 1 });
    promote(reader, 'k', 'other');
    expect(reader.load('k')).toEqual({ name: 'k', n: 1 });
    // The key's value replaced without the lock (in read): the record, had it named 'other''s
    // place and block, would still hit and hand out n: 1.
    inner.store('k', { name: 'k', n: 2 });
    expect(reader.load('k')).toEqual({ name: 'k', n: 2 });
    inner.store('k', { name: 'k', n: 3 });
    expect(reader.load('k')).toEqual({ name: 'k', n: 3 });
    const hits = reader.stats().cacheHits;
    expect(reader.load('k')).toEqual({ name: 'k', n: 3 });
    expect(reader.stats().cacheHits).toBe(hits + 1);
    inner.close();
    reader.close();
    map.close();
  });
});
