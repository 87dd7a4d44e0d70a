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
// This file knows no object layouts: each kind of object registers how to free
// it (reclaimRegisterKind), and every retirable object keeps a u32 RETIRE_LINK
// at offset 4; the link's low three bits (blocks are 8-aligned) hold the
// object's kind, never 0. Until it is retired, a value block keeps its birth
// there instead (entry.ts), whose low three bits are 0: readers load it
// (mapRevalidate), and may replace an old birth by CAS (valueRestamp), which
// fails once retire() has written the link.
//
// Shared words (RECLAIM_BASE, in heap.ts):
//
//   EPOCH u32      0, 1 or 2. Advanced by CAS, by a pinned thread that has just
//                  seen every pinned slot announce the current value.
//   ADVANCES f64   How many times EPOCH moved, as a float64 (exact to 2^53:
//                  it never wraps). Written by the thread whose CAS moved it,
//                  after the CAS, before it unpins and before it frees anything
//                  of that advance; no two such writes can overlap, because the
//                  next advance waits for that unpin. (A thread terminated
//                  between the CAS and the write loses one count: the count is
//                  then below the number of advances, never above, and every
//                  advance that frees still counts first.) The bindings' read
//                  cache relies on this: a load that sees the count unchanged
//                  since a pinned thread read it knows that nothing that thread
//                  reached has been freed since, since that needs two advances
//                  after the pin, the second of which counts before it frees
//                  (abi.ts, recordFound). As a float64 it is read whole in one
//                  load from JavaScript. Value blocks record it at birth
//                  (entry.ts): a block freed and made again at the same address
//                  is born after the count of the advance that freed it.
//                  The core reads it with load64 and a reinterpret, which
//                  Binaryen folds into a plain f64.load: an aligned 8-byte
//                  load (single-copy atomic on x86-64 and arm64, as V8 emits
//                  it), ordered after the atomic operations before it, which
//                  is all its readers need (the allocation a birth follows,
//                  the value word mapRevalidate loads first).
//   LIMBO[e] u64   Head of the objects retired while EPOCH was e, linked through
//                  each object's RETIRE_LINK word: low 32 bits the first object,
//                  high 32 bits a tag bumped by every change. Pushed by CAS by
//                  any pinned thread (a whole batch at a time); emptied object by
//                  object, by CAS, by the thread whose CAS moves EPOCH from e + 1
//                  to e + 2. A push to LIMBO[e] comes from a thread that read
//                  EPOCH == e while pinned at e or e - 1; the advance to e + 2
//                  needs every pinned thread at e + 1, the freeing thread itself
//                  included until it unpins, so no push races with the freeing.
//
// Per thread, in its slot (slots.ts): the batch of objects it retired and has
// not yet pushed, so that a write costs no contended CAS of its own; it joins a
// limbo list every RETIRE_BATCH objects.
//
// Per thread too: the objects it has unlinked and not yet retired (at most two:
// a deleted key's entry and its value), its slot's unretired words. The owner
// records each one (recordUnlinked) just after the store or CAS that unlinked it, and
// retire() takes it off the record just before the store that puts it in the
// batch. Plain words: only the owner writes them while it lives.
//
// Threads that die (Worker.terminate() stops a thread at any instruction):
//   - pinned: its pin holds the epoch back until a reaper clears it (reaper.ts).
//   - with a batch: the reaper hands the batch on (reclaimAdoptBatch), or finds
//     that it had already been pushed; no retired object is lost.
//   - between unlinking an object and retiring it: the reaper retires what the
//     unretired words name (reclaimAdoptUnretired). Only a thread stopped
//     between the unlinking store and the record, or in retire() between
//     clearing the record and storing the batch head, leaks the object.
//   - while freeing a limbo list: the list keeps what is left, and the objects
//     are freed one cycle later. Objects are freed one at a time, after their
//     contents (a table's pages, a value's chunks: each kind's `drain`, which
//     is resumable), and unlinked before their own block is freed, so at most
//     one block leaks.

import { DEBUG, LOCK_WAIT_MS, RETIRE_BATCH } from "./config";
import { cas64, futexWait, load32, load64, store32, store64 } from "./atomics";
import { TIMED_OUT, reapIfDead } from "./mutex";
import { HEADER_INIT_ACCOUNT, RECLAIM_BASE } from "./heap";
import { allocCoalesceIfWorth, freeNamed } from "./alloc";
import { crashPoint } from "./faults";
import {
  SLOT_BATCH_BYTES, SLOT_BATCH_COUNT, SLOT_BATCH_HEAD, SLOT_BATCH_TAIL, SLOT_HELD_BLOCK, SLOT_HELD_BLOCK_SIZE, SLOT_PIN,
  SLOT_UNRETIRED, bytesFreed, bytesInUse,
  slotAt, slotHighWater, slotIndex as slotIndexOf,
} from "./slots";

// @ts-ignore: decorator
@inline const EPOCH: usize = RECLAIM_BASE;
// @ts-ignore: decorator
@inline const LIMBO: usize = RECLAIM_BASE + 8; // three u64 heads
// @ts-ignore: decorator
@inline const ADVANCES: usize = LIMBO + 3 * 8; // a float64, 8-aligned

// @ts-ignore: decorator
@inline export const RETIRE_LINK: usize = 4;
// The pin word's epoch and pinned bits (pin()).
// @ts-ignore: decorator
@inline const PIN_EPOCH_MASK: u32 = 7;
// How many low bits of a retire link hold the object's kind (value blocks'
// births keep them 0: entry.ts).
// @ts-ignore: decorator
@inline export const RETIRE_KIND_BITS: u32 = 3;
// @ts-ignore: decorator
@inline const KIND_MASK: u32 = (1 << RETIRE_KIND_BITS) - 1;
// @ts-ignore: decorator
@inline const TAG_ONE: u64 = 1 << 32;
// A batch joins a limbo list once it holds about this many bytes: at most what
// a thread keeps back from the others in the batch it has not handed over,
// whatever the size of its values (RETIRE_BATCH bounds it for small ones).
// Limbo lists are shared: while a pinned thread holds an epoch back, one
// thread may push many batches into the same list.
// @ts-ignore: decorator
@inline const BATCH_BYTES: usize = 64 << 10;

// ── kinds of objects ───────────────────────────────────────────────────────

// The kinds the map retires; each module that owns a layout registers how its
// kind is freed (entry.ts, table.ts, map.ts).
// @ts-ignore: decorator
@inline export const KIND_VALUE: u32 = 1;
// @ts-ignore: decorator
@inline export const KIND_ENTRY: u32 = 2;
// @ts-ignore: decorator
@inline export const KIND_TABLE: u32 = 3;
/** A shard's tables dropped by clear(), with every entry and value in them. */
// @ts-ignore: decorator
@inline export const KIND_ORPHAN: u32 = 4;

/** Frees what an object owns besides its own block; resumable, as said above. */
type Drain = (object: usize) => void;
/** The size of the object's own block (still readable after drain). */
type BlockSize = (object: usize) => usize;
/** About how many bytes freeing the object gives back, its contents included (for batching). */
type Weight = (object: usize) => usize;

function drainNothing(object: usize): void {}
function noSize(object: usize): usize { unreachable(); return 0; }

// Thread-local, like every global: each instance registers the same functions
// when its module starts. Kinds 1 … 7 (0 would be indistinguishable from a
// link with no kind).
let drain1: Drain = drainNothing, size1: BlockSize = noSize, weight1: Weight = noSize;
let drain2: Drain = drainNothing, size2: BlockSize = noSize, weight2: Weight = noSize;
let drain3: Drain = drainNothing, size3: BlockSize = noSize, weight3: Weight = noSize;
let drain4: Drain = drainNothing, size4: BlockSize = noSize, weight4: Weight = noSize;

/** Tells reclamation how to free objects of `kind` (1 … 4). Called once per kind, at start. */
export function reclaimRegisterKind(kind: u32, drain: Drain, size: BlockSize, weight: Weight): void {
  if (kind == 1) { drain1 = drain; size1 = size; weight1 = weight; }
  else if (kind == 2) { drain2 = drain; size2 = size; weight2 = weight; }
  else if (kind == 3) { drain3 = drain; size3 = size; weight3 = weight; }
  else if (kind == 4) { drain4 = drain; size4 = size; weight4 = weight; }
  else unreachable();
}

function weightOf(kind: u32): Weight {
  return kind == 1 ? weight1 : kind == 2 ? weight2 : kind == 3 ? weight3 : weight4;
}

function drainOf(kind: u32): Drain {
  return kind == 1 ? drain1 : kind == 2 ? drain2 : kind == 3 ? drain3 : drain4;
}

function sizeOf(kind: u32): BlockSize {
  return kind == 1 ? size1 : kind == 2 ? size2 : kind == 3 ? size3 : size4;
}

// ── this thread ────────────────────────────────────────────────────────────

// Thread-local (Wasm globals are per instance, and an instance is a thread).
let slot: usize = 0; // this thread's slot; 0 until attached
let pinDepth: i32 = 0; // nesting of pin() calls; the slot is announced while > 0
let pins: u32 = 0; // how many times this thread has pinned: tells one operation from the next

/** Makes `bound` (a slot, or 0) this thread's. */
export function reclaimBind(bound: usize): void {
  slot = bound;
  pinDepth = 0;
}

/**
 * Announces the current epoch: objects seen from now on stay valid until
 * unpin(). The pin word is (pins << 3) | (epoch << 1) | 1: the count makes each
 * operation's word differ from the last, so that a thread waiting for the
 * operations under way to end (snapshot(), map.ts) sees each one end.
 */
// @ts-ignore: decorator
@inline export function pin(): void {
  if (pinDepth++) return;
  if (DEBUG) assert(slot != 0); // must be attached
  store32(slot + SLOT_PIN, (++pins << 3) | (load32(EPOCH) << 1) | 1);
}

// @ts-ignore: decorator
@inline export function unpin(): void {
  if (--pinDepth) return;
  store32(slot + SLOT_PIN, 0);
}

/**
 * Records that this thread has just unlinked `object` (made it unreachable from
 * every shared word) and will retire it, so that a reaper retires it should
 * the thread stop first. At most two at a time (slots.ts).
 */
// @ts-ignore: decorator
@inline export function recordUnlinked(object: usize, kind: u32): void {
  const first = slot + SLOT_UNRETIRED;
  const at = load<u32>(first) ? first + 4 : first;
  if (DEBUG) assert(!load<u32>(at));
  store<u32>(at, <u32>object | kind);
}

/**
 * Retires what `owner` (a dead thread's slot, or this thread's own after a trap
 * unwound its operation) had unlinked and not yet retired. The caller is
 * pinned, and so is `owner` still, so nothing it unlinked has been freed.
 * Repeatable, and a reaper that dies here loses nothing: each word is cleared
 * in the stores that put its object in this thread's batch (retireNamed). (It
 * was taken with an exchange before the call: a reaper stopped at the call
 * lost the object, 4 KiB of value in a stress run.)
 */
export function reclaimAdoptUnretired(owner: usize): void {
  for (let at = owner + SLOT_UNRETIRED; at < owner + SLOT_UNRETIRED + 8; at += 4) {
    const record = load<u32>(at);
    if (!record) continue;
    crashPoint(); // a reaper stopped at the call below: the word still names the object
    retireNamed(<usize>(record & ~KIND_MASK), record & KIND_MASK, at);
  }
}

/**
 * Hands an unlinked object to reclamation: it is freed two epochs from now or
 * later. The caller must be pinned, and must have made the object unreachable
 * from every shared word before calling.
 *
 * The object joins this thread's batch in one store (the slot's batch head),
 * after its link is written, so a reaper always finds a well-formed batch. The
 * batch joins a limbo list every RETIRE_BATCH objects, or sooner once it holds
 * BATCH_BYTES (a thread overwriting a few large values would otherwise keep 255
 * of them back), tagged with the epoch read then, after every object in it was
 * unlinked: an object may be kept longer than it needs, never freed sooner.
 */
export function retire(object: usize, kind: u32): void {
  retireAndLetGo(object, kind, 0);
}

/**
 * retire() of an object that the word `name` names (a dead thread's unretired
 * record, which its reaper adopts): the word is cleared in the same run of
 * stores that puts the object in this thread's batch, with no call between,
 * so that a reaper stopped anywhere leaves the object named (for the next
 * one) or in its own batch (which its reaper adopts), never neither.
 */
export function retireNamed(object: usize, kind: u32, name: usize): void {
  retireAndLetGo(object, kind, name);
}

// One body for both (name 0 folds away in retire()).
// @ts-ignore: decorator
@inline function retireAndLetGo(object: usize, kind: u32, name: usize): void {
  if (DEBUG) assert(pinDepth > 0 && (object & KIND_MASK) == 0 && kind != 0 && kind <= KIND_MASK);
  const head = load<u32>(slot + SLOT_BATCH_HEAD);
  store<u32>(object + RETIRE_LINK, head | kind);
  if (!head) store<u32>(slot + SLOT_BATCH_TAIL, <u32>object);
  const record = <u32>object | kind;
  if (name) store<u32>(name, 0);
  // This thread's own record of it, if any (recordUnlinked).
  if (load<u32>(slot + SLOT_UNRETIRED) == record) store<u32>(slot + SLOT_UNRETIRED, 0);
  else if (load<u32>(slot + SLOT_UNRETIRED + 4) == record) store<u32>(slot + SLOT_UNRETIRED + 4, 0);
  store<u32>(slot + SLOT_BATCH_HEAD, <u32>object); // the object is in the batch from here on
  const count = load<u32>(slot + SLOT_BATCH_COUNT) + 1;
  store<u32>(slot + SLOT_BATCH_COUNT, count);
  const bytes = load<u32>(slot + SLOT_BATCH_BYTES) + <u32>min(weightOf(kind)(object), BATCH_BYTES);
  store<u32>(slot + SLOT_BATCH_BYTES, bytes);
  if (count >= RETIRE_BATCH || bytes >= <u32>BATCH_BYTES) {
    flushBatch(slot);
    tryAdvance();
  }
}

/**
 * Names `size` raw bytes at `block` as this thread's held block (slots.ts), for
 * a block that is about to be unlinked from the one word that reaches it and
 * then freed: a retired object taken off its limbo list, a value's chunk, a
 * table's page, an entry or a value that a drain frees. Call it just before
 * the unlinking store, with no call in between, and free the block with
 * freeHeldBlock: a thread stopped anywhere leaves the block reachable from its
 * word (for whoever resumes the drain) or named (for its reaper), never lost.
 * One at a time: each is freed before the next is named.
 */
// @ts-ignore: decorator
@inline export function holdBlock(block: usize, size: usize): void {
  if (DEBUG) assert(slot != 0 && !load<u32>(slot + SLOT_HELD_BLOCK)); // attached; one at a time
  store<u32>(slot + SLOT_HELD_BLOCK_SIZE, <u32>size);
  store<u32>(slot + SLOT_HELD_BLOCK, <u32>block); // names it: last
}

/** Frees the block holdBlock named: freeNamed() lets go of it as it links it. */
export function freeHeldBlock(block: usize, size: usize): void {
  freeNamed(block, size, slot + SLOT_HELD_BLOCK);
}

/**
 * Frees the block `owner` (a dead thread's slot, or this thread's own after a
 * trap) was freeing when it stopped (its held block, holdBlock). Repeatable:
 * freeNamed() clears the name as it links the block.
 */
export function reclaimFreeHeldBlock(owner: usize): void {
  const block = <usize>load<u32>(owner + SLOT_HELD_BLOCK);
  if (block) freeNamed(block, <usize>load<u32>(owner + SLOT_HELD_BLOCK_SIZE), owner + SLOT_HELD_BLOCK);
}

/**
 * Hands this thread's batch to reclamation now, without waiting for it to
 * fill. For clear(): it retires whole tables with every entry and value in
 * them, weighed far below what they hold (KIND_ORPHAN's weight counts slots),
 * so its batch may not fill; a thread that cleared and then went idle would
 * keep an emptied map's memory from every other thread. The caller is pinned.
 */
export function reclaimFlush(): void {
  flushBatch(slot);
  tryAdvance();
}

/** Pushes `owner`'s batch onto the limbo list of the current epoch. The caller is pinned. */
function flushBatch(owner: usize): void {
  const first = <usize>load<u32>(owner + SLOT_BATCH_HEAD);
  if (!first) return;
  const last = <usize>load<u32>(owner + SLOT_BATCH_TAIL);
  pushChain(LIMBO + ((<usize>load32(EPOCH)) << 3), first, last);
  store<u32>(owner + SLOT_BATCH_HEAD, 0);
  store<u32>(owner + SLOT_BATCH_COUNT, 0);
  store<u32>(owner + SLOT_BATCH_BYTES, 0);
}

/** Links the chain first … last on top of the list at `listAt`. */
function pushChain(listAt: usize, first: usize, last: usize): void {
  const lastKind = load<u32>(last + RETIRE_LINK) & KIND_MASK;
  let head = load64(listAt);
  while (true) {
    store<u32>(last + RETIRE_LINK, <u32>head | lastKind); // published by the CAS below
    const seen = cas64(listAt, head, ((head & ~<u64>0xFFFF_FFFF) + TAG_ONE) | <u64>first);
    if (seen == head) return;
    head = seen;
  }
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
    if (pinned != 0 && (pinned & PIN_EPOCH_MASK) != current) {
      blocker = slotAt(i);
      blockerPin = pinned;
      return false;
    }
  }
  const next = epoch == 2 ? 0 : epoch + 1;
  if (cas32Epoch(epoch, next) != epoch) return false;
  store64(ADVANCES, reinterpret<u64>(reinterpret<f64>(load64(ADVANCES)) + 1));
  const stale = next == 2 ? 0 : next + 1; // == epoch - 1 (mod 3)
  if (freeList(LIMBO + ((<usize>stale) << 3))) {
    allocCoalesceIfWorth(bytesInUse(HEADER_INIT_ACCOUNT), bytesFreed(HEADER_INIT_ACCOUNT));
  }
  return true;
}

// @ts-ignore: decorator
@inline function cas32Epoch(expected: u32, desired: u32): u32 {
  if (ASC_FEATURE_THREADS) return atomic.cmpxchg<u32>(EPOCH, expected, desired);
  const seen = load<u32>(EPOCH);
  if (seen == expected) store<u32>(EPOCH, desired);
  return seen;
}

/**
 * Frees the objects of a limbo list one at a time: the object's contents first
 * (its kind's drain, resumable), then it is unlinked, then its block freed.
 * True if the list held anything.
 */
function freeList(listAt: usize): bool {
  let head = load64(listAt);
  const any = <u32>head != 0;
  while (<u32>head) {
    const object = <usize><u32>head;
    const link = load<u32>(object + RETIRE_LINK);
    const kind = link & KIND_MASK;
    drainOf(kind)(object);
    const size = sizeOf(kind)(object); // read while the list still holds it, intact
    const seen = cas64(listAt, head, ((head & ~<u64>0xFFFF_FFFF) + TAG_ONE) | <u64>(link & ~KIND_MASK));
    if (seen != head) { // cannot happen (see LIMBO): look again rather than free
      head = seen;
      continue;
    }
    // No call between the unlink and this: a thread stopped here leaves the
    // object on the list, or named in its slot for its reaper (held block).
    holdBlock(object, size);
    freeHeldBlock(object, size);
    head = load64(listAt);
  }
  return any;
}

// Thread-local: the slot (and its pin word) that last stopped tryAdvance.
let blocker: usize = 0;
let blockerPin: u32 = 0;

/**
 * Frees everything retired so far, this thread's batch included: advances the
 * epoch three times, waiting for a thread pinned at an older epoch to move on
 * (an operation takes microseconds, but a thread can be descheduled in one)
 * for at most `patienceMs`, reaping it if it has died. Returns whether all
 * three advances happened. Only for a thread that is not pinned (it holds no
 * reference to anything shared): the bindings' last resort before FULL.
 */
export function collectWaiting(patienceMs: f64): bool {
  if (DEBUG) assert(pinDepth == 0);
  let advances = 0;
  let waited: f64 = 0;
  let sinceReap: f64 = 0;
  while (advances < 3) {
    pin();
    flushBatch(slot);
    const advanced = tryAdvance();
    unpin();
    if (advanced) {
      advances++;
      continue;
    }
    if (waited >= patienceMs || !blocker) return false;
    // Sleep until the thread in the way changes its pin word (its operation
    // ends), for a millisecond at most.
    if (futexWait(blocker + SLOT_PIN, blockerPin, 1) == TIMED_OUT) {
      waited += 1;
      sinceReap += 1;
      if (sinceReap >= LOCK_WAIT_MS) {
        sinceReap = 0;
        reapIfDead(slotIndexOf(blocker) + 1);
      }
    }
  }
  return true;
}

/** Advances as far as the other threads allow; frees all that can be freed. */
export function collect(): void {
  // Each round re-pins at the newest epoch, so that this thread does not hold
  // back the next advance itself; three advances drain all three lists.
  for (let i = 0; i < 3; i++) {
    pin();
    flushBatch(slot);
    tryAdvance();
    unpin();
  }
}

/** Times the epoch has advanced since the heap began (statistics). */
export function epochAdvances(): f64 {
  return reinterpret<f64>(load64(ADVANCES));
}

/** The address of ADVANCES, which the bindings load to validate their read cache. */
export function epochAdvancesWord(): usize {
  return ADVANCES;
}

/** True while this thread is inside pin() … unpin(). */
export function reclaimIsPinned(): bool {
  return pinDepth != 0;
}

/** Forgets this thread's pins (after a trap unwound past its unpin() calls). */
export function reclaimResetPin(): void {
  pinDepth = 0;
  store32(slot + SLOT_PIN, 0);
}

// ── reaping ────────────────────────────────────────────────────────────────

/**
 * Hands on the batch of a dead thread's slot `dead` (the caller, its reaper, is
 * pinned, and the dead slot's pin is still set: see reaper.ts). A thread that
 * died while pushing its batch may or may not have pushed it: then it is in
 * the limbo list of the epoch it was pinned at or the next, which cannot be
 * freed while its pin stands, so the reaper looks there first.
 */
export function reclaimAdoptBatch(dead: usize): void {
  const first = <usize>load<u32>(dead + SLOT_BATCH_HEAD);
  if (!first) return;
  const last = <usize>load<u32>(dead + SLOT_BATCH_TAIL);
  const pinned = load32(dead + SLOT_PIN);
  if (pinned) {
    const e = (pinned & PIN_EPOCH_MASK) >> 1;
    if (listHolds(LIMBO + ((<usize>e) << 3), last) || listHolds(LIMBO + ((<usize>(e == 2 ? 0 : e + 1)) << 3), last)) {
      store<u32>(dead + SLOT_BATCH_HEAD, 0);
      return;
    }
  }
  flushBatch(dead);
}

function listHolds(listAt: usize, object: usize): bool {
  let at = <usize><u32>load64(listAt);
  while (at) {
    if (at == object) return true;
    at = <usize>(load<u32>(at + RETIRE_LINK) & ~KIND_MASK);
  }
  return false;
}

/** Clears the pin of a slot whose thread has exited (the reaper's last step for it). */
export function reclaimClearPin(dead: usize): void {
  store32(dead + SLOT_PIN, 0);
}
