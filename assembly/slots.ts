// Thread slots: one per attached instance. A slot is the thread's identity in
// the shared heap: its index names it as a lock owner (mutex.ts), its pin word
// is its announcement to epoch reclamation (reclaim.ts), and it holds the
// thread's scratch region and byte counters.
//
//   slot (SLOT_SIZE = 64 bytes, one cache line, MAX_SLOTS of them at SLOTS_BASE)
//   ┌────────┬──────────┬────────┬─────────┬────────────┬──────┐
//   │ state  │ threadId │ pin    │ scratch │ scratchCap │  —   │  +0 … +24
//   ├────────┴──────────┴────────┴─────────┴────────────┴──────┤
//   │ allocated bytes u64          │ freed bytes u64           │  +24 … +40
//   └──────────────────────────────────────────────────────────┘
//
//   state      FREE → ATTACHED: CAS by the attaching thread.
//              ATTACHED → FREE: store by the owner when it detaches.
//              ATTACHED → REAPING: CAS by a reaper, after the owner has exited;
//              REAPING → FREE: store by that reaper when it is done.
//   threadId   Node's threadId of the owner; written by the owner right after
//              claiming, read by reapers to find the slots of an exited thread.
//   pin        0, or (epoch << 1) | 1 while the owner is inside an operation.
//              Owner stores (sequentially consistent), epoch advancers load,
//              a reaper clears it. See reclaim.ts.
//   scratch    The owner's scratch region (key and value bytes marshalled by
//   scratchCap the bindings). Written by the owner; freed by the owner on detach
//              or by the reaper.
//   counters   Bytes this thread allocated / freed (alloc.ts); never reset, so
//              the sums over all slots stay exact when a slot is reused.

import { MAX_SLOTS } from "./config";
import { HEADER_SLOT_HIGH_WATER, SLOTS_BASE, SLOT_SIZE } from "./heap";
import { cas32, load32, load64, store32 } from "./atomics";

// @ts-ignore: decorator
@inline export const SLOT_STATE: usize = 0;
// @ts-ignore: decorator
@inline export const SLOT_THREAD_ID: usize = 4;
// @ts-ignore: decorator
@inline export const SLOT_PIN: usize = 8;
// @ts-ignore: decorator
@inline export const SLOT_SCRATCH: usize = 12;
// @ts-ignore: decorator
@inline export const SLOT_SCRATCH_CAP: usize = 16;
// @ts-ignore: decorator
@inline export const SLOT_ACCOUNT: usize = 24;

// @ts-ignore: decorator
@inline export const FREE: u32 = 0;
// @ts-ignore: decorator
@inline export const ATTACHED: u32 = 1;
// @ts-ignore: decorator
@inline export const REAPING: u32 = 2;

// @ts-ignore: decorator
@inline export function slotAt(index: u32): usize {
  return SLOTS_BASE + (<usize>index) * SLOT_SIZE;
}

// @ts-ignore: decorator
@inline export function slotIndex(slot: usize): u32 {
  return <u32>((slot - SLOTS_BASE) / SLOT_SIZE);
}

/** One past the highest slot index ever claimed. */
// @ts-ignore: decorator
@inline export function slotHighWater(): u32 {
  return load32(HEADER_SLOT_HIGH_WATER);
}

/** Claims a free slot for `threadId`; returns its address, or 0 when all are taken. */
export function slotClaim(threadId: u32): usize {
  for (let i: u32 = 0; i < MAX_SLOTS; i++) {
    const slot = slotAt(i);
    if (cas32(slot + SLOT_STATE, FREE, ATTACHED) != FREE) continue;
    store32(slot + SLOT_THREAD_ID, threadId);
    // Raise the high-water mark before this slot can ever be pinned.
    let high = load32(HEADER_SLOT_HIGH_WATER);
    while (high < i + 1) {
      const seen = cas32(HEADER_SLOT_HIGH_WATER, high, i + 1);
      if (seen == high) break;
      high = seen;
    }
    return slot;
  }
  return 0;
}

/** Returns a slot to the free pool. The caller owns it (as owner or reaper). */
export function slotRelease(slot: usize): void {
  store32(slot + SLOT_PIN, 0);
  store32(slot + SLOT_SCRATCH, 0);
  store32(slot + SLOT_SCRATCH_CAP, 0);
  store32(slot + SLOT_STATE, FREE);
}

/** Bytes allocated minus bytes freed, over every slot and the init account. */
export function bytesInUse(initAccount: usize): u64 {
  let total = load64(initAccount) - load64(initAccount + 8);
  const n = slotHighWater();
  for (let i: u32 = 0; i < n; i++) {
    const counters = slotAt(i) + SLOT_ACCOUNT;
    total += load64(counters) - load64(counters + 8);
  }
  return total;
}

/** Number of slots currently attached. */
export function slotsAttached(): u32 {
  let n: u32 = 0;
  const high = slotHighWater();
  for (let i: u32 = 0; i < high; i++) {
    if (load32(slotAt(i) + SLOT_STATE) == ATTACHED) n++;
  }
  return n;
}
