// Allocation for the map's own objects: the allocator (alloc.ts), and when it
// runs out, everything that can give memory back before a write fails with
// FULL. Kept apart from alloc.ts and reclaim.ts so that neither needs the
// other, nor the layouts of what they allocate and free.

import { alloc, allocReusing, heapBytes } from "./alloc";
import { collect } from "./reclaim";
import { HEADER_INIT_ACCOUNT } from "./heap";
import { bytesFreed, bytesInUse } from "./slots";
import { failAllocation } from "./faults";

/** Reaps threads known to have died (reaper.ts registers it; a no-op until then). */
type Reap = () => void;
function reapNothing(): void {}
let reapDead: Reap = reapNothing;

export function memorySetReaper(reap: Reap): void {
  reapDead = reap;
}

/**
 * A block of at least `size` bytes, or 0 when memory is exhausted. In turn:
 * the free lists; then the bump region, which grows the heap, unless more than
 * half of the heap is free (heapMayGrow), when free memory of other sizes is
 * split or coalesced first (alloc.ts, allocReusing), so that a map far below
 * its limit does not take fresh memory while its own lies unused (pages once
 * touched stay committed); then, once the bump region is used up, the pins of
 * dead threads are released (they hold reclamation back), whatever reclamation
 * can free is freed, and free memory of other sizes is split or coalesced. A
 * write that still fails tries once more after giving back what deleted keys
 * hold and waiting out old pins (abi.ts, makeRoom), with nothing held.
 *
 * Free memory of other sizes may wait for a coalesce under way in another
 * thread (the COALESCE lock, up to lockTimeoutMs each of the two times).
 * `waits` false skips a busy coalesce instead: for the sweeper (map.ts,
 * mapSweep), which runs on an event loop by itself, a shard lock held; that
 * loop may be the one that must hear of the coalescer's exit (bindings/
 * liveness.ts), so a wait there would hold it, and every writer of the shard,
 * for lockTimeoutMs per tombstone.
 */
export function allocOrCollect(size: usize, waits: bool = true): usize {
  if (failAllocation()) return 0;
  let block = alloc(size, false);
  if (block) return block;
  if (!heapMayGrow()) {
    block = allocReusing(size, bytesFreed(HEADER_INIT_ACCOUNT), waits);
    if (block) return block;
  }
  block = alloc(size);
  if (block) return block;
  reapDead();
  collect();
  block = alloc(size);
  if (block) return block;
  return allocReusing(size, bytesFreed(HEADER_INIT_ACCOUNT), waits);
}

/**
 * Whether the heap should grow for a block the free lists do not have: while
 * it is small, or at least half of it is in use. (Summing every thread's
 * counters takes a few loads per attached thread: this runs only when a block
 * would come from the bump region.)
 */
function heapMayGrow(): bool {
  const heap = <u64>heapBytes();
  return heap < GROW_FREELY || bytesInUse(HEADER_INIT_ACCOUNT) * 2 >= heap;
}

// A heap smaller than this grows without looking for free memory elsewhere first.
// @ts-ignore: decorator
@inline const GROW_FREELY: u64 = 8 << 20;
