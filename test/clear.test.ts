/**
 * clear() locks only the shards that hold tables (or are locked), and keeps
 * writers from seeing it half done by making an insert into a shard without
 * tables wait for it (assembly/map.ts, mapClear and lockForInsert). One thread
 * plays a dead one here (internal.attachAs, its owner id written into a lock
 * word): its death is recorded only when the test says so, as its creator's
 * 'exit' event would.
 */
import { describe, expect, it } from 'vitest';
import { internal, shardOf, type SyncMap, type SyncMapError } from './helpers.js';

const DEAD = 900_001;
const LOCK_TIMEOUT_MS = 200;

/** A key that lands in another shard than `key` (`same`: in the same one). */
function keyBeside(map: SyncMap<string, number>, key: string, same = false): string {
  const home = shardOf(map, key);
  for (let i = 0; ; i++) if ((shardOf(map, `beside-${i}`) === home) === same) return `beside-${i}`;
}

function codeOf(run: () => unknown): string | undefined {
  try {
    run();
  } catch (error) {
    return (error as SyncMapError).code;
  }
  return undefined;
}

function lockTakes(map: SyncMap<string, number>): number[] {
  return map.stats({ shards: true }).perShard!.map((s) => s.lockAcquisitions);
}

describe('clear()', () => {
  it('takes the locks of the shards that hold tables only', () => {
    const map = internal.createWithBuild<string, number>('release', { values: 'number', shards: 8 });
    const home = shardOf(map, 'only');
    map.clear();
    map.store('only', 1);
    const before = lockTakes(map);
    map.clear();
    const taken = lockTakes(map).map((n, i) => n - before[i]!);
    expect(taken).toEqual(taken.map((_, i) => (i === home ? 1 : 0)));
    expect(map.size).toBe(0);
    // Its tables are gone with its keys: the next clear takes no shard's lock at all.
    const again = lockTakes(map);
    map.clear();
    expect(lockTakes(map)).toEqual(again);
    expect(internal.verify(map)).toBe(0);
    map.close();
  });

  it('with 64 shards, locks the two occupied shards only, in either word of the occupied set', () => {
    const map = internal.createWithBuild<string, number>('release', { values: 'number', shards: 64 });
    const keys = Array.from({ length: 200 }, (_, i) => `k${i}`);
    const low = keys.find((k) => shardOf(map, k) < 32)!;
    const high = keys.find((k) => shardOf(map, k) >= 32)!;
    const occupied = new Set([shardOf(map, low), shardOf(map, high)]);
    map.clear(); // shardOf occupied the shards it tried
    map.store(low, 1);
    map.store(high, 2);
    const before = lockTakes(map);
    map.clear();
    const taken = lockTakes(map).map((n, i) => n - before[i]!);
    expect(taken).toEqual(taken.map((_, i) => (occupied.has(i) ? 1 : 0)));
    expect([map.size, map.load(low), map.load(high)]).toEqual([0, undefined, undefined]);
    // Both unmarked: the next clear takes no lock, and keys come back into the same shards.
    const again = lockTakes(map);
    map.clear();
    expect(lockTakes(map)).toEqual(again);
    map.store(high, 3);
    expect(map.load(high)).toBe(3);
    expect(internal.verify(map)).toBe(0);
    map.close();
  });

  it('under way (its thread dead, unrecorded): an insert into a shard without tables waits for it, one into a shard with tables does not; once the death is known, all go on', () => {
    const map = internal.createWithBuild<string, number>('release', { values: 'number', shards: 2, lockTimeoutMs: LOCK_TIMEOUT_MS });
    const elsewhere = keyBeside(map, 'present');
    const beside = keyBeside(map, 'present', true);
    map.clear(); // no shard holds tables now
    map.store('present', 1);
    // A clear() whose thread died just after it took the clear lock (the
    // owner id written into the word, as the core's mutex does), unrecorded.
    const victim = internal.attachAs<string, number>(map.handle, DEAD);
    const core = internal.coreOfMap(victim);
    const words = new Int32Array(map.handle.memory.buffer);
    expect(Atomics.compareExchange(words, core.sm_clearLockWord() >>> 2, 0, core.sm_slotIndex() + 1)).toBe(0);
    internal.abandonMap(victim);

    expect(codeOf(() => map.store(elsewhere, 2)), 'an insert into the shard without tables').toBe('ERR_SYNCMAP_LOCK_TIMEOUT');
    expect(map.has(elsewhere)).toBe(false);
    // The clear would lock this shard before emptying it: a new key goes in at once.
    map.store(beside, 3);
    expect(map.load(beside)).toBe(3);

    internal.recordDeath(DEAD);
    map.store(elsewhere, 2); // waits for the clear lock, reaps its dead holder, goes on
    expect(map.load(elsewhere)).toBe(2);
    expect(map.stats().threads).toBe(1);
    map.clear();
    expect(map.size).toBe(0);
    expect(internal.verify(map)).toBe(0);
    map.close();
  });

  it('that times out on a lock: LOCK_TIMEOUT, the map unchanged, and inserts elsewhere go on at once', () => {
    const map = internal.createWithBuild<string, number>('release', { values: 'number', shards: 2, lockTimeoutMs: LOCK_TIMEOUT_MS });
    const elsewhere = keyBeside(map, 'present');
    const home = shardOf(map, 'present');
    map.clear();
    map.store('present', 1);
    map.load('present'); // one miss promotes the one-key dirty table: loads stop needing the lock
    // A thread that died holding the lock of 'present''s shard, unrecorded.
    const victim = internal.attachAs<string, number>(map.handle, DEAD + 1);
    const core = internal.coreOfMap(victim);
    const words = new Int32Array(map.handle.memory.buffer);
    expect(Atomics.compareExchange(words, core.sm_shardLockWord(home) >>> 2, 0, core.sm_slotIndex() + 1)).toBe(0);
    internal.abandonMap(victim);

    expect(codeOf(() => map.clear())).toBe('ERR_SYNCMAP_LOCK_TIMEOUT');
    expect(map.load('present')).toBe(1);
    // The clear lock was let go: an insert into the other shard does not wait.
    const started = performance.now();
    map.store(elsewhere, 2);
    expect(performance.now() - started, 'ms an insert waited after the failed clear').toBeLessThan(LOCK_TIMEOUT_MS / 2);
    expect(map.size).toBe(2);

    internal.recordDeath(DEAD + 1);
    map.clear();
    expect(map.size).toBe(0);
    expect(internal.verify(map)).toBe(0);
    map.close();
  });
});
