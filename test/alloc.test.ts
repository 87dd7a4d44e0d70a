/**
 * The allocator (assembly/alloc.ts, sizeclass.ts): classes that cover every
 * size with bounded waste, and blocks that are reused after they are freed.
 */
import { describe, expect, it } from 'vitest';
import { internal, SyncMap } from './helpers.js';

describe('size classes', () => {
  const map = SyncMap.createSync();
  const core = internal.coreOfMap(map);

  it('give every size a block at least that large, wasting at most 7 bytes to 256, 15 to 1 KiB, an eighth above', () => {
    const sizes = [...Array(4097).keys(), ...Array.from({ length: 2000 }, (_, i) => Math.floor(4097 * 1.0091 ** i)), 1 << 28];
    let last = -1;
    for (const size of sizes.filter((s) => s <= 1 << 28)) {
      const c = core.sm_sizeClassOf(size);
      const block = core.sm_classSize(c);
      expect(block).toBeGreaterThanOrEqual(Math.max(size, 8));
      const allowed = size <= 256 ? 7 : size <= 1024 ? 15 : Math.ceil(size / 8);
      expect(block - Math.max(size, 8)).toBeLessThanOrEqual(allowed);
      expect(c).toBeGreaterThanOrEqual(last); // monotonic
      last = c;
    }
    expect(core.sm_sizeClassOf((1 << 28) + 1)).toBe(-1);
  });

  it('round-trip: each class is the class of its own size, sizes increase, all 8-aligned', () => {
    let previous = 0;
    for (let c = 0; ; c++) {
      const size = core.sm_classSize(c);
      if (size === 0) break;
      expect(core.sm_sizeClassOf(size)).toBe(c);
      expect(size).toBeGreaterThan(previous);
      expect(size % 8).toBe(0);
      previous = size;
    }
    expect(previous).toBe(1 << 28);
  });
});

describe('the heap', () => {
  it('reuses freed blocks: overwriting values in place does not grow it', () => {
    const map = SyncMap.createSync<string, string>({ values: 'string' });
    for (let i = 0; i < 1000; i++) map.store(`k${i}`, 'x'.repeat(i % 300));
    internal.collect(map);
    const heap = map.stats().heapBytes;
    for (let round = 0; round < 20; round++) {
      for (let i = 0; i < 1000; i++) map.store(`k${i}`, 'y'.repeat((i + round) % 300));
    }
    internal.collect(map);
    // Only the blocks waiting in a retire batch or the last epochs' limbo are new: at most
    // three batches of 64 KiB (reclaim.ts, BATCH_BYTES), against 20 rounds of ~150 KB written.
    expect(map.stats().heapBytes - heap).toBeLessThan(3 * (64 << 10));
    map.close();
  });
});

describe('per-thread block caches', () => {
  it("a dead thread's cached free blocks go back to the shared lists when it is reaped", () => {
    const map = SyncMap.createSync<string, string>({ values: 'string', shards: 1 });
    const value = 'v'.repeat(480); // a 488-byte block: a cached class
    // The victim frees 48 such blocks into its own cache (32 stay there, 16 spill).
    const victim = internal.attachAs<string, string>(map.handle, 7001);
    for (let i = 0; i < 48; i++) victim.store(`k${i}`, value);
    for (let i = 0; i < 48; i++) victim.delete(`k${i}`);
    internal.collect(victim);
    internal.abandonMap(victim);
    expect(internal.reapThread(map, 7001)).toBe(1);
    const heap = map.stats().heapBytes;
    // The same blocks serve the next 48 values: the heap does not grow by 32 × 488 bytes.
    for (let i = 0; i < 48; i++) map.store(`k${i}`, value);
    expect(map.stats().heapBytes - heap).toBeLessThan(4096);
    map.close();
  });
});
