/**
 * Concurrency across real worker threads (2 and 4), all on one map.
 */
import { describe, expect, it } from 'vitest';
import { controlBlock, exited, firstMessage, internal, LockedMap, runWorker, startWorker, SyncMap } from './helpers.js';

function start(control: Int32Array): void {
  Atomics.store(control, 0, 1);
  Atomics.notify(control, 0);
}

describe.each([2, 4])('with %i worker threads', (threads) => {
  it.each([
    ['SyncMap', () => SyncMap.create<string, number>({ values: 'number', shards: 4 })],
    ['LockedMap', () => LockedMap.create<string, number>({ values: 'number' })],
  ] as const)('%s: compare-and-swap increment loops on shared counters end exact', async (_, create) => {
    const map = await create();
    const counters = 8;
    const increments = 20_000;
    for (let c = 0; c < counters; c++) map.store(`counter-${c}`, 0);
    const control = controlBlock();
    const workers = Array.from({ length: threads }, () =>
      startWorker('cas-counter.mjs', { handle: map.handle, counters, increments, control: control.buffer }),
    );
    const results = workers.map((w) => firstMessage<{ retries: number }>(w));
    start(control);
    await Promise.all(results);
    await Promise.all(workers.map(exited));
    let total = 0;
    for (let c = 0; c < counters; c++) total += map.load(`counter-${c}`)!;
    expect(total).toBe(threads * increments);
    for (let c = 0; c < counters; c++) expect(map.load(`counter-${c}`)).toBe((threads * increments) / counters);
    expect(internal.verify(map)).toBe(0);
    map.close();
  });

  it("range while workers store multiples sees every key once, and only multiples (Go's TestConcurrentRange)", async () => {
    const size = 1 << 10;
    const map = await SyncMap.create<number, number>({ keys: 'number', values: 'number', shards: 8 });
    for (let n = 1; n <= size; n++) map.store(n, n);
    const control = controlBlock();
    const workers = Array.from({ length: threads }, (_, g) =>
      startWorker('store-multiples.mjs', { handle: map.handle, size, g: g + 1, control: control.buffer }),
    );
    const results = workers.map((w) => firstMessage<{ stores: number }>(w));
    // Range only once every writer is storing.
    for (let running; (running = Atomics.load(control, 2)) < threads; ) Atomics.wait(control, 2, running, 100);
    const until = Date.now() + 1000;
    for (let iteration = 0; iteration < 100 || Date.now() < until; iteration++) {
      const seen = new Set<number>();
      map.range((k, v) => {
        if (v % k !== 0) throw new Error(`while storing multiples of ${k}, range saw ${v}`);
        if (seen.has(k)) throw new Error(`range visited key ${k} twice`);
        seen.add(k);
      });
      expect(seen.size).toBe(size);
    }
    Atomics.store(control, 1, 1);
    const stores = (await Promise.all(results)).reduce((sum, r) => sum + r.stores, 0);
    await Promise.all(workers.map(exited));
    expect(stores).toBeGreaterThan(0);
    map.close();
  });

  it.each([
    ['SyncMap', () => SyncMap.create<string, string>({ values: 'string', shards: 4 })],
    ['LockedMap', () => LockedMap.create<string, string>({ values: 'string' })],
  ] as const)('%s: readers never see a torn or recycled value while writers overwrite', async (_, create) => {
    const map = await create();
    const control = controlBlock();
    const roles = Array.from({ length: threads }, (_, i) => (i % 2 === 0 ? 'writer' : 'reader'));
    if (!roles.includes('reader')) roles.push('reader');
    const workers = roles.map((role, i) =>
      startWorker('overwrite.mjs', { handle: map.handle, role, keys: 64, control: control.buffer, seed: i + 1 }),
    );
    const results = workers.map((w) => firstMessage<{ operations: number; bad: number }>(w));
    await new Promise((resolve) => setTimeout(resolve, 1500));
    Atomics.store(control, 1, 1);
    const done = await Promise.all(results);
    await Promise.all(workers.map(exited));
    const reads = done.filter((_, i) => roles[i] === 'reader').reduce((sum, r) => sum + r.operations, 0);
    expect(reads).toBeGreaterThan(1000);
    expect(done.map((r) => r.bad)).toEqual(done.map(() => 0));
    expect(internal.verify(map)).toBe(0);
    map.close();
  });
});

describe('visibility', () => {
  it("a worker sees the main thread's write as soon as store returns, and the reverse", async () => {
    const map = await SyncMap.create<string, number>({ values: 'number' });
    const control = controlBlock();
    const rounds = 5000;
    const worker = startWorker('ping-pong.mjs', { handle: map.handle, rounds, control: control.buffer });
    const result = firstMessage<{ stale: number }>(worker);
    let stale = 0;
    for (let i = 1; i <= rounds; i++) {
      map.store(`main-${i}`, i);
      Atomics.store(control, 1, i);
      Atomics.notify(control, 1);
      while (Atomics.load(control, 2) !== i) Atomics.wait(control, 2, i - 1, 1000);
      if (map.load(`worker-${i}`) !== i) stale++;
    }
    expect((await result).stale).toBe(0);
    expect(stale).toBe(0);
    await exited(worker);
    map.close();
  });
});

describe('memory', () => {
  it('1M store/delete operations of churn end with memory in use back near where it started', async () => {
    const map = await SyncMap.create<string, string>({ values: 'string', shards: 8 });
    for (let i = 0; i < 1000; i++) map.store(`resident-${i}`, 'r'.repeat(50));
    internal.collect(map);
    const before = map.stats();
    const control = controlBlock();
    const threads = 2;
    const workers = Array.from({ length: threads }, (_, id) =>
      startWorker('churn.mjs', { handle: map.handle, id, pairs: 250_000, keys: 500, control: control.buffer }),
    );
    const results = workers.map((w) => firstMessage<{ operations: number }>(w));
    start(control);
    const operations = (await Promise.all(results)).reduce((sum, r) => sum + r.operations, 0);
    await Promise.all(workers.map(exited));
    expect(operations).toBe(1_000_000);
    // Deleted keys linger in read tables until their shard is promoted again;
    // a round of misses on absent keys triggers that, then reclamation frees them.
    for (let round = 0; round < 3; round++) for (let i = 0; i < 4000; i++) map.load(`absent-${i}`);
    internal.collect(map);
    const after = map.stats();
    expect(after.size).toBe(1000);
    expect(after.epochAdvances).toBeGreaterThan(before.epochAdvances);
    // Near: within 256 KiB of the start (tables sized for the peak, a few epochs of limbo),
    // but the scratch regions the workers left in their slots for the next threads.
    const inUse = after.bytesInUse - after.spareScratchBytes;
    expect(Math.abs(inUse - before.bytesInUse)).toBeLessThan(256 << 10);
    map.close();
  });

  it('a worker that ends without close() gives its slot back', async () => {
    const map = await SyncMap.create<string, number>({ values: 'number' });
    for (let id = 0; id < 3; id++) {
      const { slots } = await runWorker<{ slots: number }>('attach-and-exit.mjs', { handle: map.handle, id });
      expect(slots).toBe(2);
    }
    expect(map.stats().threads).toBe(1);
    expect([...map.keys()].sort()).toEqual(['from-0', 'from-1', 'from-2']);
    map.close();
  });
});
