// This instance's thread identity: the slot it claimed (slots.ts) becomes its
// byte account and block cache (alloc.ts), its epoch announcement (reclaim.ts)
// and its lock owner id (map.ts). Wasm globals are per instance, so each
// instance (one per Node thread, or the one of a proxy-wasm VM) binds its own.

import { HEADER_INIT_ACCOUNT } from "./heap";
import { CACHE_SIZE, alloc, allocCacheDrain, free, setAccount, setCache } from "./alloc";
import { SLOT_ACCOUNT, slotIndex, slotSetCache, slotTakeCache } from "./slots";
import { reclaimBind } from "./reclaim";
import { mapBindOwner } from "./map";

/**
 * Makes `slot` this instance's thread identity, with a block cache of its own
 * (none if memory is short: the cache only saves time).
 */
export function threadBind(slot: usize): void {
  setAccount(slot + SLOT_ACCOUNT);
  reclaimBind(slot);
  mapBindOwner(slotIndex(slot) + 1);
  const cache = alloc(CACHE_SIZE);
  if (cache) memory.fill(cache, 0, CACHE_SIZE);
  slotSetCache(slot, cache);
  setCache(cache);
}

/** Forgets this instance's thread identity, returning its cached blocks first. */
export function threadUnbind(slot: usize): void {
  setCache(0);
  threadReleaseCache(slot);
  setAccount(HEADER_INIT_ACCOUNT);
  reclaimBind(0);
  mapBindOwner(0);
}

/** Returns the cached blocks of `slot`'s thread to the shared lists (its own, or a dead thread's). */
export function threadReleaseCache(slot: usize): void {
  const cache = slotTakeCache(slot);
  if (!cache) return;
  allocCacheDrain(cache);
  free(cache, CACHE_SIZE);
}
