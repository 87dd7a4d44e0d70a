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
