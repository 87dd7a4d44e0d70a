// This instance's thread identity: the slot it claimed (slots.ts) becomes its
// byte account (alloc.ts), its epoch announcement (reclaim.ts) and its lock
// owner id (map.ts). Wasm globals are per instance, so each instance (one per
// Node thread, or the one of a proxy-wasm VM) binds its own.

import { HEADER_INIT_ACCOUNT } from "./heap";
import { setAccount } from "./alloc";
import { SLOT_ACCOUNT, slotIndex } from "./slots";
import { reclaimBind } from "./reclaim";
import { mapBindOwner } from "./map";

/** Makes `slot` this instance's thread identity, or (0) forgets it. */
export function threadBind(slot: usize): void {
  setAccount(slot ? slot + SLOT_ACCOUNT : HEADER_INIT_ACCOUNT);
  reclaimBind(slot);
  mapBindOwner(slot ? slotIndex(slot) + 1 : 0);
}
