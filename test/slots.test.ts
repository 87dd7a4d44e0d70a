/**
 * Thread slots (assembly/slots.ts) and the scratch regions they own: claimed,
 * released and reaped exactly once, whatever the order of events.
 */
import { describe, expect, it } from 'vitest';
import { fillWithHoles, internal, randomFrom, SyncMap } from './helpers.js';

describe('thread slots', () => {
  it('a slot freed by its owner and claimed by another thread is not reaped for the first', () => {
    const map = SyncMap.createSync<string, number>({ values: 'number' });
    const first = internal.attachAs<string, number>(map.handle, 5001);
    const slot = internal.coreOfMap(first).sm_slotIndex();
    first.close(); // a clean exit
    const second = internal.attachAs<string, number>(map.handle, 5002);
    expect(internal.coreOfMap(second).sm_slotIndex()).toBe(slot); // the same slot, reused
    // The first thread's 'exit' event arrives late: nothing of its is left to reap.
    expect(internal.reapThread(map, 5001)).toBe(0);
    second.store('still', 1);
    expect(second.load('still')).toBe(1);
    expect(map.stats().threads).toBe(2);
    second.close();
    map.close();
  });

  it('reaping keeps the dead thread\'s scratch as its slot\'s spare, once, for the next thread', () => {
    const map = SyncMap.createSync<string, number>({ values: 'number', maxValueBytes: 1 << 20 });
    const before = map.stats();
    const dead = internal.attachAs<string, number>(map.handle, 5003);
    const region = internal.coreOfMap(dead).sm_scratch();
    const size = map.stats().scratchBytes - before.scratchBytes;
    expect(size).toBeGreaterThan(1 << 20);
    internal.abandonMap(dead);
    expect(internal.reapThread(map, 5003)).toBe(1);
    expect(internal.reapThread(map, 5003)).toBe(0);
    expect(map.stats().scratchBytes).toBe(before.scratchBytes);
    expect(map.stats().spareScratchBytes).toBe(size);
    expect(map.stats().bytesInUse).toBe(before.bytesInUse + size);
    // The next thread adopts the spare; the one after gets a region of its own
    // (a double free would hand out one twice).
    const a = internal.attachAs(map.handle, 5004);
    const b = internal.attachAs(map.handle, 5005);
    expect(internal.coreOfMap(a).sm_scratch()).toBe(region);
    expect(internal.coreOfMap(b).sm_scratch()).not.toBe(region);
    expect(map.stats().spareScratchBytes).toBe(0);
    a.close();
    b.close();
    expect(map.stats().spareScratchBytes).toBe(2 * size);
    expect(map.stats().bytesInUse).toBe(before.bytesInUse + 2 * size);
    expect(internal.heapUnaccounted(map)).toBe(0);
    map.close();
  });

  it('a thread that closed leaves its scratch for the next, which attaches to a map filled meanwhile', () => {
    const map = SyncMap.createSync<string, string>({ maxMemoryBytes: 8 << 20, maxValueBytes: 256 << 10 });
    const gone = internal.attachAs<string, string>(map.handle, 5006); // a worker, played by this thread
    gone.close();
    fillWithHoles(map);
    const next = internal.attachAs<string, string>(map.handle, 5007);
    expect(map.stats().threads).toBe(2);
    expect(next.load('key-1')).toBe('v'.repeat(200));
    next.store('key-1', 'from the next thread'); // a key of the full map's, overwritten
    expect(map.load('key-1')).toBe('from the next thread');
    next.close();
    expect(internal.verify(map)).toBe(0);
    map.close();
  });

  it('a thread that attaches reaps the dead first, whose slots keep their scratch for it (helper-55)', () => {
    const map = SyncMap.createSync<string, string>({ maxMemoryBytes: 8 << 20, maxValueBytes: 256 << 10 });
    const handle = map.handle;
    const a = internal.attachAs<string, string>(handle, 5_300_001);
    map.close(); // no thread left attached to reap: its slot keeps its scratch as a spare
    fillWithHoles(a);
    internal.abandonMap(a); // a dies, unreaped
    internal.recordDeath(5_300_001);
    const b = internal.attachAs<string, string>(handle, 5_300_002); // takes the spare
    internal.abandonMap(b); // b dies too, unreaped: no spare left, no free run either
    internal.recordDeath(5_300_002);
    const c = internal.attachAs<string, string>(handle, 5_300_003);
    expect(c.stats().threads).toBe(1);
    expect(c.load('key-1')).toBe('v'.repeat(200));
    expect(internal.verify(c)).toBe(0);
    c.close();
  });

  it('a thread attaches to a map that filled and had every key deleted since, as a write would store', () => {
    // The deleted keys' entries stay in the read tables until a write that
    // finds the map full gives them back (mapSqueeze), and until then they cut
    // the freed values into holes shorter than a scratch region.
    const map = SyncMap.createSync<string, string>({ maxMemoryBytes: 4 << 20, maxValueBytes: 64 << 10 });
    let n = 0;
    try {
      for (;; n++) map.store(`key-${n}`, `v-${n}`.padEnd(40, 'v'));
    } catch (error) {
      expect((error as { code?: string }).code).toBe('ERR_SYNCMAP_FULL');
    }
    for (let pass = 0; pass < 2; pass++) for (let i = 0; i < n; i++) map.load(`key-${i}`); // promoted
    for (let i = 0; i < n; i++) map.delete(`key-${i}`);
    expect(map.size).toBe(0);
    const next = internal.attachAs<string, string>(map.handle, 5_400_001); // no spare: none ever left
    next.store('after', 'the next thread');
    expect(map.load('after')).toBe('the next thread');
    next.close();
    expect(internal.verify(map)).toBe(0);
    expect(internal.heapUnaccounted(map)).toBe(0);
    map.close();
  });

  it('threads attach to a map churned at its limit and cleared since, as long as memory lasts', () => {
    // After clear() the free memory lies in blocks freed after the allocator
    // last merged neighbours; writes (a page at most) take them as they are,
    // an attach needs one scratch-long run: it merges them first.
    const options = { values: 'string', maxMemoryBytes: 6 << 20, maxValueBytes: 32 << 10, maxKeyBytes: 256 } as const;
    const churned = SyncMap.createSync<string, string>(options);
    const random = randomFrom(1);
    for (let i = 0; i < 300_000; i++) {
      const key = `k-${Math.floor(random() * 6000)}`;
      try {
        if (random() < 0.7) churned.store(key, 'x'.repeat(8 + Math.floor(random() * 2000)));
        else churned.delete(key);
      } catch (error) {
        expect((error as { code?: string }).code).toBe('ERR_SYNCMAP_FULL');
      }
    }
    churned.clear();
    for (let i = 0; i < 5; i++) internal.collect(churned);
    const { handle } = churned;
    churned.close(); // its thread's cache of free blocks back to the lists
    const map = SyncMap.attach<string, string>(handle);
    const threads: SyncMap<string, string>[] = [];
    let refusal: string | undefined;
    for (let i = 0; i < 200 && refusal === undefined; i++) {
      try {
        threads.push(internal.attachAs<string, string>(map.handle, 5_500_000 + i));
      } catch (error) {
        refusal = (error as { code?: string }).code;
      }
    }
    // 36 KiB a thread: memory for over a hundred (before, FULL after ~70 with 45% in use).
    expect(threads.length).toBeGreaterThan(110);
    expect(map.stats().bytesInUse).toBeGreaterThan(0.7 * options.maxMemoryBytes);
    for (const thread of threads) thread.close();
    expect(internal.verify(map)).toBe(0);
    expect(internal.heapUnaccounted(map)).toBe(0);
    map.close();
  });

  it('a scratch request too large to round refuses with FULL and changes nothing', () => {
    const map = SyncMap.createSync<string, number>({ values: 'number' });
    map.store('k', 1);
    const core = internal.coreOfMap(map);
    const cap = core.sm_scratchCap();
    expect(core.sm_reserve(0xffffffff)).toBe(internal.Status.FULL);
    expect(core.sm_reserve(0xffffffc1)).toBe(internal.Status.FULL);
    expect(core.sm_scratchCap()).toBe(cap);
    expect(map.load('k')).toBe(1);
    const other = internal.instantiate(map.handle.module, map.handle.memory);
    expect(other.sm_attach(9, 0xfffffff0, 1000)).toBe(internal.Status.FULL);
    expect(other.sm_attach(9, 0, Number.NaN)).toBe(internal.Status.BAD_ARGUMENT);
    expect(internal.verify(map)).toBe(0);
    map.close();
  });
});
