// The ABI the Node bindings (bindings/instance.ts) call. Every export starts
// with `sm_`; this file is the complete list.
//
// One instance per thread, all over one shared memory. An instance attaches
// once (sm_attach) and then owns a thread slot (slots.ts) and a scratch region
// inside the shared memory, through which keys and values cross the boundary:
//
//   scratch (this thread's only; capacity >= maxKeyBytes + maxValueBytes + SLACK)
//   ┌──────────────┬─────┬────────────────┬─────┬────────────────┐
//   │ key bytes    │ pad │ value bytes    │ pad │ 2nd value …    │   inputs
//   └──────────────┴─────┴────────────────┴─────┴────────────────┘
//   0              keyLen valueAt (chosen by the caller, passed in)
//   ┌────────────────────────────────┐
//   │ value bytes (a copy)           │                                outputs
//   └────────────────────────────────┘
//
// Inputs: the key always at offset 0, values at offsets the caller passes.
// Outputs: a value is copied to offset 0 *inside* the call, while the thread is
// pinned, so a concurrent overwrite can never hand the caller freed or half-
// written bytes. The bindings size the scratch so that any value of the map fits.
//
// Results: >= 0 a length or a flag, < 0 a Status (status.ts). Every argument
// is checked here as well as in the bindings: nothing a caller passes can make
// the core read or write outside its own scratch region.

import { DEBUG, MAGIC, LAYOUT_VERSION, MAX_KEY_BYTES, MAX_SHARDS, MAX_VALUE_BYTES, STAMP } from "./config";
import { load32 } from "./atomics";
import {
  HEADER_INIT_ACCOUNT, HEADER_LAYOUT, HEADER_MAGIC, HEADER_STAMP,
  heapClaimInit, heapCountRecoveredLocks, heapIsReady, heapPublish, heapRecoveredLocks, heapRootMap,
} from "./heap";
import {
  allocCoalesceNow, allocCoalesces, allocDeferredBlocks, allocInit, allocListedBytes, allocReleaseRun, free, heapBytes,
} from "./alloc";
import { allocOrCollect } from "./memory";
import {
  MAX_THREAD_ID, SLOT_FOUND_ADVANCES, SLOT_FOUND_BLOCK, SLOT_FOUND_EXPIRY, SLOT_FOUND_READ, SLOT_FOUND_SERIAL,
  SLOT_FOUND_SLOT, SLOT_FOUND_TABLES_WORD, SLOT_FOUND_VALUE_WORD, SLOT_HELD_ENTRY, SLOT_HELD_RUN, SLOT_HELD_VALUE,
  bytesInUse, slotsFreeBytes, slotClaim, slotFreeHeldScratch, slotHoldScratch, slotIndex,
  slotPublishHeldScratch, slotRelease, slotsAttached, slotsReaping,
  slotsAgeReleases, slotsGiveBackSpares, slotsScratchBytes, slotScratch, slotScratchCap,
} from "./slots";
import { nowSeconds } from "./clock";
import {
  collect, collectWaiting, epochAdvances, epochAdvancesWord, pin, reclaimAdoptUnretired, reclaimFlush,
  reclaimFreeHeldBlock, reclaimIsPinned, reclaimResetPin, unpin,
} from "./reclaim";
import { reapDead, reapThread, reaperBind, reaperRecoverLocks, reaperRecoverSelf, reaperResumeOwn } from "./reaper";
import { MAX_BLOCK, SIZE_CLASSES, classOf, classSize } from "./sizeclass";
import { setLockPatience } from "./mutex";
import {
  ENTRY_KEY, ENTRY_VALUE, entryKeyLen, isLive, valueCopyTo, valueExpiresAt, valueIsTombstone, valueLength,
  valueNew, valueSetMeta, valueVersion,
} from "./entry";
import { STAT_COUNT, STAT_HITS, STAT_MISSES, STAT_WRITES, statsCacheHits, statsCount, statsTotal } from "./stats";
import { tableCapacity, tableEntryAt, tableSerial } from "./table";
import { sipHash13 } from "./hash";
import {
  lockedClear, lockedCompareAndSwap, lockedDelete, lockedLoad, lockedLoadOrStore, lockedNew, lockedRangeBegin,
  lockedLockWord, lockedRangeEnd, lockedRangeTable, lockedSize, lockedSwap, lockedVerify,
} from "./locked";
import {
  MAP_FLAG_META, MAP_FLAG_VERSIONED, MAP_KIND_LOCKED, mapAdd, mapBind, mapClear, mapClearLockWord, mapCompact, mapCompareAndSwap,
  mapDelete, mapFreeze, mapK0, mapK1, mapKeyKind, mapKind, mapLoad, mapLoadOrStore, mapMaxKeyBytes,
  mapMaxValueBytes, mapNew, mapPresent, mapRangeBegin, mapRemainingMs, mapShardCount, mapShardLockWord,
  mapShardTable, mapSize, mapSwap, mapSweep, mapTick, mapTombstones, mapUnfreeze, mapValueKind, mapVerify,
  mapVersion, mapVersionWord, mapWalkBegin, mapWalkEnd, mapWatermark, mapRaiseLow, mapShardSize, mapShardLockTakes,
  mapSqueeze, mapClockWord, mapTablesWord, mapSwapFound, mapRevalidate,
  result, resultEntry, resultInRead, resultIndex, resultRead,
} from "./map";
import { Status } from "./status";
import { threadBind, threadUnbind } from "./thread";
import { freeHeldValue, heldValueWord, inflightFree } from "./inflight";
import { crashPoint, faultAfter, faultFailAllocation, faultFired } from "./faults";

// Room in the scratch beyond maxKeyBytes + maxValueBytes: a range record's
// header, the padding of its two fields, and the end marker.
// @ts-ignore: decorator
@inline const SCRATCH_SLACK: usize = 64;

// Range records: [keyLen u32][valueLen u32][key, padded to 8][value, padded to 8],
// ended by END_OF_RECORDS in place of a keyLen. Change records (sm_changesNext)
// have a longer header.
// @ts-ignore: decorator
@inline const RECORD_HEADER_SIZE: usize = 8;
// @ts-ignore: decorator
@inline const END_OF_RECORDS: u32 = 0xFFFF_FFFF;
// @ts-ignore: decorator
@inline const CHANGE_HEADER_SIZE: usize = 24;

// Statistics sm_stat can report.
// @ts-ignore: decorator
@inline const STAT_BYTES_IN_USE: u32 = 0;
// @ts-ignore: decorator
@inline const STAT_HEAP_BYTES: u32 = 1;
// @ts-ignore: decorator
@inline const STAT_MEMORY_BYTES: u32 = 2;
// @ts-ignore: decorator
@inline const STAT_THREADS: u32 = 3;
// @ts-ignore: decorator
@inline const STAT_EPOCH_ADVANCES: u32 = 4;
// @ts-ignore: decorator
@inline const STAT_LOCKS_RECOVERED: u32 = 5;
// @ts-ignore: decorator
@inline const STAT_SCRATCH_BYTES: u32 = 6;
// @ts-ignore: decorator
@inline const STAT_COALESCES: u32 = 7;
// Then the per-thread counters, summed (stats.ts): STAT_COUNTERS + STAT_MISSES …
// @ts-ignore: decorator
@inline const STAT_COUNTERS: u32 = 8;
// And after them, the read caches' hits (a part of STAT_HITS).
// @ts-ignore: decorator
@inline const STAT_CACHE_HITS: u32 = STAT_COUNTERS + STAT_COUNT;
// The spare scratch regions of FREE slots (slots.ts, "scratch").
// @ts-ignore: decorator
@inline const STAT_SPARE_SCRATCH_BYTES: u32 = STAT_CACHE_HITS + 1;

// Thread-local state of this instance.
let slot: usize = 0; // this thread's slot; 0 until attached
let map: usize = 0; // the heap's root map
let k0: u64 = 0; // the map's hash key, copied out of its header once
let k1: u64 = 0;
let maxKeyBytes: usize = 0;
let maxValueBytes: usize = 0;
let scratch: usize = 0;
let scratchCap: usize = 0;
let rangeTable: usize = 0; // the table sm_rangeNext copies from; pinned (or read-locked)
let ranging: bool = false;
let walking: i32 = -1; // the shard whose lock sm_changesBegin holds, or -1
let snapshotting: bool = false; // between sm_snapshotBegin and sm_snapshotEnd
let locked: bool = false; // the root map is the LockedMap baseline (locked.ts), not a sync map

// ── heap and thread lifecycle ──────────────────────────────────────────────

/**
 * Lays out a new heap in a fresh (zeroed) memory with one map in it. The hash
 * key comes from the caller (crypto.getRandomValues) as four u32 halves.
 */
export function sm_create(
  k0lo: u32, k0hi: u32, k1lo: u32, k1hi: u32,
  shards: u32, maxKey: u32, maxValue: u32, keyKind: u32, valueKind: u32, mapKind: u32, mapFlags: u32,
): i32 {
  if (mapKind > MAP_KIND_LOCKED || (mapKind == MAP_KIND_LOCKED && (shards != 1 || mapFlags))) return Status.BAD_ARGUMENT;
  if (mapFlags & ~(MAP_FLAG_META | MAP_FLAG_VERSIONED)) return Status.BAD_ARGUMENT;
  // Versions are stamped into values' metadata.
  if (mapFlags & MAP_FLAG_VERSIONED) mapFlags |= MAP_FLAG_META;
  if (!shards || shards > MAX_SHARDS || (shards & (shards - 1))) return Status.BAD_ARGUMENT;
  if (!maxKey || maxKey > MAX_KEY_BYTES || maxValue > MAX_VALUE_BYTES) return Status.BAD_ARGUMENT;
  // A memory that already holds a heap (or static data that reaches ROOT).
  if (!heapClaimInit()) return Status.BAD_ARGUMENT;
  allocInit();
  const k0 = ((<u64>k0hi) << 32) | k0lo;
  const k1 = ((<u64>k1hi) << 32) | k1lo;
  const root = mapKind == MAP_KIND_LOCKED
    ? lockedNew(k0, k1, maxKey, maxValue, keyKind, valueKind)
    : mapNew(k0, k1, shards, maxKey, maxValue, keyKind, valueKind, mapFlags);
  // Out of memory this early leaves the heap INITIALIZING: nobody can attach,
  // and the bindings discard the memory.
  if (!root) return Status.FULL;
  heapPublish(root);
  return Status.OK;
}

/**
 * Attaches this instance to the heap as thread `threadId`, with a scratch region
 * of at least `scratchBytes`, and waits on locks for at most `lockPatienceMs`.
 * Returns the slot index.
 */
export function sm_attach(threadId: u32, scratchBytes: u32, lockPatienceMs: f64): i32 {
  if (slot || threadId > MAX_THREAD_ID) return Status.BAD_ARGUMENT;
  // Also refuses NaN, which would wait forever.
  if (!(lockPatienceMs >= 1 && lockPatienceMs <= 1e9)) return Status.BAD_ARGUMENT;
  if (!heapIsReady() || load32(HEADER_MAGIC) != MAGIC) return Status.NOT_INITIALIZED;
  if (load32(HEADER_LAYOUT) != LAYOUT_VERSION) return Status.LAYOUT_MISMATCH;
  if (load32(HEADER_STAMP) != STAMP) return Status.BUILD_MISMATCH;
  const releasedAt = nowSeconds(); // for a claim given up (slotRelease)
  for (let first = true; ; first = false) {
    const claimed = slotClaim(threadId);
    if (!claimed) return Status.NO_SLOT;
    bind(claimed);
    setLockPatience(lockPatienceMs);
    map = heapRootMap();
    mapBind(map);
    locked = mapKind(map) == MAP_KIND_LOCKED;
    k0 = mapK0(map);
    k1 = mapK1(map);
    maxKeyBytes = mapMaxKeyBytes(map);
    maxValueBytes = mapMaxValueBytes(map);
    const wanted = max(<usize>scratchBytes, maxKeyBytes + maxValueBytes + SCRATCH_SLACK);
    // The slot's spare, if it has one (slots.ts, "scratch"): named by the slot's
    // words all along, so adopting it is only this instance's view of them.
    scratch = slotScratch(claimed);
    scratchCap = scratch ? slotScratchCap(claimed) : 0;
    if (scratchCap >= wanted) return <i32>slotIndex(claimed);
    // None here. Threads recorded dead keep theirs in slots only a reap frees,
    // and nobody may have reaped them yet (no thread attached since, helper-55:
    // a worker restarted at a full map was refused): reap them, and if that
    // freed a slot, claim again, which prefers a slot with a spare.
    if (first && reapDead() > 0) {
      bind(0); // before the release: once released, the slot may be another thread's
      slotRelease(claimed, releasedAt);
      continue;
    }
    if (reserveScratch(wanted) == Status.OK) return <i32>slotIndex(claimed);
    // As a write would before it says FULL: what deleted keys' entries hold,
    // and what reclamation frees once old pins move on.
    if (makeRoom() && reserveScratch(wanted) == Status.OK) return <i32>slotIndex(claimed);
    // A write needs blocks of a page at most, an attach one run this long: the
    // allocator merges free neighbours only once enough was freed since it last
    // did (allocCoalesceIfWorth), and a map emptied since (clear(), deletes)
    // may hold its free memory in pieces freed after that. Rare: merge now.
    if (allocCoalesceNow() && reserveScratch(wanted) == Status.OK) return <i32>slotIndex(claimed);
    bind(0);
    slotRelease(claimed, releasedAt);
    return Status.FULL;
  }
}

/**
 * Uses `frames` frames of stack, then returns (a number nobody needs). The
 * bindings call it just before sm_attach and sm_detach, whose steps a stack
 * overflow must not split (it is raised at any function's entry): at the very
 * edge of the stack it overflows here instead, before anything has changed,
 * and the bindings finish the detach later from a shallow stack. Its frames,
 * this many, take several times the stack either call's deepest path does.
 */
export function sm_stackProbe(frames: u32): u32 {
  return probeFrame(frames);
}

function probeFrame(frames: u32): u32 {
  if (!frames) return 0;
  // Eight words read before the call and used after it: every frame keeps
  // them (64 bytes and more, in every tier of V8's compilers), and no tail
  // call can fold the frames. The words are the heap header's; any would do.
  const a = load<u64>(0), b = load<u64>(8), c = load<u64>(16), d = load<u64>(24);
  const e = load<u64>(32), f = load<u64>(40), g = load<u64>(48), h = load<u64>(56);
  const below = <u64>probeFrame(frames - 1);
  return <u32>((((((((below + a) * b + c) * d + e) * f + g) * h) >> 32) & 1));
}

/** The scratch region a thread needs to attach to the heap's map (0 if there is no map yet). */
export function sm_scratchNeeded(): u32 {
  if (!heapIsReady()) return 0;
  const root = heapRootMap();
  return mapMaxKeyBytes(root) + mapMaxValueBytes(root) + <u32>SCRATCH_SLACK;
}

/**
 * Releases this thread's slot and scratch. The instance is unusable afterwards.
 * Called again after an interruption (a trap), it finishes the release.
 */
export function sm_detach(): void {
  if (!slot) return;
  const releasedAt = nowSeconds(); // before anything changes (slotRelease)
  if (ranging) sm_rangeEnd(); // a LockedMap range holds the read lock until then
  sm_recover(); // in case a trap left this thread's locks, pin or blocks held
  collect(); // free what this thread's retirements made freeable
  slotFreeHeldScratch(slot); // the published one stays: the slot's spare
  const released = slot;
  bind(0);
  slotRelease(released, releasedAt);
}

/**
 * Recovers the slots of thread `threadId`, which has exited (the bindings call
 * this when they learn of a death): takes over and repairs any lock it held,
 * finishes what it was in the middle of, clears its epoch pin, frees its
 * scratch (reaper.ts). Returns how many slots.
 */
export function sm_reapThread(threadId: u32): i32 {
  if (!slot) return Status.NOT_ATTACHED;
  recoverWithReaps(); // reaps of this thread's that a trap cut short, first
  return reapThread(threadId);
}

/** Reaps every attached thread that the host says has exited (env.threadDead). Returns how many slots. */
export function sm_reapDead(): i32 {
  if (!slot) return Status.NOT_ATTACHED;
  recoverWithReaps(); // as sm_reapThread
  return reapDead();
}

function bind(claimed: usize): void {
  if (claimed) threadBind(claimed);
  else if (slot) threadUnbind(slot);
  reaperBind(claimed);
  slot = claimed;
  if (!claimed) {
    map = 0;
    scratch = 0;
    scratchCap = 0;
  }
}

// ── scratch ────────────────────────────────────────────────────────────────

/**
 * Grows the scratch to at least `bytes`, keeping its contents (for a write
 * whose values pass it: the spares are given back first if the map is full).
 */
export function sm_reserve(bytes: u32): i32 {
  if (!slot) return Status.NOT_ATTACHED;
  if (<usize>bytes <= scratchCap) return Status.OK;
  let status = reserveScratch(<usize>bytes);
  if (status == Status.FULL && giveBackSpares()) status = reserveScratch(<usize>bytes);
  return status;
}

export function sm_scratch(): usize {
  return scratch;
}

export function sm_scratchCap(): usize {
  return scratchCap;
}

/**
 * Replaces the scratch with one of at least `bytes`, keeping its contents. Each
 * region is named by a word of the slot at every call (slots.ts, "held
 * scratch"), so that a thread killed anywhere here leaks neither: the new
 * region is held from the instruction after its allocation returns, published
 * with the old one held instead, and the old one freed by freeNamed().
 */
function reserveScratch(bytes: usize): i32 {
  if (bytes > MAX_BLOCK) return Status.FULL; // and the rounding below cannot wrap
  bytes = (bytes + 63) & ~<usize>63;
  slotFreeHeldScratch(slot); // left by a growth a trap interrupted, if sm_recover could not run
  const fresh = allocOrCollect(bytes);
  if (!fresh) return Status.FULL;
  slotHoldScratch(slot, fresh, bytes);
  crashPoint();
  if (scratchCap) memory.copy(fresh, scratch, scratchCap);
  slotPublishHeldScratch(slot);
  scratch = fresh; // with the publication: a trap after it (sm_recover) frees the old one, not this
  scratchCap = bytes;
  crashPoint();
  slotFreeHeldScratch(slot);
  return Status.OK;
}

/**
 * A trap (a bug, or an injected fault) unwinds out of the core mid-operation,
 * leaving this thread pinned and maybe holding shard locks. Every operation
 * starts by checking for that and recovering as a reaper would.
 */
function recoverFromTrap(): void {
  if (!reclaimIsPinned() || ranging) return;
  reaperRecoverSelf();
  reclaimResetPin();
  reaperResumeOwn(); // a trap inside a reap left this thread pinned too
}

/**
 * recoverFromTrap, and the reaps a trap cut short after they had unpinned,
 * which it cannot see (a scan of the slots: for the entries that reap or
 * recover, not for every operation). Not inside a range, whose pin is held.
 */
function recoverWithReaps(): void {
  if (reclaimIsPinned()) recoverFromTrap(); // which resumes them too
  else if (!ranging) reaperResumeOwn();
}

/**
 * Releases whatever a trap (a stack overflow, a bug) left this thread holding
 * mid-operation: its shard locks, its epoch pin, and the blocks it held
 * unpublished or had unlinked (inflight.ts, reclaim.ts). The bindings call it
 * as soon as an exception other than their own escapes a core call, so that
 * other threads do not wait until this one happens to call again.
 */
export function sm_recover(): void {
  if (!slot) return;
  // First what the trap left named in this slot: the repairs after it name the
  // blocks they free there too (reclaim.ts, holdBlock; alloc.ts, held run).
  allocReleaseRun(slot + SLOT_HELD_RUN); // a trap inside the allocator
  reclaimFreeHeldBlock(slot); // a trap while reclamation or a drain freed a block
  slotFreeHeldScratch(slot); // a trap while growing the scratch (reserveScratch)
  const pinned = reclaimIsPinned();
  recoverWithReaps();
  // recoverFromTrap takes back the locks of a trap that came while pinned; one
  // that came before the operation pinned can leave the COALESCE lock held.
  if (!pinned && !ranging && !snapshotting) reaperRecoverLocks();
  // What recoverFromTrap cannot see: a trap before the operation pinned (in
  // valueNew, before swapOnce's pin) or inside a range's callback (whose pin
  // is the range's) left blocks held. No operation of this thread is under way
  // now, so whatever its words name is its own to give back (inflight.ts).
  inflightFree(slot);
  if (ranging) reclaimAdoptUnretired(slot);
}

/**
 * Frees a value or entry an operation of this thread made and neither
 * published nor freed, when a trap cut it short and sm_recover could not run
 * after it (a stack overflow at the very edge of the stack overflows that call
 * too), and recoverFromTrap does not see it: the trap came before the
 * operation pinned (valueNew in swapOnce), or inside a range, whose pin it is.
 * The next write would record its own value over the word, and the block it
 * named would never be freed. Between operations every such word is 0, so
 * what one names at an operation's entry is left over, and this thread's to
 * give back (as in sm_recover).
 */
// @ts-ignore: decorator
@inline function freeLeftHeld(): void {
  if (load<u32>(slot + SLOT_HELD_VALUE) | load<u32>(slot + SLOT_HELD_ENTRY)) inflightFree(slot);
}

/** What every operation does first: what a trap left, pinned (recoverFromTrap) or not (freeLeftHeld). */
// @ts-ignore: decorator
@inline function recoverAtEntry(): void {
  recoverFromTrap();
  freeLeftHeld();
}

// ── the map's operations ───────────────────────────────────────────────────

// @ts-ignore: decorator
@inline function checkKey(keyLen: usize): i32 {
  if (!slot) return Status.NOT_ATTACHED;
  recoverAtEntry();
  if (keyLen > maxKeyBytes) return Status.KEY_TOO_LARGE;
  if (keyLen > scratchCap) return Status.BAD_ARGUMENT;
  return Status.OK;
}

// @ts-ignore: decorator
@inline function checkValue(at: usize, len: usize): i32 {
  if (len > maxValueBytes) return Status.VALUE_TOO_LARGE;
  if (at > scratchCap || len > scratchCap - at) return Status.BAD_ARGUMENT;
  return Status.OK;
}

// An expiry: 0 (never) or a time on the map clock, a whole number of ms below 2^53.
// @ts-ignore: decorator
@inline function checkExpiry(expiry: f64): i32 {
  return expiry >= 0 && expiry <= 9007199254740991 && expiry == Math.floor(expiry) ? Status.OK : Status.BAD_ARGUMENT;
}

// @ts-ignore: decorator
@inline function hashKey(keyLen: usize): u64 {
  return sipHash13(k0, k1, scratch, keyLen);
}

/** Copies a value block's bytes to scratch offset 0. The caller is pinned. */
// @ts-ignore: decorator
@inline function copyOut(block: usize): i32 {
  if (DEBUG) assert(valueLength(block) <= maxValueBytes); // so it fits the scratch
  return valueCopyTo(block, scratch);
}

/**
 * Records in the slot where the key's value `block` now is (slots.ts,
 * "found"), for the bindings' read cache: after a load that found it
 * (mapLoad, or mapLoadOrStore), or a store that put it there without the lock
 * (mapSwap's trySwap, or mapSwapFound). `tablesWord` is the address of the
 * key's shard's tables word. While the shard's read table and the count of
 * epoch advances are both unchanged, the entry is still the key's and has not
 * been freed, so its value word equal to `block` means the key still has this
 * value. The count is read while pinned: anything reached in this operation is
 * freed only in the second advance after the pin, whose thread counts it
 * before freeing (reclaim.ts, ADVANCES), so an unchanged count proves that
 * nothing was. The slot index and the read table's serial let the next store
 * of the key go by place.
 */
// @ts-ignore: decorator
@inline function recordFound(tablesWord: usize, block: u32): void {
  store<u32>(slot + SLOT_FOUND_VALUE_WORD, <u32>(resultEntry + ENTRY_VALUE));
  store<u32>(slot + SLOT_FOUND_BLOCK, block);
  store<u32>(slot + SLOT_FOUND_TABLES_WORD, <u32>tablesWord);
  store<u32>(slot + SLOT_FOUND_READ, resultRead);
  store<u32>(slot + SLOT_FOUND_SLOT, resultInRead ? resultIndex + 1 : 0);
  store<f64>(slot + SLOT_FOUND_ADVANCES, epochAdvances());
  store<f64>(slot + SLOT_FOUND_SERIAL, <f64>tableSerial(resultRead));
  store<f64>(slot + SLOT_FOUND_EXPIRY, <f64>valueExpiresAt(<usize>block));
}

/** The key's value, copied to scratch: its length, or ABSENT. */
export function sm_load(keyLen: usize): i32 {
  let status = checkKey(keyLen);
  if (status) return status;
  if (locked) {
    status = lockedLoad(map, scratch, keyLen, hashKey(keyLen), scratch, true);
    statsCount(status >= 0 ? STAT_HITS : STAT_MISSES);
    return status;
  }
  pin();
  const hash = hashKey(keyLen);
  status = mapLoad(map, scratch, keyLen, hash);
  if (status == Status.OK) {
    statsCount(STAT_HITS);
    recordFound(mapTablesWord(map, hash), result);
    status = copyOut(result);
  } else {
    statsCount(STAT_MISSES);
  }
  unpin();
  return status;
}

/** 1 if the key is present, else 0. */
export function sm_has(keyLen: usize): i32 {
  let status = checkKey(keyLen);
  if (status) return status;
  if (locked) {
    status = lockedLoad(map, scratch, keyLen, hashKey(keyLen), 0, false);
    statsCount(status >= 0 ? STAT_HITS : STAT_MISSES);
    return status >= 0 ? 1 : status == Status.ABSENT ? 0 : status;
  }
  pin();
  status = mapLoad(map, scratch, keyLen, hashKey(keyLen));
  statsCount(status == Status.OK ? STAT_HITS : STAT_MISSES);
  unpin();
  return status == Status.OK ? 1 : status == Status.ABSENT ? 0 : status;
}

/**
 * Store, or Swap when `wantPrevious`: the previous value's length (copied) or
 * ABSENT. The value expires at `expiry` on the map clock (ms; 0 never).
 */
export function sm_swap(keyLen: usize, valueAt: usize, valueLen: usize, wantPrevious: bool, expiry: f64): i32 {
  let status = checkKey(keyLen);
  if (!status) status = checkValue(valueAt, valueLen);
  if (!status) status = checkExpiry(expiry);
  if (status) return status;
  store<u32>(slot + SLOT_FOUND_SLOT, 0); // until a store without the lock records where (recordFound)
  const hash = hashKey(keyLen);
  if (locked) {
    status = lockedSwap(map, scratch, keyLen, hash, scratch + valueAt, valueLen, scratch, wantPrevious);
    for (let round = 0; status == Status.FULL && round < ROOM_ROUNDS; round++) {
      if (roomRound(round)) {
        status = lockedSwap(map, scratch, keyLen, hash, scratch + valueAt, valueLen, scratch, wantPrevious);
      }
    }
    if (status >= Status.ABSENT) statsCount(STAT_WRITES);
    return status;
  }
  status = swapOnce(keyLen, hash, valueAt, valueLen, wantPrevious, expiry);
  for (let round = 0; status == Status.FULL && round < ROOM_ROUNDS; round++) {
    if (roomRound(round)) status = swapOnce(keyLen, hash, valueAt, valueLen, wantPrevious, expiry);
  }
  return status;
}

function swapOnce(keyLen: usize, hash: u64, valueAt: usize, valueLen: usize, wantPrevious: bool, expiry: f64): i32 {
  const block = valueNew(scratch + valueAt, valueLen, heldValueWord());
  if (!block) return Status.FULL;
  valueSetMeta(<usize>block, 0, <u64>expiry);
  pin();
  let status = mapSwap(map, scratch, keyLen, hash, block);
  if (status == Status.OK) {
    statsCount(STAT_WRITES);
    if (resultInRead) recordFound(mapTablesWord(map, hash), block);
    if (!result) status = Status.ABSENT;
    else if (wantPrevious) status = copyOut(result);
  }
  unpin();
  if (status < Status.ABSENT) freeHeldValue(block); // never published
  return status;
}

/**
 * Store, or Swap when `wantPrevious`, by where this thread found the key before
 * (the bindings' read cache; map.ts, mapSwapFound): the value at scratch
 * offset 0, no key. As sm_swap, or MOVED with the map unchanged: the key is no
 * longer there, or holds no value, or the map takes such writes under the lock
 * (versioned, or a shard frozen), and the bindings store by key. So is a value
 * the memory has no room for: storing by key makes room if it can.
 */
export function sm_swapFound(
  tablesWord: usize, read: u32, serial: f64, index: u32, valueLen: usize, wantPrevious: bool, expiry: f64,
): i32 {
  if (!slot) return Status.NOT_ATTACHED;
  recoverAtEntry(); // as checkKey does for every operation by key
  let status = checkValue(0, valueLen);
  if (!status) status = checkExpiry(expiry);
  if (status) return status;
  if (locked) return Status.MOVED; // a LockedMap has no shards: nothing here could be one's place
  const block = valueNew(scratch, valueLen, heldValueWord());
  if (!block) return Status.MOVED;
  valueSetMeta(<usize>block, 0, <u64>expiry);
  pin();
  status = mapSwapFound(map, tablesWord, read, serial, index, block);
  if (status == Status.OK) {
    statsCount(STAT_WRITES);
    recordFound(tablesWord, block);
    if (!result) status = Status.ABSENT;
    else if (wantPrevious) status = copyOut(result);
  }
  unpin();
  if (status < Status.ABSENT) freeHeldValue(block); // never published
  return status;
}

/**
 * For the bindings' read cache, after epoch advances made a record stale: the
 * count of advances now if the key still has the value block `block`,
 * unexpired, at the place the record names (map.ts, mapRevalidate), else -1.
 * `since` is the count when the record was made or last checked. Counts
 * nothing: the bindings count the load as the cache's hit.
 */
export function sm_revalidate(tablesWord: usize, read: u32, serial: f64, index: u32, block: u32, since: f64): f64 {
  if (!slot || locked) return -1;
  recoverFromTrap(); // as checkKey does for every operation by key
  pin();
  const now = mapRevalidate(map, tablesWord, read, serial, index, block, since);
  unpin();
  return now;
}

/**
 * The last resort of a write that failed with FULL, before it says so: with no
 * pin and no lock held, gives back the entries deleted keys still hold in read
 * tables (mapSqueeze), then frees everything retired so far, waiting a little
 * for threads pinned at an older epoch (collectWaiting). True if the write is
 * worth trying once more.
 */
function makeRoom(): bool {
  if (locked || ranging || snapshotting || reclaimIsPinned()) return false;
  pin();
  mapSqueeze(map);
  unpin();
  collectWaiting(ROOM_PATIENCE_MS);
  return true;
}

// The ways to make room for a write that failed with FULL, tried in turn (roomRound).
// @ts-ignore: decorator
@inline const ROOM_ROUNDS: i32 = 2;

/**
 * Round `round` of making room for a write that failed with FULL: 0, what
 * deleted keys hold and reclamation frees (makeRoom: not for a LockedMap);
 * 1, the spare scratch regions (giveBackSpares). True if the write is worth
 * trying again after it.
 */
function roomRound(round: i32): bool {
  return round == 0 ? makeRoom() : giveBackSpares();
}

/**
 * For a write that makeRoom could not help (or a LockedMap's, which has
 * nothing to squeeze): frees the spare scratch regions released slots keep
 * (slots.ts, "scratch"), all but one, the one a worker restarted after a death
 * needs to attach to a full map, or, if more were released in the last few
 * seconds (SPARE_GRACE_S), those: workers restarted together need them. True
 * if it freed any: the write is worth trying once more. Takes no lock and
 * waits for nothing.
 */
function giveBackSpares(): bool {
  return slotsGiveBackSpares(slotIndex(slot), SPARES_KEPT) > 0;
}

// How many spare scratch regions a write at the memory limit leaves (giveBackSpares).
// @ts-ignore: decorator
@inline const SPARES_KEPT: u32 = 1;

// How long a write about to fail with FULL waits for threads that hold reclamation back.
// @ts-ignore: decorator
@inline const ROOM_PATIENCE_MS: f64 = 100;

/** The present value's length (copied), or ABSENT when the key was absent and the value was stored. */
export function sm_loadOrStore(keyLen: usize, valueAt: usize, valueLen: usize, expiry: f64): i32 {
  let status = checkKey(keyLen);
  if (!status) status = checkValue(valueAt, valueLen);
  if (!status) status = checkExpiry(expiry);
  if (status) return status;
  if (locked) {
    const hash = hashKey(keyLen);
    status = lockedLoadOrStore(map, scratch, keyLen, hash, scratch + valueAt, valueLen, scratch);
    for (let round = 0; status == Status.FULL && round < ROOM_ROUNDS; round++) {
      if (roomRound(round)) status = lockedLoadOrStore(map, scratch, keyLen, hash, scratch + valueAt, valueLen, scratch);
    }
    if (status == Status.ABSENT) statsCount(STAT_WRITES); // stored
    return status;
  }
  status = loadOrStoreOnce(keyLen, valueAt, valueLen, expiry);
  for (let round = 0; status == Status.FULL && round < ROOM_ROUNDS; round++) {
    if (roomRound(round)) status = loadOrStoreOnce(keyLen, valueAt, valueLen, expiry);
  }
  return status;
}

function loadOrStoreOnce(keyLen: usize, valueAt: usize, valueLen: usize, expiry: f64): i32 {
  pin();
  const hash = hashKey(keyLen);
  let status = mapLoadOrStore(map, scratch, keyLen, hash, scratch + valueAt, valueLen, <u64>expiry);
  if (status == Status.OK) {
    recordFound(mapTablesWord(map, hash), result); // a read: the read cache keeps it as a load's
    status = copyOut(result);
  } else if (status == Status.ABSENT) {
    statsCount(STAT_WRITES);
  }
  unpin();
  return status;
}

/** Delete, or LoadAndDelete when `wantValue`: the deleted value's length (copied) or ABSENT. */
export function sm_delete(keyLen: usize, wantValue: bool): i32 {
  let status = checkKey(keyLen);
  if (status) return status;
  if (locked) {
    status = lockedDelete(map, scratch, keyLen, hashKey(keyLen), false, 0, 0, scratch, wantValue);
    if (status >= 0) statsCount(STAT_WRITES);
    return status;
  }
  pin();
  status = mapDelete(map, scratch, keyLen, hashKey(keyLen), false, 0, 0);
  if (status == Status.OK) {
    statsCount(STAT_WRITES);
    if (wantValue) status = copyOut(result);
  }
  unpin();
  return status;
}

/** 1 if the value equalled the old bytes and was replaced by the new ones, else 0. */
export function sm_compareAndSwap(
  keyLen: usize, oldAt: usize, oldLen: usize, newAt: usize, newLen: usize, expiry: f64,
): i32 {
  let status = checkKey(keyLen);
  if (!status) status = checkValue(oldAt, oldLen);
  if (!status) status = checkValue(newAt, newLen);
  if (!status) status = checkExpiry(expiry);
  if (status) return status;
  if (locked) {
    const hash = hashKey(keyLen);
    status = lockedCompareAndSwap(map, scratch, keyLen, hash, scratch + oldAt, oldLen, scratch + newAt, newLen);
    for (let round = 0; status == Status.FULL && round < ROOM_ROUNDS; round++) {
      if (roomRound(round)) {
        status = lockedCompareAndSwap(map, scratch, keyLen, hash, scratch + oldAt, oldLen, scratch + newAt, newLen);
      }
    }
  } else {
    status = compareAndSwapOnce(keyLen, oldAt, oldLen, newAt, newLen, expiry);
    for (let round = 0; status == Status.FULL && round < ROOM_ROUNDS; round++) {
      if (roomRound(round)) status = compareAndSwapOnce(keyLen, oldAt, oldLen, newAt, newLen, expiry);
    }
  }
  if (status == Status.OK) statsCount(STAT_WRITES);
  return status == Status.OK ? 1 : status == Status.ABSENT ? 0 : status;
}

function compareAndSwapOnce(keyLen: usize, oldAt: usize, oldLen: usize, newAt: usize, newLen: usize, expiry: f64): i32 {
  pin();
  const status = mapCompareAndSwap(
    map, scratch, keyLen, hashKey(keyLen), scratch + oldAt, oldLen, scratch + newAt, newLen, <u64>expiry,
  );
  unpin();
  return status;
}

/** 1 if the value equalled the old bytes and was deleted, else 0. */
export function sm_compareAndDelete(keyLen: usize, oldAt: usize, oldLen: usize): i32 {
  let status = checkKey(keyLen);
  if (!status) status = checkValue(oldAt, oldLen);
  if (status) return status;
  if (locked) {
    status = lockedDelete(map, scratch, keyLen, hashKey(keyLen), true, scratch + oldAt, oldLen, 0, false);
  } else {
    pin();
    status = mapDelete(map, scratch, keyLen, hashKey(keyLen), true, scratch + oldAt, oldLen);
    unpin();
  }
  if (status >= Status.OK) statsCount(STAT_WRITES); // deleted (lockedDelete: the value's length)
  return status >= Status.OK ? 1 : status == Status.ABSENT ? 0 : status;
}

export function sm_clear(): i32 {
  if (!slot) return Status.NOT_ATTACHED;
  recoverFromTrap();
  if (locked) return lockedClear(map);
  pin();
  const status = mapClear(map);
  if (status == Status.OK) reclaimFlush(); // what it emptied, to every thread (reclaim.ts)
  unpin();
  return status;
}

export function sm_size(): i32 {
  if (!slot) return Status.NOT_ATTACHED;
  return <i32>(locked ? lockedSize(map) : mapSize(map));
}

// ── range ──────────────────────────────────────────────────────────────────
//
// The bindings iterate shard by shard: sm_rangeBegin pins the thread and
// promotes the shard's dirty table (as Go's Range does), then sm_rangeNext
// copies as many records as fit into the scratch, as often as needed, and
// sm_rangeEnd unpins. The pin is held only across these calls and the bindings'
// own decoding between them, never across user code, so a slow callback cannot
// hold reclamation back.

/** Begins copying shard `shard`. OK, or a status (then nothing is held). */
export function sm_rangeBegin(shard: u32): i32 {
  if (!slot) return Status.NOT_ATTACHED;
  recoverFromTrap();
  if (ranging || shard >= mapShardCount(map)) return Status.BAD_ARGUMENT;
  if (locked) {
    const status = lockedRangeBegin(map); // holds the read lock until sm_rangeEnd
    if (status != Status.OK) return status;
    rangeTable = lockedRangeTable(map);
    ranging = true;
    return Status.OK;
  }
  pin();
  const status = mapRangeBegin(map, shard);
  if (status != Status.OK) {
    unpin();
    return status;
  }
  rangeTable = <usize>result;
  ranging = true;
  return Status.OK;
}

/**
 * Copies the present entries from table slot `from` on into the scratch, as many
 * as fit, ended by END_OF_RECORDS. Returns the slot to continue from, or -1 when
 * the shard is done.
 */
export function sm_rangeNext(from: u32): i32 {
  if (!ranging) return -1;
  const capacity = tableCapacity(rangeTable);
  let at: usize = 0;
  let i = from;
  for (; i < capacity; i++) {
    const entry = tableEntryAt(rangeTable, i);
    if (!entry) continue;
    const value = <usize>load32(entry + ENTRY_VALUE);
    if (locked ? !isLive(<u32>value) : !mapPresent(<u32>value)) continue;
    const keyLen = entryKeyLen(entry);
    const valueLen = valueLength(value);
    const valueAt = at + RECORD_HEADER_SIZE + ((keyLen + 7) & ~<usize>7);
    const next = valueAt + ((valueLen + 7) & ~<usize>7);
    // Always room for one record: scratchCap >= maxKey + maxValue + SLACK.
    if (next + RECORD_HEADER_SIZE > scratchCap) break;
    store<u32>(scratch + at, <u32>keyLen);
    store<u32>(scratch + at + 4, <u32>valueLen);
    memory.copy(scratch + at + RECORD_HEADER_SIZE, entry + ENTRY_KEY, keyLen);
    valueCopyTo(value, scratch + valueAt);
    at = next;
  }
  store<u32>(scratch + at, END_OF_RECORDS);
  return i < capacity ? <i32>i : -1;
}

export function sm_rangeEnd(): void {
  if (!ranging) return;
  ranging = false;
  rangeTable = 0;
  if (walking >= 0) {
    mapWalkEnd(map, <u32>walking);
    walking = -1;
    unpin();
  } else if (snapshotting) {
    // the shard is done; the freeze lasts until sm_snapshotEnd
  } else if (locked) {
    lockedRangeEnd(map);
  } else {
    unpin();
  }
}

// ── expiry ─────────────────────────────────────────────────────────────────

/** Publishes the host's time (Date.now(), ms) as the map clock if later; returns the clock. */
export function sm_tick(now: f64): f64 {
  if (!map || !(now >= 0 && now <= 9007199254740991)) return <f64>Status.BAD_ARGUMENT;
  return <f64>mapTick(map, <u64>now);
}

/**
 * Removes expired values, visiting at most `budget` table slots; returns how
 * many it removed, plus mapSweep's flags. `untombed` (versioned maps): an
 * earlier call of the same tick returned SWEEP_UNRECORDED, so try for no
 * tombstone (0 when omitted from JavaScript: try).
 */
export function sm_sweep(budget: u32, untombed: bool): i32 {
  if (!slot) return Status.NOT_ATTACHED;
  recoverFromTrap();
  if (locked || ranging) return 0;
  pin();
  const removed = mapSweep(map, budget, !untombed);
  unpin();
  return removed;
}

/** Milliseconds the key's value has left: -1 if it never expires, -2 if the key is absent. */
export function sm_remainingMs(keyLen: usize): f64 {
  const status = checkKey(keyLen);
  if (status) return <f64>status;
  if (locked) return <f64>Status.BAD_ARGUMENT;
  pin();
  const found = mapLoad(map, scratch, keyLen, hashKey(keyLen));
  const remaining = found == Status.OK ? mapRemainingMs(<usize>result) : found == Status.ABSENT ? -2 : <f64>found;
  unpin();
  return remaining;
}

// ── numbers ────────────────────────────────────────────────────────────────

/** Adds `delta` to the key's 8-byte (float64) value, or stores `delta`; the new value is copied to scratch. */
export function sm_add(keyLen: usize, delta: f64, expiry: f64): i32 {
  let status = checkKey(keyLen);
  if (!status) status = checkExpiry(expiry);
  if (status) return status;
  if (locked || maxValueBytes < 8) return Status.BAD_ARGUMENT;
  status = addOnce(keyLen, delta, expiry);
  for (let round = 0; status == Status.FULL && round < ROOM_ROUNDS; round++) {
    if (roomRound(round)) status = addOnce(keyLen, delta, expiry);
  }
  return status;
}

function addOnce(keyLen: usize, delta: f64, expiry: f64): i32 {
  const temp = scratch + ((keyLen + 7) & ~<usize>7); // past the key: room for 8 bytes is always there
  pin();
  let status = mapAdd(map, scratch, keyLen, hashKey(keyLen), delta, <u64>expiry, temp);
  if (status == Status.OK) {
    statsCount(STAT_WRITES);
    status = copyOut(result);
  }
  unpin();
  return status;
}

// ── versions ───────────────────────────────────────────────────────────────

/** The map's version (the last one a write took), as a double: exact below 2^53. */
export function sm_version(): f64 {
  return map ? <f64>mapVersion(map) : <f64>Status.NOT_ATTACHED;
}

/** The compaction watermark: a delta from a version below it may be incomplete. */
export function sm_watermark(): f64 {
  return map ? <f64>mapWatermark(map) : <f64>Status.NOT_ATTACHED;
}

export function sm_tombstones(): i32 {
  return map ? <i32>mapTombstones(map) : Status.NOT_ATTACHED;
}

/** The address of the version word (a u64), for Atomics.wait on it. */
export function sm_versionWord(): usize {
  return map ? mapVersionWord(map) : 0;
}

/** Raises the acknowledged low watermark that automatic compaction goes up to; returns it. */
export function sm_setLowWatermark(low: f64): f64 {
  if (!map || !(low >= 0 && low <= 9007199254740991)) return <f64>Status.BAD_ARGUMENT;
  return <f64>mapRaiseLow(map, <u64>low);
}

/** Keys in shard `index` (-1 past the last shard). */
export function sm_shardSize(index: u32): i32 {
  return map && index < mapShardCount(map) ? <i32>(locked ? lockedSize(map) : mapShardSize(map, index)) : -1;
}

/** How many times shard `index`'s lock has been taken (0 for a LockedMap; -1 past the last shard). */
export function sm_shardLockTakes(index: u32): f64 {
  return map && index < mapShardCount(map) ? (locked ? 0 : <f64>mapShardLockTakes(map, index)) : -1;
}

/**
 * Removes tombstones at or below `watermark` (raising the watermark); returns
 * how many. `waits` false: skips a shard whose lock is busy, and adds
 * COMPACT_SKIPPED to the count if it did (mapCompact).
 */
export function sm_compact(watermark: f64, waits: bool): i32 {
  if (!slot) return Status.NOT_ATTACHED;
  recoverFromTrap();
  if (locked || ranging || !(watermark >= 0 && watermark <= 9007199254740991)) return Status.BAD_ARGUMENT;
  pin();
  const removed = mapCompact(map, <u64>watermark, waits);
  unpin();
  return removed;
}

/**
 * Begins copying shard `shard`'s changes: holds its lock (so every version its
 * writers took is published) and pins, until sm_rangeEnd. sm_changesNext copies.
 */
export function sm_changesBegin(shard: u32): i32 {
  if (!slot) return Status.NOT_ATTACHED;
  recoverFromTrap();
  if (locked || ranging || shard >= mapShardCount(map)) return Status.BAD_ARGUMENT;
  pin();
  const status = mapWalkBegin(map, shard);
  if (status != Status.OK) {
    unpin();
    return status;
  }
  rangeTable = <usize>result;
  walking = <i32>shard;
  ranging = true;
  return Status.OK;
}

/**
 * Copies the entries whose value is newer than version `since`, from table
 * slot `from` on, as records: [keyLen u32][valueLen u32][version f64]
 * [tombstone u32][—], then the key and the value, each padded to 8; ended by
 * END_OF_RECORDS. Returns the slot to continue from, or -1 when the shard is done.
 */
export function sm_changesNext(from: u32, since: f64): i32 {
  if (walking < 0) return -1;
  const capacity = tableCapacity(rangeTable);
  const after = <u64>since;
  let at: usize = 0;
  let i = from;
  for (; i < capacity; i++) {
    const entry = tableEntryAt(rangeTable, i);
    if (!entry) continue;
    const value = <usize>load32(entry + ENTRY_VALUE);
    if (!isLive(<u32>value) || valueVersion(value) <= after) continue;
    const tombstone = !mapPresent(<u32>value); // a tombstone, or a value that has expired: a deletion
    const keyLen = entryKeyLen(entry);
    const valueLen: usize = tombstone ? 0 : valueLength(value);
    const valueAt = at + CHANGE_HEADER_SIZE + ((keyLen + 7) & ~<usize>7);
    const next = valueAt + ((valueLen + 7) & ~<usize>7);
    if (next + CHANGE_HEADER_SIZE > scratchCap) break;
    store<u32>(scratch + at, <u32>keyLen);
    store<u32>(scratch + at + 4, <u32>valueLen);
    store<f64>(scratch + at + 8, <f64>valueVersion(value));
    store<u32>(scratch + at + 16, tombstone ? 1 : 0);
    memory.copy(scratch + at + CHANGE_HEADER_SIZE, entry + ENTRY_KEY, keyLen);
    if (!tombstone) valueCopyTo(value, scratch + valueAt);
    at = next;
  }
  store<u32>(scratch + at, END_OF_RECORDS);
  return i < capacity ? <i32>i : -1;
}

// ── snapshot ───────────────────────────────────────────────────────────────
//
// sm_snapshotBegin stops every write (mapFreeze), so that what the bindings
// then copy, shard by shard (sm_snapshotShard, sm_rangeNext, sm_rangeEnd), is
// the map at one moment; sm_snapshotEnd lets writes go on. The bindings copy
// the raw records out between calls and decode them only afterwards, so writes
// wait for a copy, not for decoding.

export function sm_snapshotBegin(): i32 {
  if (!slot) return Status.NOT_ATTACHED;
  recoverFromTrap();
  if (ranging || snapshotting) return Status.BAD_ARGUMENT;
  if (locked) {
    const status = lockedRangeBegin(map);
    if (status != Status.OK) return status;
  } else {
    pin();
    const status = mapFreeze(map, slot);
    if (status != Status.OK) {
      unpin();
      return status;
    }
  }
  snapshotting = true;
  return Status.OK;
}

/** Prepares shard `shard` for sm_rangeNext, during a snapshot. */
export function sm_snapshotShard(shard: u32): i32 {
  if (!snapshotting || ranging || shard >= mapShardCount(map)) return Status.BAD_ARGUMENT;
  rangeTable = locked ? lockedRangeTable(map) : mapShardTable(map, shard);
  ranging = true;
  return Status.OK;
}

export function sm_snapshotEnd(): void {
  if (!snapshotting) return;
  if (ranging) sm_rangeEnd();
  snapshotting = false;
  if (locked) {
    lockedRangeEnd(map);
  } else {
    mapUnfreeze(map);
    unpin();
  }
}

// ── metadata, statistics, maintenance ──────────────────────────────────────

export function sm_layoutVersion(): u32 {
  return LAYOUT_VERSION;
}

export function sm_buildStamp(): u32 {
  return STAMP;
}

/** Where the map's random 128-bit hash key lies: 16 bytes that tell one map's memory from another's. */
export function sm_mapKeyAddress(): usize {
  return map;
}

export function sm_shards(): i32 {
  return map ? <i32>mapShardCount(map) : Status.NOT_ATTACHED;
}

export function sm_maxKeyBytes(): i32 {
  return map ? <i32>mapMaxKeyBytes(map) : Status.NOT_ATTACHED;
}

export function sm_maxValueBytes(): i32 {
  return map ? <i32>mapMaxValueBytes(map) : Status.NOT_ATTACHED;
}

export function sm_keyKind(): i32 {
  return map ? <i32>mapKeyKind(map) : Status.NOT_ATTACHED;
}

/** MAP_KIND_SYNC (0) for a SyncMap, MAP_KIND_LOCKED (1) for the LockedMap baseline. */
export function sm_mapKind(): i32 {
  return map ? <i32>mapKind(map) : Status.NOT_ATTACHED;
}

export function sm_valueKind(): i32 {
  return map ? <i32>mapValueKind(map) : Status.NOT_ATTACHED;
}

/** One statistic (STAT_*), as a double so that 64-bit counters survive. */
export function sm_stat(which: u32): f64 {
  if (which == STAT_BYTES_IN_USE) return <f64>bytesInUse(HEADER_INIT_ACCOUNT);
  if (which == STAT_HEAP_BYTES) return <f64>heapBytes();
  if (which == STAT_MEMORY_BYTES) return <f64>((<u64>memory.size()) << 16);
  if (which == STAT_THREADS) return <f64>slotsAttached();
  if (which == STAT_EPOCH_ADVANCES) return epochAdvances();
  if (which == STAT_LOCKS_RECOVERED) return <f64>heapRecoveredLocks();
  if (which == STAT_SCRATCH_BYTES) return <f64>slotsScratchBytes(false);
  if (which == STAT_SPARE_SCRATCH_BYTES) return <f64>slotsScratchBytes(true);
  if (which == STAT_COALESCES) return <f64>allocCoalesces();
  if (which >= STAT_COUNTERS && which < STAT_COUNTERS + STAT_COUNT) return <f64>statsTotal(which - STAT_COUNTERS);
  if (which == STAT_CACHE_HITS) return <f64>statsCacheHits();
  return -1;
}

/** Frees whatever reclamation can free right now. */
export function sm_collect(): void {
  if (slot && !ranging && !snapshotting) collect();
}

/** 0 if every invariant of the map holds, else the rule broken (map.ts, mapVerify). */
export function sm_verify(): i32 {
  if (!slot) return Status.NOT_ATTACHED;
  recoverFromTrap();
  if (locked) return lockedVerify(map);
  pin();
  const rule = mapVerify(map);
  unpin();
  return rule;
}

// Which word sm_readCacheWord gives (WORD_* in bindings/read-cache.ts).
// @ts-ignore: decorator
@inline const READ_CACHE_WORD_SLOT: u32 = 0;
// @ts-ignore: decorator
@inline const READ_CACHE_WORD_ADVANCES: u32 = 1;
// @ts-ignore: decorator
@inline const READ_CACHE_WORD_CLOCK: u32 = 2;

/**
 * The address of a word the bindings' read cache reads (bindings/read-cache.ts):
 * this thread's slot, the epoch advances or the map clock. 0 when not
 * attached, or for a LockedMap (which has no read cache).
 */
export function sm_readCacheWord(which: u32): usize {
  if (!slot || locked) return 0;
  if (which == READ_CACHE_WORD_SLOT) return slot;
  if (which == READ_CACHE_WORD_ADVANCES) return epochAdvancesWord();
  if (which == READ_CACHE_WORD_CLOCK) return mapClockWord(map);
  return 0;
}

/** Slots being reaped right now (tests: a reap cut short and never finished would stay counted). */
export function sm_slotsReaping(): u32 {
  return slotsReaping();
}

/** For tests: ages every FREE slot's release by `seconds` (slots.ts, "released"; negative: ahead); how many slots. */
export function sm_ageReleases(seconds: i32): u32 {
  return slotsAgeReleases(seconds);
}

/** This instance's slot index (for tests), or NOT_ATTACHED. */
export function sm_slotIndex(): i32 {
  return slot ? <i32>slotIndex(slot) : Status.NOT_ATTACHED;
}

/** The address of shard `index`'s lock word (for tests that play a dead lock holder). */
export function sm_shardLockWord(index: u32): usize {
  if (!map || index >= mapShardCount(map)) return 0;
  return locked ? lockedLockWord(map) : mapShardLockWord(map, index);
}

/** The address of the map's clear lock (for tests that play a clear() whose thread died), 0 for a LockedMap. */
export function sm_clearLockWord(): usize {
  return !map || locked ? 0 : mapClearLockWord(map);
}

/**
 * Debug build only (a no-op otherwise): the n-th crash point this thread
 * reaches traps, leaving a critical section half done (faults.ts).
 */
export function sm_debugFaultAfter(crashPoints: u32): void {
  faultAfter(crashPoints);
}

/** Debug build only (false otherwise): whether the crash point sm_debugFaultAfter armed has trapped. */
export function sm_debugFaultFired(): bool {
  return faultFired();
}

/**
 * Debug build only (a no-op otherwise): the n-th allocation this thread makes
 * for the map fails, and every later one until this is called with 0, as if
 * memory were exhausted (faults.ts).
 */
export function sm_debugFailAllocation(n: u32): void {
  faultFailAllocation(n);
}

/**
 * Debug build only (false otherwise): coalesces free memory now, as a thread
 * whose allocation ran short would, so that a test can stop it half-way
 * (sm_debugFaultAfter). False if not attached or a coalesce is under way.
 */
export function sm_debugCoalesce(): bool {
  return DEBUG && slot != 0 && allocCoalesceNow();
}

/**
 * Bytes of the heap that nothing accounts for: neither in use (allocated and
 * not freed, bytesInUse) nor free (on a list, DEFERRED, a thread's cache, its
 * carving chunk or its held run). 0 unless memory was lost: a block or run a
 * thread had in hand when it died, named by no word. Exact only while no
 * thread allocates or frees (tests; a walk, like sm_deferredFrees).
 */
export function sm_heapUnaccounted(): f64 {
  const free = <u64>allocListedBytes() + slotsFreeBytes();
  return <f64>(<i64>(<u64>heapBytes()) - <i64>bytesInUse(HEADER_INIT_ACCOUNT) - <i64>free);
}

/** Blocks freed while a coalesce had their list frozen, not yet back on it (for tests of alloc.ts). */
export function sm_deferredFrees(): u32 {
  return allocDeferredBlocks();
}

/** The allocator's class for `size` bytes (for tests of sizeclass.ts), or -1 past MAX_BLOCK. */
export function sm_sizeClassOf(size: usize): i32 {
  return size > MAX_BLOCK ? -1 : <i32>classOf(size);
}

/** The block size of class `c` (for tests of sizeclass.ts), or 0 past the last class. */
export function sm_classSize(c: u32): usize {
  return c < SIZE_CLASSES ? classSize(c) : 0;
}

/** SipHash-1-3 of scratch bytes under an explicit key (for tests of hash.ts). */
export function sm_sipHash13(key0: u64, key1: u64, at: usize, len: usize): u64 {
  if (!slot || at > scratchCap || len > scratchCap - at) return 0;
  return sipHash13(key0, key1, scratch + at, len);
}
