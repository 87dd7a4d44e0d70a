// Allocation for the map's own objects: the allocator (alloc.ts), and when it
// runs out, everything that can give memory back before a write fails with
// FULL. Kept apart from alloc.ts and reclaim.ts so that neither needs the
// other, nor the layouts of what they allocate and free.

import { alloc, allocReusing } from "./alloc";
import { collect } from "./reclaim";
import { HEADER_INIT_ACCOUNT } from "./heap";
import { bytesFreed } from "./slots";
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
 * the allocator; then, once the bump region is used up, the pins of dead
 * threads are released (they hold reclamation back) and whatever reclamation
 * can free is freed; then free memory of other sizes is split or coalesced
 * (alloc.ts, allocReusing). A write that still fails tries once more after
 * giving back what deleted keys hold and waiting out old pins (abi.ts, makeRoom),
 * with nothing held.
 */
export function allocOrCollect(size: usize): usize {
  if (failAllocation()) return 0;
  let block = alloc(size);
  if (block) return block;
  reapDead();
  collect();
  block = alloc(size);
  if (block) return block;
  return allocReusing(size, bytesFreed(HEADER_INIT_ACCOUNT));
}
