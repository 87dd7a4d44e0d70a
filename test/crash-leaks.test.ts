/**
 * A thread stopped at any crash point leaks nothing it was holding.
 *
 * Between allocating a block and publishing it (a new value, a new entry), and
 * between unlinking an object and retiring it (a replaced value, a dropped
 * entry), no shared structure reaches the object; the thread's slot names it
 * instead (assembly/inflight.ts, reclaim.ts's unretired words), so that its
 * reaper frees or retires it. Here a second attachment runs scripts that visit
 * every kind of write, with a fault armed at its n-th crash point (debug
 * build; faults.test.ts checks that the map comes back whole), for every n. After
 * each crash and reap, clear() and reclamation must bring bytesInUse back to
 * exactly where the same steps brought it before: not one byte lost.
 */
import { describe, expect, it } from 'vitest';
import {
  SyncMap, crashAt, internal, randomFrom, reapAtEveryCrashPoint, type Death, type SyncMapError,
} from './helpers.js';

const KEYS = 36;
const key = (i: number): string => `key-${i % KEYS}`;
// Inline values of a few sizes, and two past a page, which are chunked (entry.ts).
const text = (i: number): string => `value-${i}-`.padEnd(i % 12 === 5 ? 9000 : 30 + (i % 5) * 40, 'x');

/** Every write on strings: inserts, swaps in read and dirty, deletes of both kinds, CAS, clear. */
function strings(map: SyncMap<string, string>): void {
  for (let i = 0; i < KEYS; i++) map.store(key(i), text(i));
  for (let i = 0; i < KEYS; i++) map.load(key(i)); // misses: promotion
  for (let i = 0; i < KEYS; i += 2) map.store(key(i), text(i + 1)); // lock-free swaps in read
  for (let i = 0; i < KEYS; i += 3) map.delete(key(i));
  map.store('fresh', text(0)); // dirty made from read, expunging
  for (let i = 0; i < KEYS; i += 3) map.store(key(i), text(i)); // unexpunge
  for (let i = 1; i < KEYS; i += 3) map.loadAndDelete(key(i));
  for (let i = 1; i < KEYS; i += 3) map.loadOrStore(key(i), text(i));
  for (let i = 2; i < KEYS; i += 4) map.compareAndSwap(key(i), map.load(key(i)) ?? '', text(i + 2));
  for (let i = 2; i < KEYS; i += 6) map.compareAndDelete(key(i), map.load(key(i)) ?? '');
  for (let i = 3; i < KEYS; i += 6) map.swap(key(i), text(i + 3));
  map.store('dirty-only', text(5));
  map.delete('dirty-only'); // removed from dirty, dropped whole
  map.clear();
  for (let i = 0; i < KEYS; i += 2) map.store(key(i), text(i));
}

let clock = Date.now();

/** Counters with expiry and versions: add, CAS, tombstones, expiry by writes and by sweeps, compaction. */
function counters(map: SyncMap<string, number>): void {
  const core = internal.coreOfMap(map);
  for (let i = 0; i < KEYS; i++) map.add(key(i), i);
  for (let i = 0; i < KEYS; i++) map.load(key(i));
  for (let i = 0; i < KEYS; i += 2) map.add(key(i), 1); // lock-free adds in read
  for (let i = 0; i < KEYS; i += 3) map.compareAndSwap(key(i), map.load(key(i)) ?? 0, -i);
  for (let i = 0; i < KEYS; i += 4) map.delete(key(i)); // tombstones
  for (let i = 1; i < KEYS; i += 4) map.store(key(i), i, { ttlMs: 50 });
  map.store('dirty-only', 1, { ttlMs: 50 });
  clock += 60_000;
  core.sm_tick(clock); // everything with a ttl has expired
  for (let i = 1; i < KEYS; i += 8) map.store(key(i), i); // a write that meets an expired value
  while ((core.sm_sweep(64) & internal.CoreFlag.SWEEP_WRAPPED) === 0); // the rest, and the dirty-only key, by sweeps
  map.compact(map.version); // every tombstone
  map.clear();
  for (let i = 0; i < KEYS; i += 2) map.add(key(i), i);
}

/** Stores `value` with this thread's `failAt`-th allocation failing (and every one after): refused as full. */
function storeRefused(victim: SyncMap<string, string>, failAt: number, key: string, value: string): void {
  const core = internal.coreOfMap(victim);
  core.sm_debugFailAllocation(failAt);
  try {
    victim.store(key, value);
    throw new Error('the store was not refused');
  } catch (error) {
    if ((error as SyncMapError).code !== 'ERR_SYNCMAP_FULL') throw error;
  } finally {
    core.sm_debugFailAllocation(0);
  }
}

/**
 * Bytes in use once the map is emptied and everything retired is freed, but
 * the spare scratch regions the dead threads' slots keep for the next thread
 * (each named by its slot: a region lost would still count here).
 */
function floor(map: SyncMap<string, unknown>): number {
  map.clear();
  internal.collect(map);
  internal.collect(map);
  const stats = map.stats();
  return stats.bytesInUse - stats.spareScratchBytes;
}

/**
 * Runs `script` once in this thread, then at every crash point in a thread that
 * dies there as a terminated worker would (made-up ids from `firstThread`),
 * reaped each time: the crash points where bytesInUse, once the map is emptied,
 * differs from before. Expects more than `atLeast` crash points.
 */
function leaksAtEveryCrashPoint<V>(
  map: SyncMap<string, V>, script: (victim: SyncMap<string, V>) => void, atLeast = 100, firstThread = 5_000_000,
  death: Death = 'terminated',
): string[] {
  script(map);
  let before = floor(map);
  const leaks: string[] = [];
  const crashes = reapAtEveryCrashPoint(map, firstThread, script, (n) => {
    const after = floor(map);
    if (after !== before) leaks.push(`crash point ${n}: ${after - before} bytes`);
    // Free memory lost is not in bytesInUse: the heap must still add up.
    const lost = internal.heapUnaccounted(map);
    if (lost !== 0) leaks.push(`crash point ${n}: ${lost} bytes neither in use nor free`);
    before = after;
  }, death);
  expect(crashes).toBeGreaterThan(atLeast);
  return leaks;
}

describe('a thread stopped at any crash point', () => {
  it.each([1, 2])('leaks none of the strings it was writing (%i shards)', (shards) => {
    const map = internal.createWithBuild<string, string>('debug', { shards, values: 'string', lockTimeoutMs: 1000 });
    expect(leaksAtEveryCrashPoint(map, strings)).toEqual([]);
    map.close();
  });

  it('leaks none of the counters it was adding, expiring or compacting (versioned, with ttlMs)', () => {
    const map = internal.createWithBuild<string, number>('debug', {
      shards: 1, values: 'number', lockTimeoutMs: 1000, versioned: true, ttlMs: 0,
    });
    expect(leaksAtEveryCrashPoint(map, counters)).toEqual([]);
    map.close();
  });
});

describe('a thread stopped while it grows its scratch region', () => {
  it('leaks neither region, the new one nor the old one, and the map stays usable', () => {
    // The scratch holds a call's key and values; compareAndSwap needs the old
    // value beside the new one, past maxKeyBytes + maxValueBytes, so it grows:
    // allocate the new region, copy, publish it, free the old one.
    const map = internal.createWithBuild<string, string>('debug', {
      shards: 1, values: 'string', maxValueBytes: 16_384, lockTimeoutMs: 1000,
    });
    const long = (c: string, n: number): string => c.repeat(n);
    const grows = (victim: SyncMap<string, string>): void => {
      victim.store('k', long('a', 12_000));
      expect(victim.compareAndSwap('k', long('a', 12_000), long('b', 12_000))).toBe(true); // 24 KB: grows
      victim.store('k', long('c', 16_000));
      expect(victim.compareAndSwap('k', long('c', 16_000), long('d', 16_000))).toBe(true); // 32 KB: again
      victim.delete('k');
    };
    expect(leaksAtEveryCrashPoint(map, grows, 4, 7_000_000)).toEqual([]); // among them the growths' own
    grows(map);
    expect(map.size).toBe(0);
    map.close();
  });
});

describe('a thread stopped while it frees the spare scratch regions of released slots', () => {
  it.each(['terminated', 'trapped'] as const)('loses none of them and frees none twice (%s there)', (death) => {
    // A write at the memory limit frees the spares but one (slots.ts,
    // slotsGiveBackSpares): each slot claimed as a reap, its region freed
    // through the word that names it, the slot released.
    const map = internal.createWithBuild<string, string>('debug', {
      shards: 1, values: 'string', maxValueBytes: 16_384, lockTimeoutMs: 1000,
    });
    let burstThread = death === 'trapped' ? 7_500_000 : 7_700_000;
    const givesBack = (victim: SyncMap<string, string>): void => {
      // A burst of threads that came and went: a spare each (the victim took one).
      const burst = [0, 1, 2].map(() => internal.attachAs<string, string>(victim.handle, ++burstThread));
      for (const thread of burst) thread.close();
      internal.ageReleases(victim, 11); // past the grace a restart gets (slots.ts, "released")
      expect(victim.stats().spareScratchBytes).toBeGreaterThan(3 * 16_384);
      // Every allocation fails: the store makes room, frees the spares, and is refused.
      storeRefused(victim, 1, 'one more', 'v'.repeat(200));
      expect(victim.stats().spareScratchBytes).toBeLessThan(2 * 16_384);
    };
    const victims = death === 'trapped' ? 7_600_000 : 7_800_000;
    expect(leaksAtEveryCrashPoint(map, givesBack, 3, victims, death)).toEqual([]);
    expect(internal.coreOfMap(map).sm_slotsReaping()).toBe(0);
    map.close();
  });
});

/**
 * A store of a chunked value trapped at each crash point, in turn, by a thread
 * (made-up ids from `firstThread`) whose recovery is off, as when the
 * recovery's own call overflows; `prepare` runs before, and `next`, the same
 * thread's next write, before any recovery. The floor must not move. Returns
 * how many crash points trapped.
 */
function trappedThenWrites(
  map: SyncMap<string, string>, firstThread: number,
  next: (victim: SyncMap<string, string>) => void, prepare: (victim: SyncMap<string, string>) => void = () => {},
): number {
  const before = floor(map);
  let stopped = 0;
  for (let n = 1; ; n++) {
    const victim = internal.attachAs<string, string>(map.handle, firstThread + n);
    internal.recoverOnTrap(victim, false);
    prepare(victim);
    const core = internal.coreOfMap(victim);
    core.sm_debugFaultAfter(n);
    let trapped = false;
    try {
      victim.store('a', chunked('a'));
    } catch (error) {
      if (!(error instanceof WebAssembly.RuntimeError) || !core.sm_debugFaultFired()) throw error;
      trapped = true;
    }
    core.sm_debugFaultAfter(0);
    next(victim);
    victim.close();
    expect(floor(map), `crash point ${n}`).toBe(before);
    expect(internal.heapUnaccounted(map)).toBe(0);
    expect(internal.verify(map)).toBe(0);
    if (!trapped) return stopped;
    stopped++;
  }
}

/** A value made a chunk at a time (entry.ts). */
const chunked = (c: string): string => c.repeat(9000);

describe('a thread whose recovery could not run after a trap', () => {
  it('leaks no value that its next write would have recorded over', () => {
    // A trap in valueNew comes before the store pins, so the next operation's
    // entry does not recover it (recoverFromTrap looks for a pin); only
    // sm_recover frees it, which at the very edge of the stack overflows too.
    const map = internal.createWithBuild<string, string>('debug', { shards: 1, values: 'string', lockTimeoutMs: 1000 });
    expect(trappedThenWrites(map, 7_900_000, (victim) => victim.store('b', chunked('b')))).toBeGreaterThan(2);
    map.close();
  });

  it('leaks none either when its next write is a store by place', () => {
    // The same trap, then a store of a key the thread has read from a read
    // table: it goes by the place its read cache recorded (sm_swapFound, not
    // sm_swap), whose entry must free the leftover as every keyed call's does.
    const map = internal.createWithBuild<string, string>('debug', { shards: 1, values: 'string', lockTimeoutMs: 1000 });
    const stopped = trappedThenWrites(map, 7_950_000, (victim) => {
      victim.store('by-place', chunked('b'));
      // By place: the value at scratch offset 0, where a store by key writes the key.
      const scratch = internal.coreOfMap(victim).sm_scratch();
      expect(Buffer.from(map.handle.memory.buffer, scratch, 8).toString('latin1')).toBe('bbbbbbbb');
    }, (victim) => {
      map.store('by-place', 'old'); // after the floor's clear
      for (let i = 0; i < 4; i++) map.load('by-place'); // misses promote dirty to read
      expect(victim.load('by-place')).toBe('old'); // its read cache records the key's place
    });
    expect(stopped).toBeGreaterThan(2);
    map.close();
  });
});

describe('a thread stopped while reclamation frees what was retired', () => {
  it('leaks none of the objects it had taken off a limbo list', () => {
    // Reclamation takes each retired object off its limbo list, then frees it:
    // in between, only the thread's slot names it (reclaim.ts, held block).
    const map = internal.createWithBuild<string, string>('debug', { shards: 1, values: 'string', lockTimeoutMs: 1000 });
    const page = (i: number): string => `v-${i}-`.padEnd(3000, 'z'); // a value block past the cached classes
    const reclaims = (victim: SyncMap<string, string>): void => {
      for (let i = 0; i < 6; i++) victim.store(`r-${i}`, page(i));
      for (let i = 0; i < 6; i++) victim.store(`r-${i}`, page(i + 1)); // six values retired
      internal.collect(victim); // three epochs: each freed
      for (let i = 0; i < 6; i++) victim.delete(`r-${i}`);
      internal.collect(victim);
    };
    expect(leaksAtEveryCrashPoint(map, reclaims, 20, 8_000_000)).toEqual([]);
    map.close();
  });

  it('leaks none of the pages, chunks, entries and values it was draining from a cleared table', () => {
    // A cleared table is freed by draining it: each entry's value (and its
    // chunks), the entry, then the table's pages, each unlinked from the one
    // word that reached it and then freed: in between, the slot names it.
    const map = internal.createWithBuild<string, string>('debug', { shards: 1, values: 'string', lockTimeoutMs: 1000 });
    const drains = (victim: SyncMap<string, string>): void => {
      // A table of two pages, filled by this thread (its crash points are the victim's only).
      for (let i = 0; i < 300; i++) map.store(`d-${i}`, `small-${i}`);
      for (let i = 0; i < 3; i++) victim.store(`d-${i}`, `big-${i}-`.padEnd(9000, 'w')); // chunked values
      victim.store('d-0', 'replaced'); // a chunked value retired on its own
      victim.clear();
      internal.collect(victim);
    };
    expect(leaksAtEveryCrashPoint(map, drains, 100, 9_000_000)).toEqual([]);
    map.close();
  });
});

describe('a thread stopped while it frees a value its write could not store', () => {
  it('leaks none of the value, its chunks freed so far or not yet', () => {
    // A new key's chunked value is made first (a block and two chunks), then
    // its entry: with that allocation failing, the write answers FULL and frees
    // the value, chunk by chunk. The value stays named in the slot throughout.
    const map = internal.createWithBuild<string, string>('debug', { shards: 1, values: 'string', lockTimeoutMs: 1000 });
    const big = 'f'.repeat(9000);
    // The value's three blocks succeed, the entry fails.
    const refusedStore = (victim: SyncMap<string, string>): void => storeRefused(victim, 4, 'new-key', big);
    expect(leaksAtEveryCrashPoint(map, refusedStore, 2, 10_000_000)).toEqual([]);
    expect(map.has('new-key')).toBe(false);
    map.close();
  });

  it('leaks none of a value whose chunks ran out half-way, freed unfinished', () => {
    // Memory runs out at the value's third block (its first block and one
    // chunk made, of four): valueNew frees what it made, chunk by chunk, the
    // value named in the slot until its last block goes. (Let go first, it
    // was lost whole by a thread stopped while freeing it.)
    const map = internal.createWithBuild<string, string>('debug', { shards: 1, values: 'string', lockTimeoutMs: 1000 });
    const big = 'u'.repeat(20_000); // a first block and four chunks
    const unfinished = (victim: SyncMap<string, string>): void => {
      for (const failAt of [3, 4]) storeRefused(victim, failAt, `unfinished-${failAt}`, big);
    };
    expect(leaksAtEveryCrashPoint(map, unfinished, 2, 10_500_000)).toEqual([]);
    expect(map.size).toBe(0);
    map.close();
  });
});

describe('a thread stopped inside the allocator', () => {
  it('loses none of a block it was splitting, a carving chunk it was taking or a bump\'s gap', () => {
    // Merged free memory lies in blocks of up to 256 MiB (a coalesce gives
    // each run back as the largest blocks that fit). A thread with no carving
    // chunk yet takes one by splitting such a block: it pops the block and
    // gives back its tail piece by piece, and the old chunk's rest with it.
    // The popped block is the thread's held run until each piece is linked.
    const map = internal.createWithBuild<string, string>('debug', { shards: 1, values: 'string', lockTimeoutMs: 1000 });
    const page = (i: number): string => `p-${i}-`.padEnd(3000, 'q'); // past the cached classes: no carving
    const splits = (victim: SyncMap<string, string>): void => {
      // Made free and merged by this thread (its crash points are the victim's only).
      for (let i = 0; i < 12; i++) map.store(`p-${i}`, page(i));
      for (let i = 0; i < 12; i++) map.delete(`p-${i}`);
      internal.collect(map);
      internal.collect(map);
      expect(internal.coreOfMap(map).sm_debugCoalesce()).toBe(1); // merged, and marked worth splitting
      // Small blocks: the victim's first chunk, split from a merged block; then more.
      for (let i = 0; i < 100; i++) victim.store(`s-${i}`, `small-${i}`.padEnd(200, 's'));
      victim.clear();
    };
    expect(leaksAtEveryCrashPoint(map, splits, 100, 11_000_000)).toEqual([]);
    expect(internal.heapUnaccounted(map)).toBe(0);
    map.close();
  });

  it('loses none of the deferred blocks it was moving back to their lists', () => {
    // While a coalesce has the lists frozen, frees wait on DEFERRED. A
    // coalescer that died there leaves them frozen until its reaper unfreezes
    // them and moves each deferred block back, holding it from its pop to its
    // link. Here the victim is that reaper.
    const map = internal.createWithBuild<string, string>('debug', { shards: 1, values: 'string', lockTimeoutMs: 1000 });
    const page = (i: number): string => `d-${i}-`.padEnd(3000, 'r'); // past the cached classes: freed to the lists
    let coalescer = 12_000_000;
    const movesDeferred = (victim: SyncMap<string, string>): void => {
      const dead = ++coalescer;
      for (let i = 0; i < 6; i++) map.store(`d-${i}`, page(i));
      // Dies at its first crash point, the lists frozen, the COALESCE lock held.
      expect(crashAt(map.handle, dead, 1, (c) => { internal.coreOfMap(c).sm_debugCoalesce(); }, 'terminated')).toBe(true);
      for (let i = 0; i < 6; i++) map.delete(`d-${i}`);
      internal.collect(map);
      internal.collect(map);
      expect(internal.coreOfMap(map).sm_deferredFrees()).toBeGreaterThanOrEqual(6);
      expect(internal.reapThread(victim, dead)).toBe(1); // unfreezes, moves them back
      internal.recordDeath(dead); // as its Worker's 'exit' would (the registry reuses its record)
    };
    expect(leaksAtEveryCrashPoint(map, movesDeferred, 6, 13_000_000)).toEqual([]);
    expect(internal.coreOfMap(map).sm_deferredFrees()).toBe(0);
    expect(internal.heapUnaccounted(map)).toBe(0);
    map.close();
  });

  it('loses none of a dead thread\'s cached blocks and chunk it was giving back as its reaper', () => {
    // A thread keeps some free blocks of each small class in a cache of its
    // own, and carves small blocks from a chunk. Its reaper gives both back,
    // each cached block unlinked from the cache as it is linked into a shared
    // list: a reaper stopped half-way leaves the rest for the next one.
    const map = internal.createWithBuild<string, string>('debug', { shards: 1, values: 'string', lockTimeoutMs: 1000 });
    let owner = 14_000_000;
    const reapsCache = (victim: SyncMap<string, string>): void => {
      const dead = ++owner;
      const gone = internal.attachAs<string, string>(map.handle, dead);
      for (let i = 0; i < 24; i++) gone.store(`c-${i}`, `cached-${i}`.padEnd(40 + (i % 4) * 60, 'c'));
      for (let i = 0; i < 24; i++) gone.delete(`c-${i}`);
      internal.collect(gone); // freed by the dead thread: into its cache
      internal.collect(gone);
      internal.abandonMap(gone); // as a terminated thread leaves it
      expect(internal.reapThread(victim, dead)).toBe(1);
      internal.recordDeath(dead);
    };
    expect(leaksAtEveryCrashPoint(map, reapsCache, 20, 15_000_000)).toEqual([]);
    expect(internal.heapUnaccounted(map)).toBe(0);
    map.close();
  });
});

/**
 * A writer dies at each crash point of `writes` (after `setUp`), and then its
 * reaper at each of its own crash points, and this thread reaps both: the
 * leaks found, and at how many of the writer's crash points it died.
 */
function leaksOfDeadReapers(
  map: SyncMap<string, string>, setUp: () => void, writes: (d: SyncMap<string, string>) => void,
  firstDead: number, firstReaper: number,
): { leaks: string[]; writerDeaths: number } {
  let writerDeaths = 0;
  let dead = firstDead;
  let reaper = firstReaper;
  const leaks: string[] = [];
  for (let n = 1; ; n++) {
    const reaps = (victim: SyncMap<string, string>): void => {
      setUp();
      const writer = ++dead;
      // How many crash points the writes reach depends on what reclamation
      // has to do then, which moves a little from run to run.
      if (!crashAt(map.handle, writer, n, writes, 'terminated')) return;
      expect(internal.reapThread(victim, writer)).toBe(1);
      internal.recordDeath(writer);
    };
    // Past the writes' last crash point: done.
    setUp();
    const probe = ++dead;
    if (!crashAt(map.handle, probe, n, writes, 'terminated')) break;
    expect(internal.reapThread(map, probe)).toBe(1);
    internal.recordDeath(probe);
    leaks.push(...leaksAtEveryCrashPoint(map, reaps, -1, reaper).map((l) => `writer at ${n}, reaper ${l}`));
    reaper += 10_000;
    writerDeaths++;
  }
  return { leaks, writerDeaths };
}

describe('a reaper stopped while it frees or retires what a dead thread held', () => {
  it('loses none of the value the dead thread had replaced, or made and not stored', () => {
    // The dead thread dies at each crash point of two writes of 4 KB values
    // (an overwrite: the old value unlinked and not yet retired; a new key:
    // the new value made and not yet stored).
    const map = internal.createWithBuild<string, string>('debug', { shards: 1, values: 'string', lockTimeoutMs: 1000 });
    const big = (c: string): string => c.repeat(4000); // one 4096-byte block
    const writes = (d: SyncMap<string, string>): void => {
      d.store('k', big('b')); // in the read table: swapped without the lock
      d.store('new', big('n'));
    };
    const setUp = (): void => {
      map.clear();
      map.store('k', big('a'));
      map.load('k'); // a miss: promoted
    };
    const { leaks, writerDeaths } = leaksOfDeadReapers(map, setUp, writes, 16_000_000, 17_000_000);
    expect(writerDeaths).toBeGreaterThan(4);
    expect(leaks).toEqual([]);
    expect(internal.heapUnaccounted(map)).toBe(0);
    map.close();
  });

  it('loses none of a value the dead thread was freeing unfinished, its chunks ran out', () => {
    // The dead thread dies while it frees a value whose fourth block could not
    // be made (its first block and two chunks made, of five blocks): its held
    // value then names a chain shorter than a whole value's, which its reaper
    // frees the same way, chunk by chunk.
    const map = internal.createWithBuild<string, string>('debug', { shards: 1, values: 'string', lockTimeoutMs: 1000 });
    const writes = (d: SyncMap<string, string>): void => storeRefused(d, 4, 'unfinished', 'u'.repeat(20_000));
    const { leaks, writerDeaths } = leaksOfDeadReapers(map, () => map.clear(), writes, 18_000_000, 19_000_000);
    expect(writerDeaths).toBeGreaterThan(1);
    expect(leaks).toEqual([]);
    expect(internal.heapUnaccounted(map)).toBe(0);
    map.close();
  });
});

describe('a thread that dies after an operation that held blocks', () => {
  it('whose large value ran out of memory half-way through its chunks: its reaper frees nothing twice', () => {
    const map = internal.createWithBuild<string, string>('debug', { shards: 1, values: 'string', lockTimeoutMs: 1000 });
    const big = (n: number): string => `big-${n}-`.padEnd(20_000, 'y'); // a first block and four chunks
    let before = floor(map);
    let refused = 0;
    for (let n = 1; n <= 8; n++) {
      const deadThread = 6_000_000 + n;
      const victim = internal.attachAs<string, string>(map.handle, deadThread);
      const core = internal.coreOfMap(victim);
      core.sm_debugFailAllocation(n); // the n-th allocation fails, and every one after it
      try {
        victim.store(`key-${n}`, big(n));
      } catch (error) {
        expect((error as SyncMapError).code).toBe('ERR_SYNCMAP_FULL');
        refused++;
      }
      core.sm_debugFailAllocation(0);
      internal.abandonMap(victim);
      expect(internal.reapThread(map, deadThread)).toBe(1);
      expect(internal.verify(map)).toBe(0);
      // Nothing freed twice: every block the heap hands out again holds what was stored in it.
      for (let i = 0; i < 6; i++) map.store(`after-${i}`, big(100 + i));
      for (let i = 0; i < 6; i++) expect(map.load(`after-${i}`)).toBe(big(100 + i));
      const after = floor(map);
      expect(after, `after failing allocation ${n}`).toBe(before);
      before = after;
    }
    expect(refused).toBeGreaterThanOrEqual(4);
    map.close();
  });

  it('that deleted a dirty-only key while its miss promoted: no third object is left to retire', () => {
    // A delete of a key in dirty only unlinks its entry and value; the miss it
    // counts may promote dirty, and retiring the old read table unlinks its
    // EXPUNGED entries in turn. The debug build asserts that a thread never
    // has more than two unlinked and not yet retired (reclaim.ts, recordUnlinked).
    const map = internal.createWithBuild<string, number>('debug', { shards: 1, values: 'number' });
    map.store('a', 1);
    for (let i = 0; i < 4; i++) map.load('a'); // misses: promotes the one-key dirty table
    map.delete('a'); // DELETED in read
    map.store('b', 2); // dirty made from read: 'a' EXPUNGED
    map.delete('b'); // dirty only: dropped, and its miss promotes
    expect(internal.verify(map)).toBe(0);
    expect([...map.keys()]).toEqual([]);
    map.close();
  });
});

describe('stores near the edge of the stack, cut short by real stack overflows', () => {
  // An overflow cuts an allocation short at any call, before the store pins;
  // the bindings' own recovery may overflow too (it is then put off), and the
  // next store, still deep in the stack, allocates again before it runs.
  // (helper-54's tDive.mjs: memory lost within 0.2-5 s before the fix.)
  it('lose none of the runs the allocator held', async () => {
    const map = SyncMap.createSync<string, unknown>({ maxMemoryBytes: 64 << 20, values: 'json' });
    const value = (i: number): unknown => ({ k: `k${i}`, p: 'x'.repeat(100) });
    let key = 0;
    const live: string[] = [];
    // Free memory in large runs, so that a new carving chunk is split off a larger block.
    const refill = (): void => {
      for (let i = 0; i < 6000; i++) live.push(`pre-${key}`), map.store(`pre-${key++}`, value(i));
      for (let i = live.length - 1; i >= 0; i--) if (i % 1000 < 900) map.delete(live.splice(i, 1)[0]!);
      for (let i = 0; i < 4; i++) internal.collect(map);
    };
    refill();
    const random = randomFrom(12345);
    let left = 0;
    let overflows = 0;
    const step = (): void => {
      if (left <= 0 || random() < 0.3) return;
      left--;
      try {
        map.store(`d-${key}`, value(key));
        live.push(`d-${key++}`);
      } catch (error) {
        if (!(error instanceof RangeError)) throw error;
        overflows++;
      }
    };
    /** Recurses to the edge of the stack, then stores on the way back up. */
    const dive = (): void => {
      try {
        dive();
      } catch (error) {
        if (!(error instanceof RangeError)) throw error;
      }
      step();
    };
    const started = Date.now();
    while (Date.now() - started < 4000) {
      left = 1 + Math.floor(random() * (random() < 0.5 ? 30 : 600));
      dive();
      await new Promise((resolve) => setImmediate(resolve)); // a recovery put off runs here
      const lost = internal.heapUnaccounted(map);
      if (lost !== 0) expect.fail(`${lost} bytes of free memory lost after ${overflows} overflows`);
      if (live.length > 20_000) {
        for (const gone of live.splice(0, 15_000)) map.delete(gone);
        for (let i = 0; i < 4; i++) internal.collect(map);
      }
    }
    expect(overflows).toBeGreaterThan(100);
    expect(internal.verify(map)).toBe(0);
    map.close();
  });
});
