// Safe memory reclamation: epoch-based reclamation (Fraser, "Practical lock-
// freedom", 2004) in its three-epoch form.
//
// A reader never locks, so a writer that unlinks a table, an entry or a value
// cannot know whether another thread is still reading it. Every operation runs
// *pinned*: its thread announces the global epoch in its slot's pin word for the
// length of the operation. An unlinked object is *retired* into the limbo list
// of the epoch current at retirement, and the epoch only advances once every
// pinned thread has announced the current one. An object retired in epoch e can
// therefore be freed once the epoch reaches e + 2: every thread that could have
// seen it before it was unlinked has since unpinned.
//
// Epochs count 0, 1, 2, 0, …: a pinned thread is always at the global epoch or
// one behind it, so three values tell them apart, and the limbo list of epoch
// e + 2 is the list of epoch e - 1.
//
// Shared words (RECLAIM_BASE, in heap.ts):
//
//   EPOCH u32      0, 1 or 2. Advanced by CAS, by a pinned thread that has just
//                  seen every pinned slot announce the current value.
//   LIMBO[e] u32   Head of the objects retired while EPOCH was e, linked through
//                  each object's RETIRE_LINK word. Pushed by CAS by any pinned
//                  thread; taken whole (xchg with 0) by the thread whose CAS
//                  moves EPOCH from e + 1 to e + 2. A push to LIMBO[e] comes
//                  from a thread that read EPOCH == e while pinned at e or e - 1;
//                  the advance to e + 2 needs every pinned thread at e + 1,
//                  taker included, so no push can race with the take.
//   ADVANCES u32   How many times EPOCH moved (statistics). Written by the thread
//                  whose CAS moved it, before it unpins; no two such writes can
//                  overlap, because the next advance waits for that unpin.
//
// Every retirable object keeps its size in its own immutable header and a u32
// RETIRE_LINK at offset 4, which readers never look at; the link's low three
// bits (blocks are 8-aligned) hold the object's kind.
//
// Crash safety: a thread stopped while pinned holds the epoch back until a
// reaper clears its pin (abi.ts). A thread stopped between moving EPOCH and
// taking the stale list leaves that list to be freed one cycle later, when its
// index comes round again; a thread stopped while freeing a list leaks the rest.

import { DEBUG, RETIRE_BATCH } from "./config";
import { HEADER_INIT_ACCOUNT, RECLAIM_BASE } from "./heap";
import { cas32, load32, store32, xchg32 } from "./atomics";
import { alloc, allocReusing, free } from "./alloc";
import { SLOT_PIN, bytesFreed, slotAt, slotHighWater } from "./slots";
import { ENTRY_RETIRE_LINK, VALUE_RETIRE_LINK, entryBlockSize, valueBlockSize } from "./entry";
import { TABLE_RETIRE_LINK, tableBlockSize } from "./table";

// @ts-ignore: decorator
@inline const EPOCH: usize = RECLAIM_BASE;
// @ts-ignore: decorator
@inline const LIMBO: usize = RECLAIM_BASE + 4;
// @ts-ignore: decorator
@inline const ADVANCES: usize = RECLAIM_BASE + 16;

// @ts-ignore: decorator
@inline const RETIRE_LINK: usize = 4;
// @ts-ignore: ERROR is a compile-time builtin
if (ENTRY_RETIRE_LINK != RETIRE_LINK || VALUE_RETIRE_LINK != RETIRE_LINK || TABLE_RETIRE_LINK != RETIRE_LINK) {
  // @ts-ignore: ERROR is a compile-time builtin
  ERROR("every retirable object keeps its retire link at offset RETIRE_LINK");
}

// Object kinds, kept in the low bits of RETIRE_LINK.
// @ts-ignore: decorator
@inline export const KIND_VALUE: u32 = 1;
// @ts-ignore: decorator
@inline export const KIND_ENTRY: u32 = 2;
// @ts-ignore: decorator
@inline export const KIND_TABLE: u32 = 3;
// @ts-ignore: decorator
@inline const KIND_MASK: u32 = 7;

// Thread-local (Wasm globals are per instance, and an instance is a thread).
let pinWord: usize = 0; // this thread's slot + SLOT_PIN; 0 until attached
let pinDepth: i32 = 0; // nesting of pin() calls; the slot is announced while > 0
let batchHead: usize = 0; // this thread's retired objects not yet in a limbo list,
let batchTail: usize = 0; // linked through RETIRE_LINK like a limbo list
let batchCount: u32 = 0;

/** Makes `slot` this thread's announcement word. */
export function reclaimBind(slot: usize): void {
  pinWord = slot ? slot + SLOT_PIN : 0;
  pinDepth = 0;
}

/** Announces the current epoch: objects seen from now on stay valid until unpin(). */
// @ts-ignore: decorator
@inline export function pin(): void {
  if (pinDepth++) return;
  if (DEBUG) assert(pinWord != 0); // must be attached
  store32(pinWord, (load32(EPOCH) << 1) | 1);
}

// @ts-ignore: decorator
@inline export function unpin(): void {
  if (--pinDepth) return;
  store32(pinWord, 0);
}

/**
 * Hands an unlinked object to reclamation: it is freed two epochs from now or
 * later. The caller must be pinned, and must have made the object unreachable
 * from every shared word before calling.
 *
 * Retired objects first collect in this thread's own batch, which joins a
 * limbo list in one CAS every RETIRE_BATCH objects: a write then costs no
 * contended CAS on a list head of its own. The batch is tagged with the epoch
 * read when it joins, after every object in it was unlinked, so an object may be
 * kept longer than it needs, never freed sooner. A thread stopped mid-batch
 * leaks at most RETIRE_BATCH - 1 objects.
 */
export function retire(object: usize, kind: u32): void {
  if (DEBUG) assert(pinDepth > 0 && (object & KIND_MASK) == 0 && kind <= KIND_MASK);
  store<u32>(object + RETIRE_LINK, <u32>batchHead | kind);
  if (!batchHead) batchTail = object;
  batchHead = object;
  if (++batchCount >= RETIRE_BATCH) {
    flushRetired();
    tryAdvance();
  }
}

/** Moves this thread's batch of retired objects into a limbo list. The caller is pinned. */
function flushRetired(): void {
  if (!batchHead) return;
  const listAt = LIMBO + ((<usize>load32(EPOCH)) << 2);
  const tailKind = load<u32>(batchTail + RETIRE_LINK) & KIND_MASK;
  let head = load32(listAt);
  while (true) {
    store<u32>(batchTail + RETIRE_LINK, head | tailKind); // published by the CAS below
    const seen = cas32(listAt, head, <u32>batchHead);
    if (seen == head) break;
    head = seen;
  }
  batchHead = 0;
  batchTail = 0;
  batchCount = 0;
}

/**
 * Moves the epoch forward if every pinned thread has announced the current one,
 * and frees what was retired two epochs ago. The caller must be pinned.
 */
export function tryAdvance(): bool {
  if (DEBUG) assert(pinDepth > 0);
  const epoch = load32(EPOCH);
  const current = (epoch << 1) | 1;
  const slots = slotHighWater();
  for (let i: u32 = 0; i < slots; i++) {
    const pinned = load32(slotAt(i) + SLOT_PIN);
    if (pinned != 0 && pinned != current) return false;
  }
  const next = epoch == 2 ? 0 : epoch + 1;
  if (cas32(EPOCH, epoch, next) != epoch) return false;
  store32(ADVANCES, load32(ADVANCES) + 1);
  const stale = next == 2 ? 0 : next + 1; // == epoch - 1 (mod 3)
  freeRetired(<usize>xchg32(LIMBO + ((<usize>stale) << 2), 0));
  return true;
}

/** Advances as far as the other threads allow; frees all that can be freed. */
export function collect(): void {
  // Each round re-pins at the newest epoch, so that this thread does not hold
  // back the next advance itself; three advances drain all three lists.
  for (let i = 0; i < 3; i++) {
    pin();
    flushRetired();
    tryAdvance();
    unpin();
  }
}

/** alloc(), and when the heap is exhausted, reclaim what can be and try once more, from any free memory. */
export function allocOrCollect(size: usize): usize {
  let block = alloc(size);
  if (!block) {
    collect();
    block = alloc(size);
    // Then memory freed in other size classes (alloc.ts).
    if (!block) block = allocReusing(size, bytesFreed(HEADER_INIT_ACCOUNT));
  }
  return block;
}

/** Times the epoch has advanced since the heap began (statistics). */
export function epochAdvances(): u32 {
  return load32(ADVANCES);
}

/** True while this thread is inside pin() … unpin(). */
export function reclaimIsPinned(): bool {
  return pinDepth != 0;
}

/** Forgets this thread's pins (after a trap unwound past its unpin() calls). */
export function reclaimResetPin(): void {
  pinDepth = 0;
  store32(pinWord, 0);
}

/** Clears the pin of a slot whose thread has exited (the reaper's part). */
export function reclaimClearPin(slot: usize): void {
  store32(slot + SLOT_PIN, 0);
}

function freeRetired(object: usize): void {
  while (object) {
    const link = load<u32>(object + RETIRE_LINK);
    const next = <usize>(link & ~KIND_MASK);
    const kind = link & KIND_MASK;
    let size: usize = 0;
    if (kind == KIND_VALUE) size = valueBlockSize(object);
    else if (kind == KIND_ENTRY) size = entryBlockSize(object);
    else if (kind == KIND_TABLE) size = tableBlockSize(object);
    if (DEBUG) assert(size != 0);
    free(object, size);
    object = next;
  }
}
