// Thread slots: one per attached instance. A slot is the thread's identity in
// the shared heap: its index names it as a lock owner (mutex.ts), its pin word
// is its announcement to epoch reclamation (reclaim.ts), and it holds the
// thread's scratch region and byte counters.
//
//   slot (SLOT_SIZE = 256 bytes, four cache lines, MAX_SLOTS of them at SLOTS_BASE)
//   ┌────────┬────────┬─────────┬────────────┬────────┬───────────┐
//   │ owner  │ pin    │ scratch │ scratchCap │ cache  │ batchHead │  +0 … +24
//   ├────────┴────────┴─────────┴────────────┴────────┴───────────┤
//   │ allocated bytes u64          │ freed bytes u64               │  +24 … +40
//   ├───────────┬────────────┬──────────┬─────────────┬─────┬─────┤
//   │ batchTail │ batchCount │ intentOp │ intentShard │ A   │ B   │  +40 … +64
//   ├───────────┴────────────┴──────────┴─────────────┴─────┴─────┤
//   │ carveNext │ carveEnd  │ waiting │ batchBytes │ statistics   │  +64 … +160
//   ├──────────────┬────────────────────────────────────────────────┤
//   │ cacheHits f64│ found: value word, block, tables word, read   │  +160 … +184
//   │              │ table (4 × u32)                                │
//   ├────────────┬─┴──────────────┬──────────────────┬──────────────┤
//   │ found slot │ found expiry f64│ found advances f64│ found serial │  +184 … +216
//   │ u32,       │                 │                   │ f64          │
//   │ released s │                 │                   │              │
//   ├───────┬───────┬────────────┬───────────────┬─────────────┬──────────┤
//   │ held  │ held  │ unretired  │ held scratch, │ held block, │ held run │  +216 … +256
//   │ value │ entry │ (2 × u32)  │ its capacity  │ its size    │ [s, e)   │
//   └───────┴───────┴────────────┴───────────────┴─────────────┴──────────┘
//
//   owner      Who holds the slot, in one word so that every change of hands
//              is one CAS:
//                0                          FREE
//                threadId << 2 | ATTACHED   held by that thread (Node's threadId)
//                reaper   << 2 | REAPING    being reaped by the thread in slot
//                                           `reaper`, after its owner exited
//              FREE → ATTACHED: CAS by the attaching thread.
//              ATTACHED → REAPING: CAS by a reaper, matching the exited
//                thread's id exactly (a slot its owner freed and another thread
//                claimed since cannot match).
//              REAPING → REAPING (new reaper): CAS by the reaper of a reaper
//                that died mid-reap, which finishes the job.
//              FREE → REAPING: CAS by a thread that frees the slot's spare
//                (slotsGiveBackSpares), a reap with nothing else to do.
//              → FREE: store by the owner (detach) or the reaper, last of all.
//   pin        0, or (epoch << 1) | 1 while the owner is inside an operation.
//              Owner stores (sequentially consistent), epoch advancers load,
//              a reaper clears it. See reclaim.ts.
//   scratch    The owner's scratch region (key and value bytes marshalled by
//   scratchCap the bindings). Written by the owner (slotPublishHeldScratch),
//              plain, and cleared only by whoever holds the slot: a FREE
//              slot's spare by a thread that frees it holding the slot as
//              REAPING (slotsGiveBackSpares); read by other threads only as a
//              hint (slotClaim, for a FREE slot's spare, then adopted under
//              the claim's CAS, which orders the releasing owner's or reaper's
//              stores before it) and for stats;
//              freed with freeNamed() (the address word is cleared as the
//              region is linked into a free list, so it is freed once, and
//              lost by no death in between) only when the owner grows it.
//              Kept when the slot is released, by its owner or a reaper: a
//              FREE slot's words name its *spare*, which the thread that
//              claims the slot next adopts (abi.ts, sm_attach). A thread that
//              attaches to a map already full needs one free run of
//              maxKeyBytes + maxValueBytes, which churn at the limit may have
//              cut into holes: a worker restarted after a death would be
//              refused. The spares never outnumber the most threads ever
//              attached at once, whose scratch the map held then anyway; a
//              write that the map cannot otherwise make room for frees them
//              (slotsGiveBackSpares), but those released less than
//              SPARE_GRACE_S ago (see "released"), or one if none was: the one
//              a restarted worker needs.
//   released   When the slot was last released (slotRelease), in whole
//              seconds of the host's epoch clock (clock.ts), read before the
//              release began. Written plain by whoever releases the slot (its
//              owner, a reaper, a give-back, an attach that gave up its
//              claim), while it holds the slot, before the owner word's FREE
//              store that ends the release; and by sm_ageReleases (tests
//              only). Read by other threads only as a hint (slotsGiveBackSpares,
//              slotClaim): a spare released that recently is one a supervisor
//              is likely about to start a worker for (workers that died or
//              closed together at a full map, restarted together), so the
//              give-back leaves it, and a claim takes the oldest spare first.
//              A wrong reading only keeps a spare longer, frees it sooner or
//              claims another; nothing is lost either way.
//   cache      The owner's cache of free blocks (alloc.ts). Set by the owner when
//              it binds; drained by whoever releases the slot, owner or reaper
//              (never both at once: a reaper reaps only a dead owner), each
//              block unlinked as it is linked into a shared list, then freed
//              with freeNamed(), which clears this word: a reaper stopped half-way
//              leaves the rest to the next one, and nothing is freed twice.
//   counters   Bytes this thread allocated / freed (alloc.ts); never reset, so
//              the sums over all slots stay exact when a slot is reused.
//   batch      The owner's retired objects not yet in a shared limbo list
//              (reclaim.ts): head, tail, count, and about how many bytes they
//              give back (batchBytes). Written only by the owner, plain, so
//              that the list is well formed at every instruction; a reaper
//              hands a dead owner's batch on to reclamation (reclaimAdoptBatch).
//   waiting    1 while the owner waits for a lock (mutex.ts): it is then in
//              no lock-free step, which snapshot() needs to know (map.ts).
//              Owner only (atomic stores); read by anyone.
//   statistics Counters of the owner's operations (stats.ts); owner only.
//   carve      The owner's chunk for small blocks (alloc.ts): [next, end).
//              Owner only, plain; released by whoever releases the slot.
//   cacheHits  Loads the bindings answered from this thread's read cache
//              (bindings/read-cache.ts) without calling the core: a float64
//              (exact to 2^53) that the owner's JavaScript stores whole, and any
//              thread's stats() loads whole (stats.ts; an aligned 8-byte access
//              is one instruction, so it reads the old count or the new).
//              Written by the owner only, plain; never reset.
//   found      Where the owner's last successful load found its value, for the
//              read cache to check later without a call (sm_load, abi.ts): the
//              address of the entry's value word, the value block found there,
//              the address of its shard's tables word, the shard's read table
//              then and its serial (table.ts), the entry's slot index in that
//              read table plus one (0 when it was found in dirty only), the
//              epoch advances then (all read while pinned), and the value's
//              expiry. A store that replaced a value without the lock records
//              where too (the block it stored), and sets `found slot` to 0 when
//              it did not, so that the bindings can store by the slot next time
//              (sm_swapFound). Owner only, plain.
//   held       A value block and an entry the owner has allocated and not yet
//              published or freed (inflight.ts); the value word's low bit
//              (FREEING) marks a value being freed unpublished, its chain
//              shortened from the head. Plain; written by the owner, and after
//              it died (or trapped) by its reaper (or itself, sm_recover),
//              which frees what they name (inflightFree): the entry with
//              freeNamed(), a whole value marked FREEING, and a value valueNew
//              left unfinished (its chain shorter than a whole value's,
//              freeUnfinishedNamed), each kept named until its first block
//              passes to the freeing thread's held block.
//   held block One block the owner has unlinked from the one word that reached
//              it and is freeing, with its size (raw bytes): a retired object
//              off a limbo list, a drained table's page, entry, value or chunk,
//              a value freed unpublished, finished or not, and its chunks
//              (reclaim.ts, holdBlock). Owner only,
//              plain, one at a time; freed with freeNamed() by the owner or its
//              reaper (reclaimFreeHeldBlock).
//   held scratch  A scratch region not the published one while the owner
//              grows its scratch (abi.ts, reserveScratch): the new region from
//              its allocation until it is published, then the previous one until
//              it is freed; 0 otherwise. Address and capacity, plain, owner
//              only; freed (freeNamed()) by the owner or its reaper. (A
//              region named by no word while the thread copied its scratch or
//              freed the old one leaked with every thread killed there: 674
//              bytes per kill in a stress program growing scratch regions.)
//   held run   Free memory the owner's allocator has in hand, [start, end), empty
//              when start >= end: a free block popped to be split, a bump
//              with its alignment gap, the rest of its old carving chunk, a
//              deferred block on its way back to its list, a block held
//              across the COALESCE unlock (alloc.ts, "Runs"); and, while the
//              slot is released, each cached block and then the cache block
//              on their way to the lists (allocCacheDrain). Given back one
//              piece at a time, each piece's link followed by the store that
//              shrinks the run past it, with no call between. Plain; written
//              by the owner, or by whoever releases the slot (the owner
//              detaching, or its reaper: never both); given back
//              (allocReleaseRun) by the owner after a trap or by its reaper,
//              before it drains the cache. Never counted as allocated. (A
//              thread killed while splitting a block lost all of it, and a
//              coalesced block may be most of the heap; one killed while
//              taking a new carving chunk lost 16 KiB; a reaper killed while
//              draining a cache lost the rest of it.)
//   unretired  Up to two objects the owner has taken out of the map and not yet
//              retired, each with its retire kind in the low bits (reclaim.ts).
//              Written by the owner, plain; retired by the reaper, or by the
//              owner after a trap (reclaimAdoptUnretired), each word cleared
//              in the stores that put its object in that thread's batch
//              (retireNamed), so a reaper stopped between leaves it named.
//   intent     What the owner is in the middle of under a shard's lock (map.ts):
//              an operation, the shard, and the blocks it involves. Written by
//              the owner (atomic stores) before the step it describes; read by
//              whoever takes over the lock after the owner died, to finish or
//              undo the step without leaking what it was building.

import { MAX_SLOTS } from "./config";
import { nowSeconds } from "./clock";
import { HEADER_SLOT_HIGH_WATER, SLOTS_BASE, SLOT_SIZE } from "./heap";
import { cas32, load32, load64, store32 } from "./atomics";
import { ACCOUNT_ALLOCATED, ACCOUNT_FREED, allocCacheBytes, allocRunBytes, freeNamed } from "./alloc";
import { classOf, classSize } from "./sizeclass";
import { crashPoint } from "./faults";

// @ts-ignore: decorator
@inline const SLOT_OWNER: usize = 0;
// @ts-ignore: decorator
@inline export const SLOT_PIN: usize = 4;
// @ts-ignore: decorator
@inline const SLOT_SCRATCH: usize = 8;
// @ts-ignore: decorator
@inline const SLOT_SCRATCH_CAP: usize = 12;
// @ts-ignore: decorator
@inline export const SLOT_CACHE: usize = 16;
// @ts-ignore: decorator
@inline export const SLOT_BATCH_HEAD: usize = 20;
// @ts-ignore: decorator
@inline export const SLOT_ACCOUNT: usize = 24;
// @ts-ignore: decorator
@inline export const SLOT_BATCH_TAIL: usize = 40;
// @ts-ignore: decorator
@inline export const SLOT_BATCH_COUNT: usize = 44;
// @ts-ignore: decorator
@inline export const SLOT_INTENT_OP: usize = 48;
// @ts-ignore: decorator
@inline export const SLOT_INTENT_SHARD: usize = 52;
// @ts-ignore: decorator
@inline export const SLOT_INTENT_A: usize = 56;
// @ts-ignore: decorator
@inline export const SLOT_INTENT_B: usize = 60;
// @ts-ignore: decorator
@inline export const SLOT_CARVE: usize = 64;
// @ts-ignore: decorator
@inline export const SLOT_WAITING: usize = 72;
// @ts-ignore: decorator
@inline export const SLOT_BATCH_BYTES: usize = 76;
// @ts-ignore: decorator
@inline export const SLOT_STATS: usize = 80;
// @ts-ignore: decorator
@inline export const SLOT_CACHE_HITS: usize = 160;
// @ts-ignore: decorator
@inline export const SLOT_FOUND_VALUE_WORD: usize = 168;
// @ts-ignore: decorator
@inline export const SLOT_FOUND_BLOCK: usize = 172;
// @ts-ignore: decorator
@inline export const SLOT_FOUND_TABLES_WORD: usize = 176;
// @ts-ignore: decorator
@inline export const SLOT_FOUND_READ: usize = 180;
// @ts-ignore: decorator
@inline export const SLOT_FOUND_SLOT: usize = 184;
// @ts-ignore: decorator
@inline export const SLOT_RELEASED_AT: usize = 188;
// @ts-ignore: decorator
@inline export const SLOT_FOUND_EXPIRY: usize = 192;
// @ts-ignore: decorator
@inline export const SLOT_FOUND_ADVANCES: usize = 200;
// @ts-ignore: decorator
@inline export const SLOT_FOUND_SERIAL: usize = 208;

// @ts-ignore: decorator
@inline export const SLOT_HELD_VALUE: usize = 216;
// @ts-ignore: decorator
@inline export const SLOT_HELD_ENTRY: usize = 220;
// @ts-ignore: decorator
@inline export const SLOT_UNRETIRED: usize = 224;
// @ts-ignore: decorator
@inline const SLOT_HELD_SCRATCH: usize = 232;
// @ts-ignore: decorator
@inline const SLOT_HELD_SCRATCH_CAP: usize = 236;
// @ts-ignore: decorator
@inline export const SLOT_HELD_BLOCK: usize = 240;
// @ts-ignore: decorator
@inline export const SLOT_HELD_BLOCK_SIZE: usize = 244;
// @ts-ignore: decorator
@inline export const SLOT_HELD_RUN: usize = 248;

// @ts-ignore: decorator
@inline const FREE: u32 = 0;
// @ts-ignore: decorator
@inline const ATTACHED: u32 = 1;
// @ts-ignore: decorator
@inline const REAPING: u32 = 2;
// @ts-ignore: decorator
@inline const STATE_MASK: u32 = 3;

/** Thread ids must fit beside the two state bits. */
// @ts-ignore: decorator
@inline export const MAX_THREAD_ID: u32 = 0x3FFF_FFFF;

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

/**
 * Claims a free slot for `threadId`, one with a spare scratch region if there
 * is one (see "scratch"); returns its address, or 0 when all are taken. Of the
 * spares released less than SPARE_GRACE_S ago (which a full map's give-back
 * leaves, slotsGiveBackSpares), the one released longest ago first: threads
 * restarted one after another then keep cycling through every such spare, each
 * staying recent, where taking the lowest slot first reused the same few and
 * let the others age past the grace in a lull, to be given back just before
 * the next time as many threads attached at once (an adversarial stress run:
 * a thread restarted 4 ms after its predecessor's exit refused). Not the
 * oldest of all: a spare past the grace is the one a give-back in another
 * thread is freeing, and a claim racing it for that spare lost it (more
 * attaches refused in a pool kept at a full map); those are taken lowest first,
 * as before, once no recent one is left.
 */
export function slotClaim(threadId: u32): usize {
  const used = slotHighWater(); // slots ever claimed: only they can have a spare
  const now = nowSeconds();
  // A few tries at the oldest recent spare (another thread may claim it first).
  for (let attempt = 0; attempt < 4; attempt++) {
    let oldest: usize = 0;
    let oldestAge = i32.MIN_VALUE;
    for (let i: u32 = 0; i < used; i++) {
      const slot = slotAt(i);
      // A hint: the owner adopts whatever its slot holds once claimed.
      if (!hasSpare(slot) || !releasedRecently(slot, now)) continue;
      const age = <i32>(now - load<u32>(slot + SLOT_RELEASED_AT)); // signed: see releasedRecently
      if (age > oldestAge) {
        oldest = slot;
        oldestAge = age;
      }
    }
    if (!oldest) break;
    if (cas32(oldest + SLOT_OWNER, FREE, (threadId << 2) | ATTACHED) == FREE) return oldest;
  }
  for (let i: u32 = 0; i < used; i++) {
    const slot = slotAt(i);
    if (!hasSpare(slot)) continue;
    if (cas32(slot + SLOT_OWNER, FREE, (threadId << 2) | ATTACHED) == FREE) return slot;
  }
  for (let i: u32 = 0; i < MAX_SLOTS; i++) {
    const slot = slotAt(i);
    if (load32(slot + SLOT_OWNER) != FREE) continue;
    // Raise the high-water mark first, so that epoch advancers and reapers scan
    // this slot from the moment it may be held.
    let high = load32(HEADER_SLOT_HIGH_WATER);
    while (high < i + 1) {
      const seen = cas32(HEADER_SLOT_HIGH_WATER, high, i + 1);
      if (seen == high) break;
      high = seen;
    }
    if (cas32(slot + SLOT_OWNER, FREE, (threadId << 2) | ATTACHED) == FREE) return slot;
  }
  return 0;
}

/** Starts reaping `slot` if thread `threadId`, which has exited, holds it. */
export function slotBeginReap(slot: usize, threadId: u32, reaper: u32): bool {
  const held = (threadId << 2) | ATTACHED;
  return cas32(slot + SLOT_OWNER, held, (reaper << 2) | REAPING) == held;
}

/** Takes over the reaping of `slot` from a reaper (slot index) that exited mid-reap. */
export function slotAdoptReap(slot: usize, deadReaper: u32, reaper: u32): bool {
  const reaping = (deadReaper << 2) | REAPING;
  return cas32(slot + SLOT_OWNER, reaping, (reaper << 2) | REAPING) == reaping;
}

/**
 * Names a new scratch region of `cap` bytes as held, from the instruction
 * after its allocation returned (no call in between: see "held scratch").
 */
// @ts-ignore: decorator
@inline export function slotHoldScratch(slot: usize, region: usize, cap: usize): void {
  store<u32>(slot + SLOT_HELD_SCRATCH_CAP, <u32>cap);
  store<u32>(slot + SLOT_HELD_SCRATCH, <u32>region); // names it: last
}

/**
 * Publishes the held scratch region as the slot's scratch; the held words then
 * name the previous scratch (or nothing), for slotFreeHeldScratch. Plain
 * stores with no call between them: a thread stopped before or after leaves
 * each region named once.
 */
// @ts-ignore: decorator
@inline export function slotPublishHeldScratch(slot: usize): void {
  const previous = load<u32>(slot + SLOT_SCRATCH);
  const previousCap = load<u32>(slot + SLOT_SCRATCH_CAP);
  store<u32>(slot + SLOT_SCRATCH_CAP, load<u32>(slot + SLOT_HELD_SCRATCH_CAP));
  store<u32>(slot + SLOT_SCRATCH, load<u32>(slot + SLOT_HELD_SCRATCH));
  store<u32>(slot + SLOT_HELD_SCRATCH_CAP, previousCap);
  store<u32>(slot + SLOT_HELD_SCRATCH, previous);
}

/** Frees the held scratch region, if any. */
export function slotFreeHeldScratch(slot: usize): void {
  freeRegionNamedAt(slot + SLOT_HELD_SCRATCH, slot + SLOT_HELD_SCRATCH_CAP);
}

/**
 * Frees the scratch region the word at `at` names, if any, of the capacity at
 * `capAt`; true if it did. freeNamed() clears the word as it links the region:
 * freed once, and lost by no death in between.
 */
function freeRegionNamedAt(at: usize, capAt: usize): bool {
  const region = <usize>load<u32>(at);
  if (!region) return false;
  freeNamed(region, <usize>load<u32>(capAt), at);
  return true;
}

/** Whether `slot` is FREE and its words name a spare (read as a hint, before any claim). */
// @ts-ignore: decorator
@inline function hasSpare(slot: usize): bool {
  return load32(slot + SLOT_OWNER) == FREE && load32(slot + SLOT_SCRATCH) != 0;
}

/**
 * How long a released slot's spare is left by the give-back (see "released"):
 * long enough for a supervisor's restart, with its backoff, and short against
 * how long a full map keeps refusing writes.
 */
// @ts-ignore: decorator
@inline export const SPARE_GRACE_S: u32 = 10;

/**
 * Whether the slot was released less than SPARE_GRACE_S before `now`, or a
 * second or so after it: a thread that released it while the give-back ran may
 * have read a clock already in the next second, and that spare is the newest.
 * (Signed, so that any two stamps within 68 years compare.)
 */
// @ts-ignore: decorator
@inline function releasedRecently(slot: usize, now: u32): bool {
  const age = <i32>(now - load<u32>(slot + SLOT_RELEASED_AT));
  return age > -2 && age < <i32>SPARE_GRACE_S;
}

/**
 * Frees the spares of FREE slots (see "scratch") but those released less than
 * SPARE_GRACE_S ago and, of the others, the first `keep` found (none when the
 * recent ones are as many), for writes that would otherwise fail with FULL: a
 * burst of threads that left leaves a spare each, which entries may need
 * more. Each slot is first claimed as a reaping by this thread (`me`, its
 * slot index) of a slot with nothing else to give back, so that no thread can
 * adopt its spare meanwhile; one that dies or traps half-way leaves a reaping
 * its reaper (or its own recovery, reaper.ts) finishes as any other: it keeps,
 * as the spare, whatever the scratch word still names (freeNamed() clears it
 * as it links the region). Returns how many regions it freed.
 */
export function slotsGiveBackSpares(me: u32, keep: u32): u32 {
  const now = nowSeconds();
  const high = slotHighWater();
  let recent: u32 = 0;
  for (let i: u32 = 0; i < high; i++) {
    const slot = slotAt(i);
    if (hasSpare(slot) && releasedRecently(slot, now)) recent++;
  }
  let kept = recent; // the recent ones count toward `keep`
  let freed: u32 = 0;
  for (let i: u32 = 0; i < high; i++) {
    const slot = slotAt(i);
    if (!hasSpare(slot) || releasedRecently(slot, now)) continue;
    if (kept < keep) {
      kept++;
      continue;
    }
    if (cas32(slot + SLOT_OWNER, FREE, (me << 2) | REAPING) != FREE) continue;
    // Read again under the claim: the hint may have been adopted since.
    if (freeRegionNamedAt(slot + SLOT_SCRATCH, slot + SLOT_SCRATCH_CAP)) freed++;
    crashPoint();
    slotRelease(slot, now);
  }
  return freed;
}

/** The slot's scratch region (its spare while the slot is FREE), or 0. */
export function slotScratch(slot: usize): usize {
  return <usize>load<u32>(slot + SLOT_SCRATCH);
}

/** The capacity of the slot's scratch region. */
export function slotScratchCap(slot: usize): usize {
  return <usize>load<u32>(slot + SLOT_SCRATCH_CAP);
}

/** Records the owner's cache block (alloc.ts) for whoever releases the slot. */
export function slotSetCache(slot: usize, cache: usize): void {
  store32(slot + SLOT_CACHE, <u32>cache);
}

/** The slot's cache block (0 if none, or already freed by whoever released the slot). */
export function slotCache(slot: usize): usize {
  return <usize>load32(slot + SLOT_CACHE);
}

/** The thread id of a slot's owner, if it is ATTACHED; else -1. */
export function slotAttachedThread(slot: usize): i64 {
  const owner = load32(slot + SLOT_OWNER);
  return (owner & STATE_MASK) == ATTACHED ? <i64>(owner >> 2) : -1;
}

/** The slot index of the reaper of a slot in REAPING, else -1. */
export function slotReapingBy(slot: usize): i32 {
  const owner = load32(slot + SLOT_OWNER);
  return (owner & STATE_MASK) == REAPING ? <i32>(owner >> 2) : -1;
}

/**
 * Returns a slot to the free pool. The caller owns it (as owner or reaper),
 * and read the clock (clock.ts, nowSeconds) before it began the release, so
 * that no call into the host stands between its steps.
 */
export function slotRelease(slot: usize, releasedAt: u32): void {
  store32(slot + SLOT_PIN, 0);
  store32(slot + SLOT_BATCH_HEAD, 0);
  store32(slot + SLOT_BATCH_TAIL, 0);
  store32(slot + SLOT_BATCH_COUNT, 0);
  store32(slot + SLOT_INTENT_OP, 0);
  store32(slot + SLOT_CARVE, 0);
  store32(slot + SLOT_CARVE + 4, 0);
  store32(slot + SLOT_WAITING, 0);
  store32(slot + SLOT_BATCH_BYTES, 0);
  // Not the scratch words: they name the slot's spare from here on.
  store32(slot + SLOT_HELD_SCRATCH, 0); // freed by now (slotFreeHeldScratch)
  store32(slot + SLOT_HELD_BLOCK, 0); // freed by now (reclaimFreeHeldBlock)
  store32(slot + SLOT_HELD_RUN, 0); // given back by now (allocReleaseRun)
  store32(slot + SLOT_HELD_RUN + 4, 0);
  store32(slot + SLOT_CACHE, 0);
  store32(slot + SLOT_HELD_VALUE, 0);
  store32(slot + SLOT_HELD_ENTRY, 0);
  store32(slot + SLOT_UNRETIRED, 0);
  store32(slot + SLOT_UNRETIRED + 4, 0);
  store<u32>(slot + SLOT_RELEASED_AT, releasedAt);
  store32(slot + SLOT_OWNER, FREE); // last: the slot may be claimed from here on
}

/**
 * For tests: moves the release of every FREE slot `seconds` back, as if that
 * long had passed (see "released"; a negative count moves it ahead). Returns
 * how many slots it moved.
 */
export function slotsAgeReleases(seconds: i32): u32 {
  let moved: u32 = 0;
  const high = slotHighWater();
  for (let i: u32 = 0; i < high; i++) {
    const slot = slotAt(i);
    if (load32(slot + SLOT_OWNER) != FREE) continue;
    store<u32>(slot + SLOT_RELEASED_AT, load<u32>(slot + SLOT_RELEASED_AT) - <u32>seconds);
    moved++;
  }
  return moved;
}

/** Bytes allocated minus bytes freed, over every slot and the init account. */
export function bytesInUse(initAccount: usize): u64 {
  // Freed first: counters only grow, and every byte freed was allocated before,
  // so a sum of allocations read after it is at least as large (no wrap).
  const freed = sumAccounts(initAccount, ACCOUNT_FREED);
  return sumAccounts(initAccount, ACCOUNT_ALLOCATED) - freed;
}

/** Bytes freed since the heap began, over every slot and the init account. */
export function bytesFreed(initAccount: usize): u64 {
  return sumAccounts(initAccount, ACCOUNT_FREED);
}

/** One counter of every account, summed (each read atomically; the sum is not a snapshot). */
function sumAccounts(initAccount: usize, counter: usize): u64 {
  let total = load64(initAccount + counter);
  const n = slotHighWater();
  for (let i: u32 = 0; i < n; i++) total += load64(slotAt(i) + SLOT_ACCOUNT + counter);
  return total;
}

/** Number of slots being reaped: for a moment, unless a reap was cut short and never finished. */
export function slotsReaping(): u32 {
  return slotsIn(REAPING);
}

/** Number of slots currently attached. */
export function slotsAttached(): u32 {
  return slotsIn(ATTACHED);
}

function slotsIn(state: u32): u32 {
  let n: u32 = 0;
  const high = slotHighWater();
  for (let i: u32 = 0; i < high; i++) {
    if ((load32(slotAt(i) + SLOT_OWNER) & STATE_MASK) == state) n++;
  }
  return n;
}

/**
 * Free bytes the slots hold (for the heap audit, sm_heapUnaccounted): each
 * thread's cached blocks, the rest of its carving chunk and its held run.
 */
export function slotsFreeBytes(): u64 {
  let total: u64 = 0;
  const high = slotHighWater();
  for (let i: u32 = 0; i < high; i++) {
    const slot = slotAt(i);
    const cache = <usize>load32(slot + SLOT_CACHE);
    if (cache) total += allocCacheBytes(cache);
    total += allocRunBytes(slot + SLOT_CARVE) + allocRunBytes(slot + SLOT_HELD_RUN);
  }
  return total;
}

/**
 * Bytes held as scratch regions: by slots that are claimed (attached, or being
 * reaped), or as the spares of FREE slots (`spares`).
 */
export function slotsScratchBytes(spares: bool): u64 {
  let total: u64 = 0;
  const high = slotHighWater();
  for (let i: u32 = 0; i < high; i++) {
    const slot = slotAt(i);
    if ((load32(slot + SLOT_OWNER) == FREE) != spares) continue;
    // A region counts while its address word names it (freeNamed() clears
    // that word, not the capacity), as the block its capacity was rounded to.
    if (load32(slot + SLOT_SCRATCH)) total += classSize(classOf(load32(slot + SLOT_SCRATCH_CAP)));
    if (load32(slot + SLOT_HELD_SCRATCH)) total += classSize(classOf(load32(slot + SLOT_HELD_SCRATCH_CAP)));
  }
  return total;
}
