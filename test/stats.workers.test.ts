/**
 * Issue 9, stats(): each counter moves as its name says, from every thread
 * (and keeps what a thread counted after it ends); and the contention
 * test: under 2-thread LoadMostlyHits, SyncMap's loads take no lock while
 * LockedMap's take its read lock once each.
 */
import { describe, expect, it } from 'vitest';
import {
  awaitWord, controlBlock, exited, firstMessage, LockedMap, signal, sleep, startWorker, SyncMap, type SyncMapStats,
} from './helpers.js';

function delta(after: SyncMapStats, before: SyncMapStats): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(after)) {
    if (typeof v === 'number') out[k] = v - (before as unknown as Record<string, number>)[k]!;
  }
  return out;
}

describe('stats(): the counters, one by one', () => {
  it('loads, hits, misses, slowLoads, promotions, writes and lockAcquisitions on one thread', () => {
    const map = SyncMap.createSync<string, number>({ values: 'number', shards: 4 });
    let s = map.stats();
    for (let i = 0; i < 10; i++) map.store(`k${i}`, i);
    let d = delta(map.stats(), s);
    expect(d.writes).toBe(10);
    expect(d.lockAcquisitions).toBeGreaterThanOrEqual(10); // a new key takes its shard's lock
    expect(d.loads).toBe(0);
    expect(map.stats().size).toBe(10);

    s = map.stats();
    expect(map.load('k0')).toBe(0); // in dirty only: the slow path
    expect(map.has('nope')).toBe(false);
    d = delta(map.stats(), s);
    expect(d.loads).toBe(2);
    expect(d.hits).toBe(1);
    expect(d.misses).toBe(1);
    expect(d.slowLoads).toBeGreaterThanOrEqual(1);
    expect(d.writes).toBe(0);

    s = map.stats();
    map.range(() => {});
    d = delta(map.stats(), s);
    expect(d.promotions).toBeGreaterThanOrEqual(1);

    s = map.stats();
    for (let i = 0; i < 10; i++) expect(map.load(`k${i}`)).toBe(i); // promoted: the fast path
    map.store('k0', 100); // an existing key in read: a lock-free swap
    d = delta(map.stats(), s);
    expect(d).toMatchObject({ loads: 10, hits: 10, misses: 0, slowLoads: 0, writes: 1, lockAcquisitions: 0 });

    s = map.stats();
    map.delete('absent');
    map.compareAndSwap('k1', 999, 0);
    map.loadOrStore('k2', 0);
    d = delta(map.stats(), s);
    expect(d.writes, 'calls that changed nothing are not writes').toBe(0);
    map.close();
  });

  it('expirations, tombstones, compactions and version', async () => {
    const map = SyncMap.createSync<string, number>({ values: 'number', versioned: true, ttlMs: 30 });
    map.store('a', 1);
    map.store('b', 2);
    map.store('c', 3, { ttlMs: 0 });
    expect(map.stats()).toMatchObject({ version: 3, tombstones: 0, expirations: 0, compactions: 0 });
    await sleep(120);
    expect(map.delete('a')).toBe(false); // meets an expired value: an expiration, and a tombstone
    expect(map.stats()).toMatchObject({ version: 4, tombstones: 1, expirations: 1, size: 2 });
    expect(map.delete('c')).toBe(true);
    expect(map.stats()).toMatchObject({ version: 5, tombstones: 2, expirations: 1, size: 1 });
    const stop = map.startSweeper({ intervalMs: 10 });
    while (map.size > 0) await sleep(10);
    stop();
    expect(map.stats()).toMatchObject({ version: 6, tombstones: 3, expirations: 2, size: 0 });
    expect(map.compact(map.version)).toBe(3);
    expect(map.stats()).toMatchObject({ version: 6, tombstones: 0, compactions: 3 });
    map.close();
  });

  it('perShard with { shards: true }: one record per shard, sizes summing to size, lock takes where keys went', () => {
    const map = SyncMap.createSync<string, number>({ values: 'number', shards: 8 });
    expect(map.stats().perShard).toBeUndefined();
    const s0 = map.stats({ shards: true });
    expect(s0.perShard).toHaveLength(8);
    for (let i = 0; i < 200; i++) map.store(`k${i}`, i);
    const s1 = map.stats({ shards: true });
    expect(s1.perShard!.reduce((t, p) => t + p.size, 0)).toBe(200);
    expect(s1.perShard!.filter((p) => p.size > 0).length, 'keys spread over the shards').toBeGreaterThan(4);
    for (let i = 0; i < 8; i++) {
      const took = s1.perShard![i]!.lockAcquisitions - s0.perShard![i]!.lockAcquisitions;
      // Each new key took its shard's lock at least once.
      expect(took).toBeGreaterThanOrEqual(s1.perShard![i]!.size);
    }
    const total = s1.perShard!.reduce((t, p) => t + p.lockAcquisitions, 0) - s0.perShard!.reduce((t, p) => t + p.lockAcquisitions, 0);
    expect(total).toBeLessThanOrEqual(s1.lockAcquisitions - s0.lockAcquisitions);
    map.close();
  });

  it('counts every thread\'s operations, and keeps a worker\'s counts after it exits', async () => {
    const map = SyncMap.createSync<string, number>({ values: 'number', shards: 4 });
    const keys = Array.from({ length: 20 }, (_, i) => `k${i}`);
    keys.forEach((k, i) => map.store(k, i));
    map.range(() => {});
    const control = controlBlock();
    const worker = startWorker('feat9-loader.mjs', { handle: map.handle, keys, loads: 300, misses: 50, control: control.buffer });
    const report = firstMessage<{ loads: number; hits: number; misses: number; found: number }>(worker);
    awaitWord(control, 2, 1);
    expect(map.stats().threads).toBe(2);
    const s = map.stats();
    signal(control, 0);
    const r = await report;
    expect(r).toMatchObject({ hits: 300, found: 0 });
    const during = delta(map.stats(), s);
    expect(during).toMatchObject({ loads: 350, hits: 300, misses: 50, writes: 0 });
    signal(control, 1);
    await exited(worker);
    const after = delta(map.stats(), s);
    expect(after).toMatchObject({ loads: 350, hits: 300, misses: 50 });
    expect(map.stats().threads).toBe(1);
    map.close();
  });

  it('LockedMap counts its loads, hits and misses too', () => {
    const map = LockedMap.createSync<string, number>({ values: 'number' });
    map.store('a', 1);
    const s = map.stats();
    for (let i = 0; i < 100; i++) map.load('a');
    for (let i = 0; i < 20; i++) map.has('b');
    const d = delta(map.stats(), s);
    expect(d).toMatchObject({ loads: 120, hits: 100, misses: 20 });
    map.close();
  });

  for (const Class of [SyncMap, LockedMap]) {
    it(`${Class.name}: writes counts each kind of write once, and no call that changed nothing`, () => {
      const map = Class.createSync<string, string>({ values: 'string' });
      const s = map.stats();
      map.store('a', 'x');
      map.swap('a', 'y');
      map.delete('a');
      map.store('b', 'x');
      expect(map.compareAndDelete('b', 'x')).toBe(true);
      expect(map.loadOrStore('c', 'z').loaded).toBe(false);
      expect(map.compareAndSwap('c', 'z', 'w')).toBe(true);
      expect(map.loadAndDelete('c').loaded).toBe(true);
      expect(delta(map.stats(), s).writes).toBe(8);
      // Each of these finds nothing to change.
      map.delete('a');
      expect(map.compareAndDelete('b', 'x')).toBe(false);
      map.store('d', 'v');
      expect(map.compareAndDelete('d', 'other')).toBe(false);
      expect(map.compareAndSwap('d', 'other', 'w')).toBe(false);
      expect(map.loadOrStore('d', 'u').loaded).toBe(true);
      expect(map.loadAndDelete('absent').loaded).toBe(false);
      expect(delta(map.stats(), s).writes).toBe(9);
      map.close();
    });
  }
});

describe('contention under 2-thread LoadMostlyHits', () => {
  async function loadMostlyHits(map: SyncMap<string, number> | LockedMap<string, number>): Promise<{ loads: number; d: Record<string, number> }> {
    const keys = Array.from({ length: 1000 }, (_, i) => `key-${i}`);
    keys.forEach((k, i) => map.store(k, i));
    map.range(() => {}); // promote them all to the read table: loads from here on are hits on the fast path
    const control = controlBlock();
    const workers = [0, 1].map(() =>
      startWorker('feat9-loader.mjs', { handle: map.handle, keys, loads: 20_000, control: control.buffer }),
    );
    const reports = workers.map((w) => firstMessage<{ loads: number; hits: number }>(w));
    awaitWord(control, 2, 2); // both attached: what attaching costs is not counted below
    const before = map.stats();
    signal(control, 0);
    const done = await Promise.all(reports);
    const after = map.stats(); // both workers still attached: only their loads happened in between
    signal(control, 1);
    await Promise.all(workers.map(exited));
    for (const r of done) expect(r.hits).toBe(r.loads);
    return { loads: done.reduce((s, r) => s + r.loads, 0), d: delta(after, before) };
  }

  it('SyncMap: no lock acquisitions during the loads (and no slow loads)', async () => {
    const map = SyncMap.createSync<string, number>({ values: 'number' });
    const { loads, d } = await loadMostlyHits(map);
    expect(loads).toBe(40_000);
    expect(d.lockAcquisitions).toBe(0);
    expect(d.slowLoads).toBe(0);
    expect(d.loads).toBe(loads);
    expect(d.hits).toBe(loads);
    map.close();
  });

  it('LockedMap: about one lock acquisition (its read lock) per load', async () => {
    const map = LockedMap.createSync<string, number>({ values: 'number' });
    const { loads, d } = await loadMostlyHits(map);
    expect(loads).toBe(40_000);
    expect(d.lockAcquisitions).toBeGreaterThanOrEqual(loads);
    expect(d.lockAcquisitions).toBeLessThanOrEqual(loads * 1.01);
    map.close();
  });
});
