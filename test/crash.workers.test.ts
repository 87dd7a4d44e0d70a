/**
 * Crash consistency: Worker.terminate() stops a thread at any instruction,
 * possibly inside a critical section, holding a shard lock and an epoch pin.
 * The thread that created the worker reaps it on 'exit': the map must be
 * consistent, unlocked, and reclaiming memory again.
 */
import { describe, expect, it } from 'vitest';
import { controlBlock, exited, firstMessage, internal, startWorker, SyncMap, SyncMapError } from './helpers.js';

async function running(control: Int32Array): Promise<void> {
  while (Atomics.load(control, 0) === 0) await new Promise((resolve) => setTimeout(resolve, 1));
}

describe('a worker terminated while writing', () => {
  it('leaves the map consistent and usable, again and again', async () => {
    const map = await SyncMap.create<string, unknown>({ shards: 4, lockTimeoutMs: 10_000 });
    // Until at least three terminations landed inside a critical section.
    let round = 0;
    for (; round < 12 || (map.stats().locksRecovered < 3 && round < 100); round++) {
      const control = controlBlock();
      const worker = startWorker('busy-writer.mjs', { handle: map.handle, control: control.buffer, seed: round + 1 });
      await running(control);
      // Let it write for a while, with the main thread writing too.
      const until = Date.now() + 5 + ((round * 7) % 40);
      for (let i = 0; Date.now() < until; i++) map.store(`main-${i % 100}`, i);
      await worker.terminate();
      await exited(worker);
      // The reaper ran on 'exit' (before this test's own listener).
      expect(map.stats().threads).toBe(1);
      expect(internal.verify(map)).toBe(0);
      // Every shard's lock is free: a write to each succeeds at once.
      for (let i = 0; i < 200; i++) map.store(`after-${round}-${i}`, i);
      let counted = 0;
      map.range(() => {
        counted++;
      });
      expect(counted).toBe(map.size);
    }
    expect(map.stats().locksRecovered).toBeGreaterThanOrEqual(3);
    console.log(`${map.stats().locksRecovered} locks recovered in ${round} terminations`);
    map.close();
  });

  it('that held a lock: the creator, blocked on that lock, times out; once reaped, the lock works', async () => {
    const map = await SyncMap.create<string, number>({ values: 'number', shards: 1, lockTimeoutMs: 300 });
    map.store('present', 1);
    map.load('present'); // one miss promotes the one-key dirty table: reads stop needing the lock
    const worker = startWorker('dead-lock-holder.mjs', { handle: map.handle });
    const { owner } = await firstMessage<{ owner: number }>(worker);
    expect(owner).toBeGreaterThan(1);
    // Terminate without yielding: the 'exit' event cannot run while this thread waits.
    void worker.terminate();
    let code: string | undefined;
    try {
      map.store('new-key', 2); // a new key needs shard 0's lock
    } catch (error) {
      code = (error as SyncMapError).code;
    }
    expect(code).toBe('ERR_SYNCMAP_LOCK_TIMEOUT');
    // Unchanged, and readable meanwhile: loads of keys in the read table never lock.
    expect(map.has('new-key')).toBe(false);
    expect(map.load('present')).toBe(1);
    await exited(worker);
    map.store('new-key', 2);
    expect(map.load('new-key')).toBe(2);
    expect(map.stats().locksRecovered).toBe(1);
    expect(internal.verify(map)).toBe(0);
    map.close();
  });

  it('that was pinned: reclamation does not stay held back', async () => {
    const map = await SyncMap.create<string, string>({ values: 'string', shards: 2 });
    for (let i = 0; i < 100; i++) map.store(`k${i}`, 'x');
    const control = controlBlock();
    const worker = startWorker('load-loop.mjs', { handle: map.handle, control: control.buffer });
    await running(control);
    await worker.terminate();
    await exited(worker);
    internal.collect(map);
    const before = map.stats();
    for (let i = 0; i < 100_000; i++) map.store(`k${i % 100}`, `value ${i}`);
    internal.collect(map);
    const after = map.stats();
    expect(after.epochAdvances).toBeGreaterThan(before.epochAdvances + 100);
    // 100,000 overwritten values were freed, not kept in limbo.
    expect(after.bytesInUse - before.bytesInUse).toBeLessThan(64 << 10);
    map.close();
  });
});
