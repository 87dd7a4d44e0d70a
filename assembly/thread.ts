// This instance's thread identity: the slot it claimed (slots.ts) becomes its
// byte account, block cache and lock-owner id for the allocator (alloc.ts), its
// epoch announcement, retire batch and unretired objects (reclaim.ts), its held
// blocks (inflight.ts), and its lock-owner id and intent record (map.ts). Wasm
// globals are per instance, so each instance (one per Node thread, or the one of
// a proxy-wasm VM) binds its own.

import { HEADER_INIT_ACCOUNT } from "./heap";
import { CACHE_SIZE, alloc, allocBind, allocCacheDrain, allocFreeThroughRun, allocReleaseRun } from "./alloc";
import { SLOT_ACCOUNT, SLOT_CACHE, SLOT_CARVE, SLOT_HELD_RUN, SLOT_WAITING, slotCache, slotIndex, slotSetCache } from "./slots";
import { reclaimBind } from "./reclaim";
import { inflightBind } from "./inflight";
import { mapBindOwner } from "./map";
import { mutexBind } from "./mutex";
import { statsBind } from "./stats";

/**
 * Makes `slot` this instance's thread identity, with a block cache of its own
 * (none if memory is short: the cache only saves time).
 */
export function threadBind(slot: usize): void {
  // Bound first without a cache, so that the cache's own allocation (a split,
  // a bump's gap) is named by this slot's held run and counted in its account.
  allocBind(slot + SLOT_ACCOUNT, 0, slotIndex(slot) + 1, 0, slot + SLOT_HELD_RUN);
  const cache = alloc(CACHE_SIZE);
  if (cache) memory.fill(cache, 0, CACHE_SIZE);
  slotSetCache(slot, cache);
  allocBind(slot + SLOT_ACCOUNT, cache, slotIndex(slot) + 1, slot + SLOT_CARVE, slot + SLOT_HELD_RUN);
  reclaimBind(slot);
  inflightBind(slot);
  mapBindOwner(slotIndex(slot) + 1, slot);
  mutexBind(slot + SLOT_WAITING);
  statsBind(slot);
}

/** Forgets this instance's thread identity, returning its cached blocks first. */
export function threadUnbind(slot: usize): void {
  allocBind(slot + SLOT_ACCOUNT, 0, slotIndex(slot) + 1, 0, slot + SLOT_HELD_RUN); // no cache, no chunk from here on
  threadReleaseCache(slot);
  allocBind(HEADER_INIT_ACCOUNT, 0, 0, 0, 0);
  reclaimBind(0);
  inflightBind(0);
  mapBindOwner(0, 0);
  mutexBind(0);
  statsBind(0);
}

/** Returns the cached blocks and carving chunk of `slot`'s thread to the shared lists (its own, or a dead thread's). */
export function threadReleaseCache(slot: usize): void {
  allocReleaseRun(slot + SLOT_CARVE); // the rest of its carving chunk, a run
  const cache = slotCache(slot);
  if (!cache) return;
  // Each block moves from the cache into the slot's held run, then to a list:
  // repeatable by whoever takes over (reapSlot gives the run back first).
  allocCacheDrain(cache, slot + SLOT_HELD_RUN);
  allocFreeThroughRun(cache, CACHE_SIZE, slot + SLOT_CACHE, slot + SLOT_HELD_RUN);
}
