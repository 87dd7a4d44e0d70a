/**
 * Spare scratch regions (assembly/slots.ts, "scratch"): a slot released by a
 * thread that closed or died keeps its scratch region for the next thread to
 * attach, and a write at the memory limit frees them for entries, all but one
 * and those released in the last SPARE_GRACE_S seconds ("released"), which
 * workers restarted together need.
 */
import { describe, expect, it } from 'vitest';
import {
  LockedMap, SyncMap, exited, firstMessage, internal, startWorker, type ConcurrentMap, type SyncMapHandle,
} from './helpers.js';

const OPTIONS = { maxMemoryBytes: 8 << 20, maxValueBytes: 256 << 10 };

/** Stores 200-byte values under new keys until the map refuses (FULL); how many it stored. */
function fill(map: ConcurrentMap<string, string>): number {
  let n = 0;
  try {
    for (;; n++) map.store(`key-${n}`, 'v'.repeat(200));
  } catch (error) {
    expect((error as { code?: string }).code).toBe('ERR_SYNCMAP_FULL');
  }
  return n;
}

/**
 * `threads` workers attached at once; the function returned closes them (or
 * terminates them: their slots are then reaped) and waits for their end.
 */
async function attached(
  handle: SyncMapHandle, kind: 'sync' | 'locked', threads: number, end: 'close' | 'terminate' = 'close',
): Promise<() => Promise<void>> {
  const workers = Array.from({ length: threads }, () => startWorker('attach-hold.mjs', { handle, kind }));
  await Promise.all(workers.map((worker) => firstMessage(worker)));
  return async () => {
    if (end === 'terminate') {
      await Promise.all(workers.map((worker) => worker.terminate()));
      return;
    }
    for (const worker of workers) worker.postMessage('close');
    await Promise.all(workers.map((worker) => exited(worker)));
  };
}

/** `threads` workers attached at once, then closed and ended, as a pool that grew and shrank. */
async function burst(handle: SyncMapHandle, kind: 'sync' | 'locked', threads: number): Promise<void> {
  await (await attached(handle, kind, threads))();
}

describe('spare scratch regions', () => {
  it.each(['sync', 'locked'] as const)(
    'a %s map at its memory limit writes into the spares a burst of workers left, all but one',
    async (kind) => {
      const Class = kind === 'sync' ? SyncMap : LockedMap;
      // The same map with no burst: how many keys fit beside this thread's scratch.
      const alone = Class.createSync<string, string>(OPTIONS);
      const fitAlone = fill(alone);
      alone.close();

      const map = Class.createSync<string, string>(OPTIONS);
      await burst(map.handle, kind, 4);
      const spare = map.stats().spareScratchBytes / 4; // one each
      expect(spare).toBeGreaterThan(OPTIONS.maxValueBytes);
      expect(internal.ageReleases(map, 11)).toBeGreaterThanOrEqual(4); // the pool shrank for good
      const fitted = fill(map);
      // Three of the four went to entries: the map holds nearly as many keys
      // as alone, one spare's worth fewer, where keeping all four would have
      // cost four.
      expect(map.stats().spareScratchBytes).toBe(spare);
      const perKey = (map.stats().bytesInUse - 2 * spare) / fitted;
      expect(fitted).toBeGreaterThan(fitAlone - (1.5 * spare) / perKey);
      expect(internal.heapUnaccounted(map)).toBe(0);
      expect(internal.verify(map)).toBe(0);

      // The spare kept is the one a worker started now, at the full map, needs.
      await burst(map.handle, kind, 1);
      expect(map.stats().spareScratchBytes).toBe(spare);
      expect(map.stats().threads).toBe(1);
      expect(map.load('key-1')).toBe('v'.repeat(200));
      expect(internal.heapUnaccounted(map)).toBe(0);
      map.close();
    },
  );

  it.each(['sync', 'locked'] as const)(
    "a %s map full to its limit grows a thread's scratch for a large compareAndSwap out of the spares",
    async (kind) => {
      const Class = kind === 'sync' ? SyncMap : LockedMap;
      const map = Class.createSync<string, string>(OPTIONS);
      // Old and new values together pass the scratch: it must grow to twice its size.
      const old = 'o'.repeat(OPTIONS.maxValueBytes - 64);
      const next = 'n'.repeat(OPTIONS.maxValueBytes - 64);
      map.store('big', old);
      const release = await attached(map.handle, kind, 4);
      fill(map); // while the workers hold their scratch: no spare to give back yet
      await release();
      internal.ageReleases(map, 11);
      const spare = map.stats().spareScratchBytes / 4;
      expect(map.compareAndSwap('big', old, next)).toBe(true);
      expect(map.load('big')).toBe(next);
      expect(map.stats().spareScratchBytes).toBe(spare);
      expect(internal.heapUnaccounted(map)).toBe(0);
      expect(internal.verify(map)).toBe(0);
      map.close();
    },
  );

  it.each([
    ['sync', 'close'], ['locked', 'close'], ['sync', 'terminate'],
  ] as const)(
    'a %s map at its memory limit leaves the spares of workers that left just now (%s): as many restart at once',
    async (kind, end) => {
      const Class = kind === 'sync' ? SyncMap : LockedMap;
      const map = Class.createSync<string, string>(OPTIONS);
      const release = await attached(map.handle, kind, 3, end);
      fill(map); // full while they run
      await release(); // three die or close together...
      map.stats(); // (which reaps the dead, as a write at the limit would)
      // A release stamped a second ahead of a give-back's clock (a thread that released while
      // it ran, in the next second) is as recent as one stamped now.
      internal.ageReleases(map, -1);
      const spare = map.stats().spareScratchBytes / 3;
      fill(map); // ...and writes into what else they left, until the map is full again,
      expect(map.stats().spareScratchBytes).toBe(3 * spare); // give none of their spares back
      const restarted = await attached(map.handle, kind, 3); // so all three restart at once
      expect(map.stats().threads).toBe(4);
      expect(map.stats().spareScratchBytes).toBe(0);
      await restarted();
      // Once they are older than the grace, a write at the full map takes all but one.
      internal.ageReleases(map, 11);
      const more = fill(map);
      expect(more).toBeGreaterThan(0);
      expect(map.stats().spareScratchBytes).toBe(spare);
      expect(internal.heapUnaccounted(map)).toBe(0);
      expect(internal.verify(map)).toBe(0);
      map.close();
    },
  );

  it('a thread that attaches takes the recent spare released longest ago first, then the others', () => {
    // A full map gives back spares released more than SPARE_GRACE_S ago. Taking
    // the lowest slot first reused the same few while the others aged past the
    // grace in a lull, to be given back just before the pool next peaked: a
    // worker restarted 4 ms after its predecessor exited was refused. A spare
    // already past the grace is left for last: a give-back may be freeing it.
    const map = SyncMap.createSync<string, string>(OPTIONS);
    const slotOf = (m: SyncMap<string, string>): number => internal.coreOfMap(m).sm_slotIndex();
    // Each as a thread of its own (one thread's attachments share its slot).
    let thread = 6_100_000;
    const attach = (): SyncMap<string, string> => internal.attachAs<string, string>(map.handle, thread++);
    const [first, second, third] = [attach(), attach(), attach()];
    const slots = [first, second, third].map(slotOf);
    expect(slots[0]! < slots[1]! && slots[1]! < slots[2]!).toBe(true);
    first.close();
    expect(internal.ageReleases(map, 11)).toBeGreaterThanOrEqual(1); // the first's spare: past the grace
    third.close();
    internal.ageReleases(map, 5); // the third's: 5 s old, the first's 16
    second.close(); // the second's: just now
    const spares = map.stats().spareScratchBytes;
    const claimed = [attach(), attach(), attach()];
    expect(claimed.map(slotOf), 'the oldest recent, the other recent, then the one past the grace').toEqual([
      slots[2], slots[1], slots[0],
    ]);
    expect(map.stats().spareScratchBytes, 'every spare taken, none made').toBeLessThan(spares);
    for (const m of claimed) m.close();
    expect(internal.verify(map)).toBe(0);
    map.close();
  });
});
