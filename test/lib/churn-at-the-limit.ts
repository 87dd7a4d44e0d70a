/**
 * Issue 8, section 1: churn at the memory limit, declared once for the files
 * that run it with 2 and with 4 workers. A live set held at about 70% of
 * maxMemoryBytes (32 MiB) is replaced by the workers making 10M store/delete
 * operations in all, values of random size (8 B to 4 KiB): no write may fail
 * with ERR_SYNCMAP_FULL, and once they are done bytesInUse must be within 10%
 * of
 *
 *   Σ (key + value bytes) + n × PER_ENTRY + size-class rounding + scratchBytes
 *
 * (PER_ENTRY = 136 bytes per live entry: its parts are explained in
 * test/fixtures/issue8-churn-run.mjs, for the README's Limits to quote.)
 */
import { describe, expect, it } from 'vitest';
import { testSeed, withSeed } from '../helpers.js';
// @ts-expect-error: a fixture module in plain JavaScript
import { MAX_MEMORY, PER_ENTRY, churn } from '../fixtures/issue8-churn-run.mjs';

const OPERATIONS = Number(process.env.SYNCMAP_CHURN_OPERATIONS ?? 10_000_000);
const MiB = 1 << 20;

/** Declares the test for `workers` workers (one file each, so that each runs in a fresh vitest worker). */
export function churnAtTheLimit(workers: number): void {
  describe('issue 8 §1: churn at the memory limit', () => {
    it(`32 MiB, live set at 70 percent, ${workers} workers, ${OPERATIONS / 1e6}M random-size store/delete operations: never ERR_SYNCMAP_FULL; bytesInUse ends within 10 percent of live bytes + per-entry overhead`, async () => {
      const seed = testSeed(7000 + workers);
      await withSeed(seed, async () => {
        const r = await churn({ workers: workers, operations: OPERATIONS, seed });
        const overhead = (r.stats.bytesInUse - r.stats.scratchBytes - r.live) / r.held;
        console.log(
          `churn, ${workers} workers: ${r.operations} operations in ${r.seconds.toFixed(1)} s; ERR_SYNCMAP_FULL ${r.full.join(' + ')} times; ` +
            `${r.held} live keys (${r.liveAtStart} at the start), ${(r.live / MiB).toFixed(2)} MiB of keys and values; ` +
            `bytesInUse ${(r.stats.bytesInUse / MiB).toFixed(2)} MiB (${((r.stats.bytesInUse / MAX_MEMORY) * 100).toFixed(1)}% of maxMemoryBytes), ` +
            `formula ${(r.expected / MiB).toFixed(2)} MiB; observed overhead ${overhead.toFixed(1)} bytes per live entry ` +
            `(formula: ${PER_ENTRY} + rounding ${(r.rounding / r.held).toFixed(1)})`,
        );
        expect(r.full, `ERR_SYNCMAP_FULL; stats at the first: ${r.firstFull.join('; ')}`).toEqual(r.full.map(() => 0));
        expect(r.wrong).toEqual([]);
        expect(r.held).toBe(r.liveAtStart);
        expect(r.stats.size).toBe(r.held);
        expect(r.verify).toBe(0);
        expect(r.stats.threads).toBe(1);
        expect(Math.abs(r.stats.bytesInUse - r.expected), `bytesInUse ${r.stats.bytesInUse}, formula ${r.expected}`).toBeLessThanOrEqual(0.1 * r.expected);
      });
    });
  });
}

/**
 * Far below the limit: the same churn in a 256 MiB map whose live set is about
 * 8 MiB. Pages once touched stay committed, so the heap (its high-water mark)
 * must stay near what is live, not creep toward maxMemoryBytes: before the
 * allocator split coalesced runs and reused free memory ahead of growing
 * (alloc.ts SPLITTABLE, memory.ts heapMayGrow), it grew by megabytes a second.
 */
export function churnFarBelowTheLimit(workers: number, operations: number): void {
  describe('issue 8 §1: churn far below the memory limit', () => {
    it(`256 MiB, live set of 8 MiB, ${workers} workers, ${operations / 1e6}M operations: the heap stays within 3x bytesInUse + 8 MiB`, async () => {
      const seed = testSeed(7100 + workers);
      await withSeed(seed, async () => {
        const r = await churn({ workers, operations, seed, maxMemory: 256 * MiB, liveBytes: 8 * MiB });
        const { heapBytes, bytesInUse } = r.stats;
        console.log(
          `churn far below the limit, ${workers} workers: ${r.operations} operations in ${r.seconds.toFixed(1)} s; ` +
            `bytesInUse ${(bytesInUse / MiB).toFixed(2)} MiB, heap ${(heapBytes / MiB).toFixed(2)} MiB of 256 MiB`,
        );
        expect(r.full).toEqual(r.full.map(() => 0));
        expect(r.wrong).toEqual([]);
        expect(r.verify).toBe(0);
        expect(heapBytes, `heap ${heapBytes}, in use ${bytesInUse}`).toBeLessThanOrEqual(3 * bytesInUse + 8 * MiB);
      });
    });
  });
}
