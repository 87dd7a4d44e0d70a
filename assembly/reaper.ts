// Reaping: giving back what a thread that died still held. Worker.terminate()
// stops a thread at any instruction, possibly holding shard locks, the
// allocator's COALESCE lock, an epoch pin, a retire batch, a block cache and a
// scratch region, and in the middle of a step it announced (an intent, map.ts).
// Any live thread attached to the heap can reap it, in this order:
//
//   1. pin itself, take over every lock the dead thread held, and finish or
//      undo its steps (map.ts, alloc.ts); the dead slot's pin still stands, so
//      nothing it retired or was building can have been freed meanwhile;
//   2. free the blocks it had made and not yet published (inflight.ts), retire
//      what it had unlinked and not yet retired, hand its retire batch on to
//      reclamation, then clear its pin;
//   3. free its scratch, return its cached blocks;
//   4. finish the reapings it had itself begun, if it was a reaper;
//   5. release the slot.
//
// A reaper marks the slot REAPING with its own slot index first (slots.ts), so
// that one thread reaps a slot at a time, and a reaper that dies half-way is
// recognized by whoever reaps *it*: that thread adopts the reapings and runs
// them again; every step above can be repeated.
//
// Which threads died is the host's knowledge, not the heap's: the bindings keep
// a registry of threads across the process (bindings/liveness.ts) and answer
// `threadDead` from it. A thread asks when a lock it waits for does not move
// (mutex.ts), when memory runs out (memory.ts), and when the bindings learn of
// a death.

import { nowSeconds } from "./clock";
import { heapCountRecoveredLocks, heapRootMap } from "./heap";
import { allocRecoverCoalesce, allocReleaseRun } from "./alloc";
import { memorySetReaper } from "./memory";
import { mutexSetDeadOwnerHandler } from "./mutex";
import { pin, reclaimAdoptBatch, reclaimAdoptUnretired, reclaimClearPin, reclaimFreeHeldBlock, unpin } from "./reclaim";
import { inflightFree } from "./inflight";
import {
  SLOT_HELD_RUN, slotAdoptReap, slotAt, slotAttachedThread, slotBeginReap, slotFreeHeldScratch, slotHighWater,
  slotIndex, slotReapingBy, slotRelease,
} from "./slots";
import { threadReleaseCache } from "./thread";
import { MAP_KIND_LOCKED, mapKind, mapRecoverLocks } from "./map";
import { crashPoint } from "./faults";
import { MAX_SLOTS } from "./config";

// 1 if the thread with this id has exited (it will never run again), else 0.
// @ts-ignore: decorator
@external("env", "threadDead")
declare function hostThreadDead(threadId: u32): i32;

// Thread-local: this thread's slot, 0 while not attached.
let self: usize = 0;

export function reaperBind(slot: usize): void {
  self = slot;
}

/** Reaps every slot held by thread `threadId`, which has exited. Returns how many. */
export function reapThread(threadId: u32): i32 {
  if (!self) return 0;
  const me = slotIndex(self);
  const high = slotHighWater();
  let reaped = 0;
  for (let i: u32 = 0; i < high; i++) {
    const dead = slotAt(i);
    if (dead == self || !slotBeginReap(dead, threadId, me)) continue;
    reapSlot(dead);
    reaped++;
  }
  return reaped;
}

/** Asks the host about every attached thread and reaps those that have exited. Returns how many slots. */
export function reapDead(): i32 {
  if (!ASC_FEATURE_THREADS || !self) return 0;
  let reaped = 0;
  const high = slotHighWater();
  for (let i: u32 = 0; i < high; i++) {
    const slot = slotAt(i);
    if (slot == self) continue;
    const thread = slotAttachedThread(slot);
    if (thread >= 0 && hostThreadDead(<u32>thread)) reaped += reapThread(<u32>thread);
  }
  return reaped;
}

/**
 * For a lock that does not move (mutex.ts): if its holder, lock-owner `owner`
 * (slot index + 1), belongs to a thread that has exited, or is being reaped by
 * one, reap it now. True if something was reaped: the caller looks again.
 */
function reapOwner(owner: u32): bool {
  if (!ASC_FEATURE_THREADS || !self || !owner || owner > MAX_SLOTS) return false;
  let slot = slotAt(owner - 1);
  // A slot being reaped by a reaper that died: reap the reaper (it adopts the rest).
  for (let hops = 0; hops < <i32>MAX_SLOTS; hops++) {
    const reaper = slotReapingBy(slot);
    if (reaper < 0) break;
    slot = slotAt(<u32>reaper);
  }
  if (slot == self) return false;
  const thread = slotAttachedThread(slot);
  return thread >= 0 && hostThreadDead(<u32>thread) != 0 && reapThread(<u32>thread) > 0;
}

/** Repairs and releases the slot of a dead thread, which this thread has marked as its reaping. */
function reapSlot(dead: usize): void {
  const releasedAt = nowSeconds(); // before anything changes (slotRelease)
  const deadOwner = slotIndex(dead) + 1;
  pin();
  heapCountRecoveredLocks(recoverLocksOf(deadOwner));
  allocReleaseRun(dead + SLOT_HELD_RUN); // after: a run's pieces go to DEFERRED while lists are frozen
  crashPoint();
  inflightFree(dead);
  reclaimFreeHeldBlock(dead);
  reclaimAdoptUnretired(dead);
  reclaimAdoptBatch(dead);
  reclaimClearPin(dead);
  unpin();
  crashPoint();
  slotFreeHeldScratch(dead); // the published one stays: the slot's spare (slots.ts)
  threadReleaseCache(dead);
  crashPoint();
  // The dead thread may itself have been reaping other slots: finish those.
  // Before the release: a reaping is marked with its reaper's slot index, and
  // once `dead` is free a new thread may claim that index and mark reapings of
  // its own, which this loop must not take over.
  const deadIndex = slotIndex(dead);
  const me = slotIndex(self);
  const high = slotHighWater();
  for (let j: u32 = 0; j < high; j++) {
    if (slotAdoptReap(slotAt(j), deadIndex, me)) reapSlot(slotAt(j));
  }
  slotRelease(dead, releasedAt);
}

/**
 * After a trap unwound out of this thread's own operation (abi.ts), still
 * pinned: recovers the locks it still holds, finishes the step it was in, and
 * gives back the blocks it was holding, as a reaper would for a dead thread,
 * except that the slot stays this thread's.
 */
export function reaperRecoverSelf(): void {
  const owner = slotIndex(self) + 1;
  // First: the repairs below free blocks, naming each in this same slot's held
  // block, and the allocator's steps use its held run.
  allocReleaseRun(self + SLOT_HELD_RUN);
  reclaimFreeHeldBlock(self);
  recoverLocksOf(owner);
  inflightFree(self);
  reclaimAdoptUnretired(self);
}

/**
 * After a trap that came while this thread was not pinned (the allocator
 * coalescing free memory for a value made before the operation pinned, in
 * abi.ts's swapOnce), and between calls, with no range or snapshot of its own
 * open: takes back the locks it may still hold, the shards' (finishing or
 * undoing the step each was in) and the allocator's COALESCE lock (unfreezing
 * the lists), as reaperRecoverSelf does for a trap while pinned. Between calls
 * no other lock is this thread's, so any it holds was left by the trap.
 */
export function reaperRecoverLocks(): void {
  pin();
  recoverLocksOf(slotIndex(self) + 1);
  unpin();
}

/**
 * Takes over the locks lock-owner `owner` (a slot index + 1) holds, the
 * shards' (finishing or undoing the step each was in) and the allocator's
 * COALESCE lock; the caller is pinned. Returns how many shard locks.
 */
function recoverLocksOf(owner: u32): u32 {
  const map = heapRootMap();
  const recovered = mapKind(map) != MAP_KIND_LOCKED ? mapRecoverLocks(map, owner) : 0;
  allocRecoverCoalesce(owner);
  return recovered;
}

/**
 * Finishes the reaps this thread began and a trap cut short (a stack overflow
 * can, at any call of reapSlot). Each is marked REAPING by this thread's slot,
 * which no other thread takes over while this one lives (slotAdoptReap only
 * matches a dead reaper): unfinished, the dead thread's slot, its pin and its
 * blocks would stay held for good. reapSlot starts over from any point, as for
 * a reaper that died. Called only from the ABI's entries, after this thread's
 * own recovery (abi.ts, recoverFromTrap), never from inside a reap: reapDead,
 * which allocation and lock waits call mid-operation, must not (it could
 * start over a reap still under way further up this thread's stack).
 */
export function reaperResumeOwn(): void {
  if (!self) return;
  const me = <i32>slotIndex(self);
  const high = slotHighWater();
  for (let j: u32 = 0; j < high; j++) {
    const slot = slotAt(j);
    if (slot != self && slotReapingBy(slot) == me) reapSlot(slot);
  }
}

memorySetReaper(reapDeadQuietly);
mutexSetDeadOwnerHandler(reapOwner);

function reapDeadQuietly(): void {
  reapDead();
}
