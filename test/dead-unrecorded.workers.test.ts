/**
 * A worker that died holding something, before anyone could know: a thread
 * learns that a worker it created has exited only from the Worker's 'exit'
 * event, on its own event loop (bindings/liveness.ts). Until this thread
 * returns to that loop, no thread can reap the dead one, so nothing this
 * thread calls may wait for it without end: a lock gives up after
 * lockTimeoutMs, and a free never waits at all. (A free that waited out a dead
 * coalescer froze every thread of a kill-torture run for good.)
 */
import { describe, expect, it } from 'vitest';
import { exited, firstMessage, internal, nextImmediate, sleep, startWorker, SyncMap, SyncMapError, until } from './helpers.js';

const KEYS = 64;
// Values of ~2 KiB: blocks of a class no thread caches, so every free of one
// goes to the shared lists (alloc.ts, CACHED_CLASSES).
const valueOf = (i: number, round: number): string => `${round}:${i}:`.padEnd(2000, 'x');

/** Overwrites every key (retiring its old value) and frees what is retired. */
function overwriteAll(map: SyncMap<string, string>, round: number): void {
  for (let i = 0; i < KEYS; i++) map.store(`k${i}`, valueOf(i, round));
  internal.collect(map);
}

describe('a worker that died unrecorded', () => {
  // Crash point 1 is just after the lists are frozen (marking); 3 is in the
  // rebuild, after the lists were emptied to be refilled from the bitmap.
  for (const [n, phase] of [[1, 'marking'], [3, 'rebuilding']] as const) {
    it(`while coalescing (${phase}): frees do not wait for it, and its reaping puts every block back`, async () => {
      const map = internal.createWithBuild<string, string>('debug', {
        values: 'string', shards: 2, lockTimeoutMs: 200, maxMemoryBytes: 8 << 20,
      });
      const core = internal.coreOfMap(map);
      overwriteAll(map, 0);
      const worker = startWorker('dead-coalescer.mjs', { handle: map.handle, n });
      expect(await firstMessage<{ trapped: boolean }>(worker)).toEqual({ trapped: true });
      // Not awaited: its 'exit' event cannot run while this thread works on.
      void worker.terminate();

      for (let round = 1; round <= 4; round++) overwriteAll(map, round);
      // Every old value was freed while its list was frozen: set aside, not waited for.
      expect(core.sm_deferredFrees()).toBeGreaterThanOrEqual(KEYS * 3);
      for (let i = 0; i < KEYS; i++) expect(map.load(`k${i}`)).toBe(valueOf(i, 4));

      await exited(worker);
      await until(() => core.sm_deferredFrees() === 0, 'the reaping to give the deferred blocks back');
      expect(map.stats().threads).toBe(1);
      expect(internal.verify(map)).toBe(0);
      // The blocks are back on their lists: overwriting again takes them, not new memory.
      overwriteAll(map, 5);
      const heapBytes = map.stats().heapBytes;
      for (let round = 6; round <= 9; round++) overwriteAll(map, round);
      expect(map.stats().heapBytes).toBe(heapBytes);
      for (let i = 0; i < KEYS; i++) expect(map.load(`k${i}`)).toBe(valueOf(i, 9));
      map.close();
    });
  }

  it('inside an operation: snapshot() gives up after lockTimeoutMs, leaving the map writable, and succeeds once the death is known', async () => {
    const map = await SyncMap.create<string, number>({ values: 'number', shards: 4, lockTimeoutMs: 200 });
    for (let i = 0; i < 100; i++) map.store(`before-${i}`, i);
    const worker = startWorker('dead-pinned.mjs', { handle: map.handle });
    expect(await firstMessage<{ status: number }>(worker)).toEqual({ status: internal.Status.OK });
    void worker.terminate();

    let code: string | undefined;
    try {
      map.snapshot();
    } catch (error) {
      code = (error as SyncMapError).code;
    }
    expect(code).toBe('ERR_SYNCMAP_LOCK_TIMEOUT');
    // Nothing stays locked or frozen: a write to every shard succeeds at once.
    for (let i = 0; i < 100; i++) map.store(`after-${i}`, i);
    expect(map.size).toBe(200);

    await exited(worker);
    const copy = map.snapshot();
    expect(copy.size).toBe(200);
    expect(copy.get('before-7')).toBe(7);
    expect(copy.get('after-99')).toBe(99);
    expect(internal.verify(map)).toBe(0);
    map.close();
  });
});

describe("a versioned map's sweeper", () => {
  it('never waits for a coalesce a dead thread left under way: its tombstones come from elsewhere', async () => {
    // A versioned map's sweep allocates a tombstone for each value it expires.
    // With the free lists frozen by a coalescer that died, an allocation that
    // finds nothing waits for the COALESCE lock; in the sweeper (on the event
    // loop that may be the one to hear of the death) that wait lasted
    // lockTimeoutMs per tombstone, a shard lock held all the while.
    const map = internal.createWithBuild<string, string>('debug', {
      values: 'string', versioned: true, ttlMs: 60_000, shards: 4, lockTimeoutMs: 3000,
      maxMemoryBytes: 64 << 20, maxValueBytes: 4096, maxKeyBytes: 64,
    });
    // A heap over 8 MiB and under half in use: allocations look in free memory
    // before they grow the heap (assembly/memory.ts, heapMayGrow).
    for (let i = 0; i < 12_000; i++) map.store(`fill${i}`, 'f'.repeat(1000));
    for (let i = 0; i < 12_000; i++) if (i % 10) map.delete(`fill${i}`);
    const SHORT = 5000;
    for (let i = 0; i < SHORT; i++) map.store(`short${i}`, 'e', { ttlMs: 1 });
    const worker = startWorker('dead-coalescer.mjs', { handle: map.handle, n: 1 });
    expect(await firstMessage<{ trapped: boolean }>(worker)).toEqual({ trapped: true });
    const before = map.stats();

    const stop = map.startSweeper({ intervalMs: 1 });
    await until(() => map.stats().expirations - before.expirations === SHORT, 'the sweeper to expire every short-lived key');
    stop();
    const after = map.stats();
    expect(after.lockContentions, 'no wait for the COALESCE lock').toBe(before.lockContentions);
    expect(after.tombstones - before.tombstones).toBe(SHORT);

    await worker.terminate();
    await exited(worker);
    await until(() => map.stats().threads === 1, 'the coalescer to be reaped');
    expect(internal.verify(map)).toBe(0);
    expect(internal.heapUnaccounted(map)).toBe(0);
    map.close();
  });
});

describe("a versioned map's sweep without memory for tombstones", () => {
  it('leaves a value to the next tick while a coalesce is under way, and expires it unrecorded once none is', async () => {
    // Expiring a value unrecorded sends every delta client back to the whole
    // map: not for a merge of free memory that the sweep would not wait for.
    const map = internal.createWithBuild<string, number>('debug', { values: 'number', versioned: true, ttlMs: 60_000, shards: 2 });
    const core = internal.coreOfMap(map);
    for (let i = 0; i < 50; i++) map.store(`short${i}`, i, { ttlMs: 1 });
    const before = map.version;
    const worker = startWorker('dead-coalescer.mjs', { handle: map.handle, n: 1 });
    expect(await firstMessage<{ trapped: boolean }>(worker)).toEqual({ trapped: true });
    await sleep(20);
    core.sm_tick(Date.now());
    const { SWEEP_SHORT, SWEEP_UNRECORDED } = internal.CoreFlag;
    const sweepWithoutMemory = (): number => {
      core.sm_debugFailAllocation(1); // every allocation fails
      const r = core.sm_sweep(4096);
      core.sm_debugFailAllocation(0);
      return r;
    };
    const deferred = sweepWithoutMemory();
    expect(deferred & SWEEP_SHORT, 'stopped for the coalesce').toBe(SWEEP_SHORT);
    expect(deferred & 0xffff).toBe(0);
    expect([map.size, map.version, map.changesSince(before).reset]).toEqual([50, before, false]);

    await worker.terminate();
    await exited(worker);
    await until(() => map.stats().threads === 1, 'the coalescer to be reaped');
    const swept = sweepWithoutMemory();
    expect(swept & (SWEEP_SHORT | SWEEP_UNRECORDED)).toBe(SWEEP_UNRECORDED);
    expect(swept & 0xffff).toBe(50);
    expect([map.size, map.stats().tombstones, map.changesSince(before).reset]).toEqual([0, 0, true]);
    expect(internal.verify(map)).toBe(0);
    map.close();
  });
});

describe("a versioned map's own compaction", () => {
  it("never waits for a shard's lock: a busy shard keeps its tombstones until the next compaction", async () => {
    // The compaction a delete queues runs on the deleting thread's event loop
    // (here, after the sweeper's deletes, on the thread that started it): the
    // thread that may be the one to hear that the lock's holder has exited.
    // A wait there held every thread behind that lock for lockTimeoutMs.
    const map = SyncMap.createSync<string, number>({ values: 'number', versioned: true, shards: 2, lockTimeoutMs: 3000 });
    const inShard: string[][] = [[], []];
    for (let i = 0; inShard[0]!.length < 700 || inShard[1]!.length < 700; i++) {
      const sizes = map.stats({ shards: true }).perShard!.map((s) => s.size);
      map.store(`k${i}`, i);
      const grew = map.stats({ shards: true }).perShard!.findIndex((s, shard) => s.size > sizes[shard]!);
      inShard[grew]!.push(`k${i}`);
    }
    const [held, free] = inShard as [string[], string[]];
    for (let i = 0; i < 600; i++) map.delete(held[i]!);
    for (let i = 0; i < 600; i++) map.delete(free[i]!);
    await nextImmediate(); // a compaction up to the low watermark, 0: nothing goes
    expect(map.stats().tombstones).toBe(1200);

    const worker = startWorker('mid-changes.mjs', { handle: map.handle }); // holds shard 0's lock
    expect(await firstMessage<{ status: number }>(worker)).toEqual({ status: internal.Status.OK });
    map.setLowWatermark(map.version);
    const before = map.stats();
    map.delete(free[600]!); // queues a compaction
    await nextImmediate();
    const after = map.stats();
    expect(after.compactions - before.compactions, "the free shard's tombstones").toBe(600);
    expect(after.tombstones, "the busy shard's, and the newest").toBe(601);
    expect(after.lockContentions, 'no wait for the busy lock').toBe(before.lockContentions);
    expect(after.lockWaitMs).toBe(before.lockWaitMs);
    expect(map.changesSince(0).reset, 'the watermark rose all the same').toBe(true);

    await worker.terminate(); // mid-operation, holding the lock
    await exited(worker);
    await until(() => map.stats().threads === 1, 'the holder to be reaped');
    // The low watermark has not risen: the next compaction runs for the shard it passed over.
    map.delete(free[601]!);
    await nextImmediate();
    expect(map.stats().compactions - after.compactions, 'the busy shard compacted at the next chance').toBe(600);
    expect(map.stats().tombstones, 'the two newer than the low watermark').toBe(2);
    expect(internal.verify(map)).toBe(0);
    map.close();
  });
});
