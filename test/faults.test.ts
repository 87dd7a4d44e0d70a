/**
 * Crash consistency, exhaustively: a thread stopped at *every* crash point of
 * the core's critical sections (assembly/faults.ts, debug build) is reaped, and
 * the map must come back consistent, unlocked and correct.
 *
 * One thread plays both parts: a second attachment under a made-up thread id
 * runs a script that visits every kind of critical section, with a fault armed
 * to trap at its n-th crash point; the trap leaves locks held and changes half
 * made, exactly as Worker.terminate() at that instruction would (or, once,
 * as a trap the bindings recover from at once would). The
 * attachment is then abandoned (never detached) and reaped, for n = 1, 2, …
 * until the script runs to its end. (crash.workers.test.ts does the same with
 * real terminated workers, at random instants.)
 */
import { describe, expect, it } from 'vitest';
import { internal, reapAtEveryCrashPoint, until, type SyncMap } from './helpers.js';

const KEYS = 48;
const key = (i: number): string => `key-${i % KEYS}`;

/** Every kind of critical section: inserts, dirty creation and growth, promotion, deletes of read and dirty-only keys, unexpunge, clear. */
function script(map: SyncMap<string, number>): void {
  for (let i = 0; i < KEYS; i++) map.store(key(i), i % KEYS);
  for (let i = 0; i < KEYS; i++) map.load(key(i)); // misses: promotion
  for (let i = 0; i < KEYS; i += 3) map.delete(key(i)); // read entries → DELETED
  map.store('fresh', 0); // a new key: dirty made from read (expunging), amended
  for (let i = 0; i < KEYS; i += 3) map.store(key(i), i % KEYS); // unexpunge
  for (let i = 1; i < KEYS; i += 3) map.loadAndDelete(key(i));
  for (let i = 1; i < KEYS; i += 3) map.loadOrStore(key(i), i % KEYS);
  for (let i = 2; i < KEYS; i += 6) map.compareAndDelete(key(i), i % KEYS);
  for (let i = 2; i < KEYS; i += 6) map.swap(key(i), i % KEYS);
  map.store('dirty-only', 0);
  map.delete('dirty-only'); // removed from dirty, dropped whole
  map.clear();
  for (let i = 0; i < KEYS; i += 2) map.store(key(i), i % KEYS);
}

describe('a thread stopped at any crash point of a critical section', () => {
  // 'terminated': nothing runs after the trap, as under Worker.terminate();
  // 'trapped': the bindings recover at once (sm_recover), as after a stack overflow.
  it.each([
    [1, false, 'terminated'],
    [2, false, 'terminated'],
    [1, true, 'terminated'],
    [2, false, 'trapped'],
  ] as const)('is repaired by its reaper (%i shards, versioned: %s, %s)', (shards, versioned, death) => {
    const map = internal.createWithBuild<string, number>('debug', { shards, values: 'number', lockTimeoutMs: 1000, versioned });
    const crashes = reapAtEveryCrashPoint(map, 1_000_000, script, (n) => {
      // Size counts the keys a walk finds (a versioned map's tombstones do not count).
      expect(map.size, `size after crash point ${n}`).toBe([...map.keys()].length);
      // Correct: every present key holds a value the script stored for it.
      for (const [k, v] of map) expect(k.startsWith('key-') ? key(v) : `${k}=0`).toBe(k.startsWith('key-') ? k : `${k}=${v}`);
      // Usable: a write to every shard, and a full round of the script.
      script(map);
      expect(internal.verify(map)).toBe(0);
      expect(map.size).toBe([...map.keys()].length);
      expect(map.stats().threads).toBe(1);
    }, death);
    expect(crashes).toBeGreaterThan(100);
    const how = `${shards} shard(s)${versioned ? ', versioned' : ''}, ${death}`;
    console.log(`${how}: recovered from ${crashes} crash points, ${map.stats().locksRecovered} held locks`);
    map.close();
  });
});

describe('a reaper stopped while reaping', () => {
  it('is reaped in turn, and the slot it was reaping is finished', () => {
    const map = internal.createWithBuild<string, number>('debug', { shards: 2, values: 'number', lockTimeoutMs: 1000 });
    for (let n = 1; n <= 3; n++) {
      // A thread dies holding a lock…
      const victim = internal.attachAs<string, number>(map.handle, 2_000_000 + n);
      internal.coreOfMap(victim).sm_debugFaultAfter(1);
      expect(() => victim.store(`new-${n}`, n)).toThrow(WebAssembly.RuntimeError);
      expect(internal.coreOfMap(victim).sm_debugFaultFired()).toBeTruthy(); // the armed crash point, no other trap
      internal.abandonMap(victim);
      // …its reaper dies at the n-th crash point of the reap…
      const reaper = internal.attachAs<string, number>(map.handle, 3_000_000 + n);
      internal.coreOfMap(reaper).sm_debugFaultAfter(n);
      expect(() => internal.reapThread(reaper, 2_000_000 + n)).toThrow(WebAssembly.RuntimeError);
      expect(internal.coreOfMap(reaper).sm_debugFaultFired()).toBeTruthy();
      internal.abandonMap(reaper);
      // …and reaping the reaper finishes both.
      expect(internal.reapThread(map, 3_000_000 + n)).toBe(1);
      expect(map.stats().threads).toBe(1);
      expect(internal.verify(map)).toBe(0);
      map.store(`new-${n}`, n);
      expect(map.load(`new-${n}`)).toBe(n);
    }
    map.close();
  });
});

describe('a reaper whose reap was cut short, alive', () => {
  // A trap, or a stack overflow at any of its calls, cuts a reap short. The
  // reaper lives on, and no other thread takes over a live thread's reaping:
  // unfinished, the dead thread's slot, pin and blocks would stay held for good.

  /** Attaches as `id` and dies inside a store: holding a shard lock and its pin. */
  function dieHoldingALock(map: SyncMap<string, number>, id: number): void {
    const victim = internal.attachAs<string, number>(map.handle, id);
    internal.coreOfMap(victim).sm_debugFaultAfter(1);
    expect(() => victim.store(`new-${id}`, id)).toThrow(WebAssembly.RuntimeError);
    internal.abandonMap(victim);
  }

  /** The map goes on: one thread attached, every invariant, and reclamation advances. */
  function expectWhole(map: SyncMap<string, number>): void {
    expect(map.stats().threads).toBe(1);
    expect(internal.verify(map)).toBe(0);
    const advances = map.stats().epochAdvances;
    for (let i = 0; i < 300; i++) map.store('churn', i);
    internal.collect(map);
    expect(map.stats().epochAdvances).toBeGreaterThan(advances);
  }

  it('finishes it in its recovery, at each crash point of the reap', () => {
    // One shard: with two, the map's random hash seed decides which shard each
    // victim's key and the churn land in, and so which step the victim's lock
    // was left in and how many crash points its reap passes (5 to 8 seen).
    // One shard makes every run reap the same states, all of them.
    const map = internal.createWithBuild<string, number>('debug', { shards: 1, values: 'number', lockTimeoutMs: 1000 });
    const core = internal.coreOfMap(map);
    let cut = 0;
    for (let n = 1; n < 1000; n++) {
      dieHoldingALock(map, 2_100_000 + n);
      const reaper = internal.attachAs<string, number>(map.handle, 3_100_000 + n);
      const reaperCore = internal.coreOfMap(reaper);
      reaperCore.sm_debugFaultAfter(n);
      let trapped = false;
      try {
        internal.reapThread(reaper, 2_100_000 + n);
      } catch (error) {
        if (!(error instanceof WebAssembly.RuntimeError) || !reaperCore.sm_debugFaultFired()) throw error;
        trapped = true;
      }
      reaperCore.sm_debugFaultAfter(0);
      if (trapped) {
        cut++;
        expect(core.sm_slotsReaping()).toBe(1);
        reaperCore.sm_recover(); // what the catch around a core call runs (Attachment.trapped)
      }
      expect(core.sm_slotsReaping()).toBe(0);
      reaper.close();
      expectWhole(map);
      if (!trapped) break;
    }
    expect(cut).toBeGreaterThan(5);
    map.close();
  });

  it("this thread's watch finishes one that nothing recovered", async () => {
    const map = internal.createWithBuild<string, number>('debug', { shards: 2, values: 'number', lockTimeoutMs: 1000 });
    const core = internal.coreOfMap(map);
    dieHoldingALock(map, 2_200_001);
    core.sm_debugFaultAfter(3); // this thread reaps, and traps inside the reap
    expect(() => internal.reapThread(map, 2_200_001)).toThrow(WebAssembly.RuntimeError);
    core.sm_debugFaultAfter(0);
    expect(core.sm_slotsReaping()).toBe(1);
    // No operation from this thread meanwhile: its next one would finish the reap too.
    await until(() => core.sm_slotsReaping() === 0, 'the watch to finish the reap', 5000, 20);
    expectWhole(map);
    map.close();
  });
});

describe('a thread that trapped inside a critical section and carries on', () => {
  it('recovers its own locks and pin at its next operation', () => {
    const map = internal.createWithBuild<string, number>('debug', { shards: 1, values: 'number', lockTimeoutMs: 500 });
    const thread = internal.attachAs<string, number>(map.handle, 4_000_001);
    for (let n = 1; n <= 40; n++) {
      internal.coreOfMap(thread).sm_debugFaultAfter(n);
      try {
        script(thread);
      } catch (error) {
        if (!(error instanceof WebAssembly.RuntimeError) || !internal.coreOfMap(thread).sm_debugFaultFired()) throw error;
      }
      internal.coreOfMap(thread).sm_debugFaultAfter(0);
      thread.store(`after-${n}`, n); // would wait on its own lock without recovery
      expect(internal.verify(map)).toBe(0);
    }
    // Its pin was released too: reclamation advances.
    const advances = map.stats().epochAdvances;
    for (let i = 0; i < 1000; i++) map.store('churn', i);
    internal.collect(map);
    expect(map.stats().epochAdvances).toBeGreaterThan(advances);
    thread.close();
    map.close();
  });
});

describe('a thread that trapped while coalescing free memory, not pinned, and carries on', () => {
  it('gives the COALESCE lock back in its recovery, the lists unfrozen', () => {
    // A store makes its value before it pins, and the allocator may coalesce
    // free memory for it: a trap there (a stack overflow at the edge) leaves
    // the COALESCE lock held by a thread that is not pinned, which the checks
    // at each operation's entry (for a pin) do not see. A coalesce walks the
    // heap, crash points all along: the first ones, then a spread.
    const map = internal.createWithBuild<string, string>('debug', { shards: 1, values: 'string', lockTimeoutMs: 300 });
    const thread = internal.attachAs<string, string>(map.handle, 4_100_001);
    const core = internal.coreOfMap(thread);
    const page = (i: number): string => `c-${i}-`.padEnd(3000, 'c'); // freed to the shared lists
    const points = [...Array.from({ length: 24 }, (_, i) => i + 1), 40, 80, 160, 320, 640, 1280];
    for (const n of points) {
      for (let i = 0; i < 8; i++) map.store(`c-${i}`, page(i));
      for (let i = 0; i < 8; i++) map.delete(`c-${i}`);
      internal.collect(map);
      internal.collect(map);
      core.sm_debugFaultAfter(n);
      expect(() => core.sm_debugCoalesce(), `crash point ${n}`).toThrow(WebAssembly.RuntimeError);
      expect(core.sm_debugFaultFired()).toBe(1);
      core.sm_recover(); // as the bindings do after any error out of a core call
      core.sm_debugFaultAfter(0);
      // Another thread coalesces, and frees straight to the lists.
      expect(internal.coreOfMap(map).sm_debugCoalesce(), `crash point ${n}`).toBe(1);
      expect(internal.coreOfMap(map).sm_deferredFrees()).toBe(0);
      thread.store(`after-${n}`, page(n));
      thread.delete(`after-${n}`);
      expect(internal.verify(map)).toBe(0);
      expect(internal.heapUnaccounted(map)).toBe(0);
    }
    thread.close();
    map.close();
  });
});
