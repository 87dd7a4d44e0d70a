// Statistics: counters kept per thread, in its slot (slots.ts), so that
// counting a load writes nothing another thread reads on its own load path: a
// thread adds to its own counters with plain stores, and whoever asks for the
// totals sums every slot's (stats(), abi.ts). A slot's counters are never
// reset, so the totals stay exact when a slot passes to another thread.
//
//   counters (STAT_COUNT × u64 at SLOT_STATS)
//   misses, hits       loads and has() calls that missed, and that found the key
//                      (hits answered by the bindings' read cache are in the
//                      slot's cacheHits word instead)
//                      (each counted once: loads are their sum, so that no sum
//                      read while threads count goes backwards)
//   slowLoads          loads that had to take a shard's lock (key not in read)
//   promotions         dirty tables promoted to read
//   locks              shard locks taken
//   contended          of those, how many had to wait
//   waitMicros         time spent waiting for them (µs)
//   expired            values removed because their time had passed
//   compacted          tombstones removed by compaction
//   writes             stores, swaps, deletes, CAS, adds that changed the map

import { load64 } from "./atomics";
import { SLOT_CACHE_HITS, SLOT_STATS, slotAt, slotHighWater } from "./slots";

// @ts-ignore: decorator
@inline export const STAT_MISSES: u32 = 0;
// @ts-ignore: decorator
@inline export const STAT_HITS: u32 = 1;
// @ts-ignore: decorator
@inline export const STAT_SLOW_LOADS: u32 = 2;
// @ts-ignore: decorator
@inline export const STAT_PROMOTIONS: u32 = 3;
// @ts-ignore: decorator
@inline export const STAT_LOCKS: u32 = 4;
// @ts-ignore: decorator
@inline export const STAT_CONTENDED: u32 = 5;
// @ts-ignore: decorator
@inline export const STAT_WAIT_MICROS: u32 = 6;
// @ts-ignore: decorator
@inline export const STAT_EXPIRED: u32 = 7;
// @ts-ignore: decorator
@inline export const STAT_COMPACTED: u32 = 8;
// @ts-ignore: decorator
@inline export const STAT_WRITES: u32 = 9;
// @ts-ignore: decorator
@inline export const STAT_COUNT: u32 = 10;

// Thread-local: this thread's counters (0 until attached: counting is skipped).
let counters: usize = 0;

export function statsBind(slot: usize): void {
  counters = slot ? slot + SLOT_STATS : 0;
}

/** Adds `n` to one of this thread's counters. */
// @ts-ignore: decorator
@inline export function statsAdd(which: u32, n: u64): void {
  if (!counters) return;
  const at = counters + ((<usize>which) << 3);
  store<u64>(at, load<u64>(at) + n);
}

// @ts-ignore: decorator
@inline export function statsCount(which: u32): void {
  statsAdd(which, 1);
}

/**
 * One counter summed over every slot ever claimed. Hits include the loads the
 * bindings answered from their read cache, which they count in the slot's
 * cacheHits word (slots.ts) without calling the core.
 */
export function statsTotal(which: u32): u64 {
  let total: u64 = 0;
  const high = slotHighWater();
  for (let i: u32 = 0; i < high; i++) total += load64(slotAt(i) + SLOT_STATS + ((<usize>which) << 3));
  return which == STAT_HITS ? total + statsCacheHits() : total;
}

/** The loads the bindings' read caches answered, summed over every slot ever claimed (part of the hits). */
export function statsCacheHits(): u64 {
  let total: u64 = 0;
  const high = slotHighWater();
  for (let i: u32 = 0; i < high; i++) total += <u64>load<f64>(slotAt(i) + SLOT_CACHE_HITS);
  return total;
}
