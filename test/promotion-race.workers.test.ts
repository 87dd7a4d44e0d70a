/**
 * A lock-free lookup racing a promotion. Promotion turns the EXPUNGED entries
 * of the read table it replaces into tombstones (assembly/map.ts,
 * retireReadLocked) while readers may still probe that table. A lookup that
 * matched a slot and then read its entry word a second time could get the
 * tombstone (1) instead of the entry, and the next atomic access through it
 * trapped ("operation does not support unaligned accesses"). clear() in a loop
 * makes promotions of tables full of expunged entries constant.
 */
import { describe, expect, it } from 'vitest';
import { SyncMap, controlBlock, firstMessage, internal, startWorker } from './helpers.js';

describe('lookups racing promotions and clear()', () => {
  it('never take a tombstone for an entry: 3 workers, every operation, the main thread clearing', async () => {
    const map = SyncMap.createSync<number, number>({ keys: 'number', values: 'number', shards: 4, maxMemoryBytes: 32 << 20 });
    const control = controlBlock();
    const workers = [1, 2, 3].map((seed) =>
      startWorker('mixed-ops.mjs', { handle: map.handle, control: control.buffer, keys: 200, seed }),
    );
    const reports = workers.map((worker) => firstMessage<{ operations: number; failure: string | null }>(worker));
    const until = Date.now() + 4000;
    let clears = 0;
    while (Date.now() < until) {
      map.clear();
      clears++;
      for (let i = 0; i < 50; i++) {
        const key = (i * 37) % 200;
        if (i & 1) map.store(key, key);
        else map.delete(key);
      }
      await new Promise((resolve) => setImmediate(resolve));
    }
    Atomics.store(control, 0, 1);
    const results = await Promise.all(reports);
    for (const { failure } of results) expect(failure).toBeNull();
    expect(results.reduce((sum, r) => sum + r.operations, 0)).toBeGreaterThan(10_000);
    expect(clears).toBeGreaterThan(100);
    expect(internal.verify(map)).toBe(0);
    let seen = 0;
    map.range(() => {
      seen++;
    });
    expect(seen).toBe(map.size);
    map.close();
  });
});
