/**
 * clear() is one step to writers (README, Guarantees): no thread can see one
 * shard emptied, then write to another and lose that write to the same clear.
 * The writes that take no lock, overwrites of a key in read (by key, or by the
 * place the read cache recorded), are the ones that once slipped past a clear
 * under way. Real worker threads: a clearer, and writers that check it on every
 * round (test/fixtures/clear-pair.mjs), while the main thread takes snapshots
 * and checks that each writer's fresh keys present are an unbroken run that
 * reaches its last insert.
 */
import { expect, it } from 'vitest';
import { SyncMap, controlBlock, exited, firstMessage, internal, shardOf, sleep, startWorker, testSeed, withSeed } from './helpers.js';

const WRITERS = 2;
const POOL = 3;
const SHARDS = 8;
const RUN_MS = 4000;
const INSERTED = 8; // control word of writer 0's inserts (see the fixture)

interface WriterResult {
  rounds: number;
  overwrites: number;
  byPlace: number;
  inserts: number;
  violations: number;
  examples: unknown[];
}

it('no clear takes effect both before and after one write of a thread, and snapshots see whole clears', async () => {
  const seed = testSeed(0x5eed);
  await withSeed(seed, async () => {
    const map = SyncMap.createSync<string, number>({ shards: SHARDS, values: 'number', lockTimeoutMs: 20_000 });
    /** `n` keys `${prefix}${i}` that land in `shard`. */
    const keysIn = (shard: number, n: number, prefix: string): string[] => {
      const keys: string[] = [];
      for (let i = 0; keys.length < n; i++) if (shardOf(map, `${prefix}${i}`) === shard) keys.push(`${prefix}${i}`);
      return keys;
    };
    // The sentinels in the shard a clear empties first, the pool keys in the one it empties
    // last: the window in which a sentinel is gone and a pool key not yet is as wide as it gets.
    const sentinels = keysIn(0, WRITERS, 's');
    const pool = keysIn(SHARDS - 1, WRITERS * POOL, 'p');
    const control = controlBlock(INSERTED + WRITERS);
    const start = <T>(data: object) => {
      const worker = startWorker('clear-pair.mjs', { handle: map.handle, control: control.buffer, ...data });
      return { worker, answer: firstMessage<T>(worker) };
    };
    const clearer = start<{ clears: number }>({ role: 'clearer', seed });
    const writers = Array.from({ length: WRITERS }, (_, w) =>
      start<WriterResult>({
        role: 'writer', w, seed: seed + 1 + w, sentinel: sentinels[w], pool: pool.slice(w * POOL, (w + 1) * POOL),
      }));

    let snapshots = 0;
    const broken: unknown[] = [];
    const until = Date.now() + RUN_MS;
    while (Date.now() < until) {
      const inserted = Array.from({ length: WRITERS }, (_, w) => Atomics.load(control, INSERTED + w));
      const present: number[][] = Array.from({ length: WRITERS }, () => []);
      for (const key of map.snapshot().keys()) {
        const fresh = /^f(\d+)_(\d+)$/.exec(key);
        if (fresh) present[Number(fresh[1])]!.push(Number(fresh[2]));
      }
      snapshots++;
      present.forEach((indices, w) => {
        if (indices.length === 0) return;
        indices.sort((x, y) => x - y);
        const low = indices[0]!;
        const top = indices[indices.length - 1]!;
        // Inserts erased by a clear are all those before it: what is left runs unbroken to the last.
        if (indices.length !== top - low + 1 || top < inserted[w]! - 1) broken.push({ w, low, top, n: indices.length });
      });
      await sleep(1);
    }
    Atomics.store(control, 0, 1);
    const results = await Promise.all(writers.map((writer) => writer.answer));
    const { clears } = await clearer.answer;
    await Promise.all([clearer, ...writers].map(({ worker }) => exited(worker)));

    expect(results.map((r) => [r.violations, r.examples])).toEqual(results.map(() => [0, []]));
    expect(broken).toEqual([]);
    // The run had something to catch: clears under way while the writers overwrote and inserted.
    expect(clears).toBeGreaterThan(100);
    expect(snapshots).toBeGreaterThan(50);
    for (const r of results) {
      expect(r.overwrites).toBeGreaterThan(1000);
      expect(r.byPlace).toBeGreaterThan(100); // stores that took the read cache's place, no key
      expect(r.inserts).toBeGreaterThan(1000);
    }
    expect(internal.verify(map)).toBe(0);
    map.close();
  });
});
