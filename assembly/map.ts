// The map: Go's sync.Map (src/sync/map.go, Go 1.20-1.23), sharded, over the
// shared memory.
//
// Go's design, per shard: an immutable *read* table published by one atomic
// word and read without any lock; a *dirty* table, written under the shard's
// mutex, that holds every non-expunged entry of read plus the keys added since
// the last promotion; and a miss counter that promotes dirty to read once the
// loads that had to lock have paid for the copy. Entries (entry.ts) are shared
// by both tables, and a value is changed by swapping the entry's value word.
//
// When to use it (Go's advice holds): (1) keys written once and read many times,
// as in caches that only grow; (2) many threads that read, write and overwrite
// disjoint sets of keys. A store of an existing key and every load of a key in
// read take no lock. Adding keys takes a lock and, after enough misses, copies a
// shard.
//
// Beyond Go: keys hash to S shards (a power of two), each with its own read and
// dirty tables, lock and miss counter. A new key sends only its own shard's
// loads to the slow path (the penalty of golang/go#21032), and a promotion copies
// one shard, not the whole map.
//
// Operations and the memory model, as in Go: Load, LoadAndDelete, LoadOrStore,
// Swap, CompareAndSwap and CompareAndDelete are reads; Delete, LoadAndDelete,
// Store and Swap are writes; LoadOrStore is a write when it stores,
// CompareAndSwap when it swaps, CompareAndDelete when it deletes. Every shared
// word is accessed with sequentially consistent atomics, so a write is visible
// to every read that starts after it returns.
//
// Differences from Go, each for a reason given where it is made:
//   - Presence changes (live ↔ DELETED) take the shard lock (entry.ts), so size
//     is exact and repairable after a crash.
//   - A new dirty table is sized by read's *present* keys, not by all of read's
//     entries: the deleted ones are about to be expunged, and a map whose keys
//     were mostly deleted must not need room for them to take a new key.
//   - clear() empties all shards while holding all their locks: writers see one
//     step, but a lock-free reader running meanwhile may see some shards emptied
//     and others not yet. The old tables and everything in them are retired as
//     one object per shard and freed by reclamation, so a thread stopped
//     mid-clear leaks nothing.
//
// Crash safety: every step that takes more than one store under a shard's lock
// is announced in the lock holder's *intent* (slots.ts) first, naming the
// blocks it involves; whoever takes the lock over from a dead holder finishes
// or undoes that step (repairShardLocked) without leaking what it was building.
//
//   intent       A (INTENT_A)            B (INTENT_B)       step
//   DIRTY_BUILD  the new dirty table     —                  dirtyFromReadLocked
//   GROW         the grown dirty table   the old dirty      dirtyWithRoomLocked
//   PROMOTE      the old read table      —                  promoteLocked
//   CLEAR        the old read table      the old dirty      clearShardLocked
//
// Every function here runs pinned (reclaim.ts): entries, tables and values it
// reaches stay valid until the caller unpins. Values it displaces it retires.
// Names: ...Locked means the caller holds the shard's lock; try... may refuse
// and reports how.

import { DEBUG } from "./config";
import { atomicAdd32, atomicAdd64, atomicAnd32, atomicMax64, atomicOr32, cas32, futexWait, futexWake, load32, load64, store32, store64, xchg32 } from "./atomics";
import { alloc, coalesceUnderWay, free } from "./alloc";
import { allocOrCollect } from "./memory";
import {
  ACQUISITIONS, MUTEX_SIZE, TIMED_OUT, lock, lockHeldBy, lockIsHeld, lockPatience, lockTakeOver, reapIfDead, tryLock, unlock,
} from "./mutex";
import { LOCK_WAIT_MS } from "./config";
import { STAT_COMPACTED, STAT_EXPIRED, STAT_PROMOTIONS, STAT_SLOW_LOADS, statsCount } from "./stats";
import {
  KIND_ENTRY, KIND_ORPHAN, KIND_TABLE, KIND_VALUE, RETIRE_LINK, epochAdvances, freeHeldBlock, holdBlock,
  reclaimRegisterKind, recordUnlinked, retire,
} from "./reclaim";
import {
  freeHeldEntry, freeHeldValue, heldEntryWord, heldValueWord, holdValue, letGoEntry, letGoValue,
} from "./inflight";
import {
  DELETED, ENTRY_KEY, ENTRY_VALUE, EXPUNGED, VALUE_META_SIZE, entryBlockSize, entryKeyLen, entryNew, isLive,
  valueBindMeta, valueBlockSize, valueCopyTo, valueEquals, valueExpired, valueFreeChunks, valueIsTombstone,
  valueBornBy, valueExpiresAt, valueNew, valueNewTombstone, valueRestamp, valueSetMeta, valueSetVersion, valueVersion,
} from "./entry";
import {
  capacityFor, slotEntry, slotHash, slotNext, slotRetire, tableCapacity, tableCount, tableEntryAt, tableFind, tableFindInline,
  tableFree, tableFreePages, tableGrowLocked, probedIndex, tableSerial, tableHasRoom, tableHashAt, tableHeaderBytes, tableInsertLocked,
  tableHeaderSize, tableNew, tablePartner, tableRecountLocked, tableRemoveLocked, tableRetireSlotLocked, tableRunEnd,
  tableSetPartner, tableSlotAt, tableSlotAtIfPresent, tableFillLocked, tableSlotForInsertLocked,
} from "./table";
import {
  SLOT_INTENT_A, SLOT_INTENT_B, SLOT_INTENT_OP, SLOT_INTENT_SHARD, SLOT_PIN, SLOT_WAITING, slotAt, slotHighWater,
} from "./slots";
import { Status } from "./status";
import { crashPoint } from "./faults";

//   map header (MAP_HEADER_SIZE = 64 bytes); every field is written once, by the
//   creator, before the map is published, and only read afterwards.
//   ┌───────────────┬───────────────┬────────┬───────────┬─────────┬───────────┐
//   │ hash key k0   │ hash key k1   │ body   │ shardMask │ maxKey  │ maxValue  │
//   ├─────────┬───────────┬─────────┬───────┬───────────┼──────────┬──────────┤
//   │ keyKind │ valueKind │ kind    │ flags │ state     │ occupied │ reserved │
//   └─────────┴───────────┴─────────┴───────┴───────────┴──────────┴──────────┘
//   body: the shard array of a sync map (MAP_KIND_SYNC), or the state block of
//   the LockedMap baseline (MAP_KIND_LOCKED, locked.ts), which has one "shard".
//   occupied: a sync map's set of occupied shards, one bit each, in a block of
//   u32 words of its own (see "occupied shards" below); 0 for LockedMap.
//   keyKind, valueKind: the bindings' codec ids, opaque to the core.
//   flags: MAP_FLAG_META (values carry a version and an expiry, entry.ts),
//   MAP_FLAG_VERSIONED (every write takes the next map-wide version).
//   state: the map's own cache line of words that change (MAP_STATE_*), apart
//   from this header, which every operation reads.
//
//   map state (MAP_STATE_SIZE = 64 bytes)
//   ┌──────────┬────────────┬──────────────┬─────────────┬─────────────┐
//   │ clock u64│ version u64│ watermark u64│ tombstones  │ sweep cursor│
//   └──────────┴────────────┴──────────────┴─────────────┴─────────────┘
//   clock      the map clock: the latest Date.now() (ms) a thread has published;
//              raised by any thread, by CAS, never lowered. Values expire by it,
//              so that a load compares two words and makes no call for the time.
//              Held as the bits of a float64, so that the bindings' read cache
//              reads it in one load; the bits of non-negative doubles order as
//              their values do, so raising it as a u64 (atomicMax64) is right.
//   version    the last version taken (versioned maps): added to atomically by a
//              writer holding its shard's lock, which stamps the value it then
//              publishes under that same lock (or, for a deletion that leaves
//              no tombstone, raises the watermark to it), and notifies waiters
//              on the word.
//   watermark  versions at or below it may have lost their tombstones: a delta
//              from below it is incomplete. Raised by CAS (atomicMax64, never
//              lowered) by compaction, and by a clear() or a delete or expiry
//              without a tombstone (unrecordedDeletionLocked) to the version it
//              took, under the lock of the shard it deletes from, before the
//              deletion is made.
//   tombstones tombstones present (versioned maps); atomic adds under shard locks.
//   sweep cursor  where the expiry sweeper goes on (shard, slot); any thread.
//   low        the version every client of the map's deltas has acknowledged
//              (set by the application): automatic compaction goes up to it.
//              Raised by CAS, never lowered.
//   clear lock a mutex (mutex.ts) held by a clear() from before it looks at
//              the first shard until it has released the last: while it is
//              held, a key may not be inserted into a shard without tables
//              (lockForInsert), so that clear() need lock only the occupied
//              shards. Any thread; reaped like a shard lock.
//
//   occupied shards (ceil(shards / 32) u32 words, apart from the shard array,
//   which stays a power of two in size, aligned to cache lines): bit i
//   of word i / 32 is shard i's. A shard whose bit is clear has no tables, and
//   no thread holds its lock on the way to giving it some. Set (atomic or) by
//   an insert holding the shard's lock that found no tables there, before it
//   reads the clear lock (lockForInsert); cleared (atomic and) only by clear(),
//   holding the shard's lock, once the shard has no tables. clear() reads the
//   words after taking the clear lock: of the two, whichever looks last sees
//   the other. A bit left set (an insert that backed off, a thread that died)
//   only costs the next clear() a lock.
// @ts-ignore: decorator
@inline const MAP_K0: usize = 0;
// @ts-ignore: decorator
@inline const MAP_K1: usize = 8;
// @ts-ignore: decorator
@inline const MAP_SHARDS: usize = 16;
// @ts-ignore: decorator
@inline const MAP_SHARD_MASK: usize = 20;
// @ts-ignore: decorator
@inline const MAP_MAX_KEY_BYTES: usize = 24;
// @ts-ignore: decorator
@inline const MAP_MAX_VALUE_BYTES: usize = 28;
// @ts-ignore: decorator
@inline const MAP_KEY_KIND: usize = 32;
// @ts-ignore: decorator
@inline const MAP_VALUE_KIND: usize = 36;
// @ts-ignore: decorator
@inline const MAP_KIND: usize = 40;
// @ts-ignore: decorator
@inline const MAP_FLAGS: usize = 44;
// @ts-ignore: decorator
@inline const MAP_STATE: usize = 48;
// @ts-ignore: decorator
@inline const MAP_OCCUPIED: usize = 52;
// @ts-ignore: decorator
@inline const MAP_HEADER_SIZE: usize = 64;

// @ts-ignore: decorator
@inline export const MAP_FLAG_META: u32 = 1;
// @ts-ignore: decorator
@inline export const MAP_FLAG_VERSIONED: u32 = 2;

// @ts-ignore: decorator
@inline const STATE_CLOCK: usize = 0;
// @ts-ignore: decorator
@inline const STATE_VERSION: usize = 8;
// @ts-ignore: decorator
@inline const STATE_WATERMARK: usize = 16;
// @ts-ignore: decorator
@inline const STATE_TOMBSTONES: usize = 24;
// @ts-ignore: decorator
@inline const STATE_SWEEP_SHARD: usize = 28;
// @ts-ignore: decorator
@inline const STATE_SWEEP_SLOT: usize = 32;
// @ts-ignore: decorator
@inline const STATE_LOW: usize = 40;
// @ts-ignore: decorator
@inline const STATE_CLEAR_LOCK: usize = 48; // MUTEX_SIZE bytes
// @ts-ignore: decorator
@inline const MAP_STATE_SIZE: usize = 64;

// @ts-ignore: decorator
@inline export const MAP_KIND_SYNC: u32 = 0;
// @ts-ignore: decorator
@inline export const MAP_KIND_LOCKED: u32 = 1;

//   shard (SHARD_SIZE = 64 bytes: one cache line, so that the lock word of one
//   shard never shares a line with the tables word that readers of the next load)
//   ┌───────────────────────────────┬─────────────────┬────────┬────────┬────────┬────┐
//   │ tables u64: read | dirty << 32│ lock (mutex.ts) │ misses │ size   │ frozen │ —  │
//   └───────────────────────────────┴─────────────────┴────────┴────────┴────────┴────┘
//    +0                              +8                +16      +20      +24
//
//   tables  Low half: the read table (0 = empty). High half: the dirty table
//           (0 = none). Loaded atomically by anyone, stored atomically only by
//           the lock holder. Both halves in one word, so that promotion (read ←
//           dirty, dirty ← none) and installing a new dirty table are each one
//           store: a holder stopped between two stores cannot leave them torn.
//           Go's `amended` is `dirty != 0`: a dirty table is only ever created to
//           receive a key that read lacks.
//   lock    mutex.ts. Guards dirty, misses, size, and every presence change.
//   misses  Loads since the last promotion that had to lock to find out whether
//           the key was present. Lock holder only, plain access.
//   size    Keys in the shard: entries holding a value that is not a tombstone
//           (an expired value counts until it is removed). Stored (atomic) by
//           the lock holder after each change it makes; loaded (atomic) by anyone.
//   frozen  1 while snapshot() holds every lock, or clear() holds this
//           shard's (mapFreeze, mapClear): a writer that sees it takes the lock
//           path instead of swapping without the lock. Stored (atomic) by the
//           thread holding the shard's lock for one of those, before it waits
//           out the operations under way; loaded by writers (atomic).
// @ts-ignore: decorator
@inline const SHARD_TABLES: usize = 0;
// @ts-ignore: decorator
@inline const SHARD_LOCK: usize = 8;
// @ts-ignore: decorator
@inline const SHARD_MISSES: usize = SHARD_LOCK + MUTEX_SIZE;
// @ts-ignore: decorator
@inline const SHARD_SIZE_COUNT: usize = SHARD_MISSES + 4;
// @ts-ignore: decorator
@inline const SHARD_FROZEN: usize = SHARD_SIZE_COUNT + 4;
// @ts-ignore: decorator
@inline const SHARD_SIZE: usize = 64;
// @ts-ignore: decorator
@inline const LOG2_SHARD_SIZE: usize = 6;

// Thread-local state (Wasm globals are per instance).
let owner: u32 = 0; // this thread's lock-owner id: slot index + 1
let intent: usize = 0; // this thread's slot, whose intent words it writes
let flags: u32 = 0; // the bound map's MAP_FLAG_* (0 for maps of the proxy build)
let state: usize = 0; // the bound map's state block
/** The value block an operation found or displaced (see each operation). */
export let result: u32 = 0;
/**
 * Where mapLoad found `result` (OK only): its entry, and the shard's read
 * table at the time. While that read table is still published, the entry
 * stays the key's: one in read leaves it only with no value (squeeze), and one
 * found in dirty leaves the tables only after its value word stops holding a
 * value (mapDelete), or holding one that is expired or a tombstone. The read
 * cache of the bindings relies on it (abi.ts, recordFound).
 */
export let resultEntry: usize = 0;
export let resultRead: u32 = 0;
/**
 * True when `resultEntry` was found in that read table (not in dirty only):
 * a write may then replace its value without the lock (trySwapRead), by the
 * entry alone while that read table stays published (mapSwapFound). Set by
 * mapLoad, by mapLoadOrStore when it found the key, by mapSwap when it
 * replaced a value without the lock, and by mapSwapFound.
 */
export let resultInRead: bool = false;
/** With `resultInRead`: the entry's slot index in that read table (table.ts, probedIndex). */
export let resultIndex: u32 = 0;

/** Sets the four words above: `entry`, found with `read` the read table (at `index` in it if `inRead`). */
// @ts-ignore: decorator
@inline function foundAt(entry: usize, read: u32, inRead: bool, index: u32): void {
  resultEntry = entry;
  resultRead = read;
  resultInRead = inRead;
  resultIndex = index;
}

/** Binds this thread's lock-owner id and slot (0, 0 to unbind). */
export function mapBindOwner(id: u32, slot: usize): void {
  owner = id;
  intent = slot;
}

/** Binds the map this instance works on: its flags and state (one map per instance with threads). */
export function mapBind(map: usize): void {
  flags = load<u32>(map + MAP_FLAGS);
  state = <usize>load<u32>(map + MAP_STATE);
  valueBindMeta(flags & MAP_FLAG_META ? VALUE_META_SIZE : 0);
}

// ── presence: what counts as a key with a value ────────────────────────────

/** The map clock (ms): the latest time a thread published (mapTick). */
// @ts-ignore: decorator
@inline function clockNow(): u64 {
  return <u64>reinterpret<f64>(load64(state + STATE_CLOCK));
}

/** True if `value` makes its key present: a value block, not a tombstone, not expired. */
// @ts-ignore: decorator
@inline function present(value: u32): bool {
  if (!isLive(value)) return false;
  if (!flags) return true;
  return !valueIsTombstone(<usize>value) && !valueExpired(<usize>value, clockNow());
}

/** True if `value` counts in the shard's size: a value block that is not a tombstone. */
// @ts-ignore: decorator
@inline function counted(value: u32): bool {
  return isLive(value) && !(flags && valueIsTombstone(<usize>value));
}

// @ts-ignore: decorator
@inline function versioned(): bool {
  return (flags & MAP_FLAG_VERSIONED) != 0;
}

// @ts-ignore: decorator
@inline function frozen(shard: usize): bool {
  return load32(shard + SHARD_FROZEN) != 0;
}

/**
 * Versioned maps: stamps an unpublished block with the next map-wide version.
 * The caller holds the shard's lock and publishes the block before releasing
 * it, so a delta taken shard by shard under the locks (versions.ts) misses no
 * version it reports as included.
 */
// @ts-ignore: decorator
@inline function stampLocked(block: u32): void {
  if (versioned()) valueSetVersion(<usize>block, atomicAdd64(state + STATE_VERSION, 1) + 1);
}

/**
 * Versioned maps: takes a version for a deletion that leaves no tombstone (a
 * clear, or a delete or expiry for whose tombstone no memory could be had),
 * and raises the watermark to it, so that a delta asked from before it answers
 * "reset" (take the whole map again) rather than missing the deletion. Called
 * before the deletion is made (a thread that dies between the two leaves a
 * needless reset, not a missed deletion), by a caller that holds the lock of
 * the shard it deletes from (every occupied shard's, for a clear) until the
 * deletion is published: a delta that walks that shard after it reads the
 * raised watermark when its walk ends (changesSince).
 */
function unrecordedDeletionLocked(): void {
  const version = atomicAdd64(state + STATE_VERSION, 1) + 1;
  crashPoint();
  atomicMax64(state + STATE_WATERMARK, version);
  crashPoint();
}

/** After a versioned write is published and its lock released: wakes waitForChange(). */
// @ts-ignore: decorator
@inline function notifyVersion(): void {
  if (versioned()) futexWake(state + STATE_VERSION, 0x7FFF_FFFF);
}

/** Publishes `now` (Date.now() ms) as the map clock if it is later. */
export function mapTick(map: usize, now: u64): u64 {
  const bits = atomicMax64(<usize>load<u32>(map + MAP_STATE) + STATE_CLOCK, reinterpret<u64>(<f64>now));
  return <u64>reinterpret<f64>(bits);
}

// ── intents (see the top of this file) ─────────────────────────────────────

// @ts-ignore: decorator
@inline const INTENT_NONE: u32 = 0;
// @ts-ignore: decorator
@inline const INTENT_DIRTY_BUILD: u32 = 1;
// @ts-ignore: decorator
@inline const INTENT_GROW: u32 = 2;
// @ts-ignore: decorator
@inline const INTENT_PROMOTE: u32 = 3;
// @ts-ignore: decorator
@inline const INTENT_CLEAR: u32 = 4;

/** Announces a step: its blocks first, the operation last. */
// @ts-ignore: decorator
@inline function intentBegin(op: u32, shard: usize, a: usize, b: usize): void {
  store32(intent + SLOT_INTENT_A, <u32>a);
  store32(intent + SLOT_INTENT_B, <u32>b);
  store32(intent + SLOT_INTENT_SHARD, <u32>shard);
  store32(intent + SLOT_INTENT_OP, op);
}

/** The step is done (always before the lock is released). */
// @ts-ignore: decorator
@inline function intentEnd(): void {
  store32(intent + SLOT_INTENT_OP, INTENT_NONE);
}

// ── layout accessors ───────────────────────────────────────────────────────

// @ts-ignore: decorator
@inline export function mapK0(map: usize): u64 { return load<u64>(map + MAP_K0); }
// @ts-ignore: decorator
@inline export function mapK1(map: usize): u64 { return load<u64>(map + MAP_K1); }
// @ts-ignore: decorator
@inline export function mapShardCount(map: usize): u32 { return load<u32>(map + MAP_SHARD_MASK) + 1; }
// @ts-ignore: decorator
@inline export function mapMaxKeyBytes(map: usize): u32 { return load<u32>(map + MAP_MAX_KEY_BYTES); }
// @ts-ignore: decorator
@inline export function mapMaxValueBytes(map: usize): u32 { return load<u32>(map + MAP_MAX_VALUE_BYTES); }
// @ts-ignore: decorator
@inline export function mapKeyKind(map: usize): u32 { return load<u32>(map + MAP_KEY_KIND); }
// @ts-ignore: decorator
@inline export function mapKind(map: usize): u32 { return load<u32>(map + MAP_KIND); }
// @ts-ignore: decorator
@inline export function mapBody(map: usize): usize { return <usize>load<u32>(map + MAP_SHARDS); }
// @ts-ignore: decorator
@inline export function mapValueKind(map: usize): u32 { return load<u32>(map + MAP_VALUE_KIND); }
// @ts-ignore: decorator
@inline export function mapFlags(map: usize): u32 { return load<u32>(map + MAP_FLAGS); }

/** The address of a shard's lock word (tests play a dead holder with it). */
export function mapShardLockWord(map: usize, index: u32): usize {
  return shardAt(map, index) + SHARD_LOCK;
}

// @ts-ignore: decorator
@inline function shardAt(map: usize, index: u32): usize {
  return <usize>load<u32>(map + MAP_SHARDS) + ((<usize>index) << LOG2_SHARD_SIZE);
}

/** Bytes of the occupied words of a map of `shardCount` shards. */
// @ts-ignore: decorator
@inline function occupiedBytes(shardCount: u32): usize {
  return ((<usize>shardCount + 31) >> 5) << 2;
}

/** The occupied word holding shard `index`'s bit (see "occupied shards"). */
// @ts-ignore: decorator
@inline function occupiedWord(map: usize, index: u32): usize {
  return <usize>load<u32>(map + MAP_OCCUPIED) + ((<usize>(index >> 5)) << 2);
}

/** The index of the shard at address `shard`. */
// @ts-ignore: decorator
@inline function shardIndex(map: usize, shard: usize): u32 {
  return <u32>((shard - <usize>load<u32>(map + MAP_SHARDS)) >> LOG2_SHARD_SIZE);
}

// The high half of the hash picks the shard; the low half, used by the tables,
// stays independent of it.
// @ts-ignore: decorator
@inline function shardFor(map: usize, hash: u64): usize {
  return shardAt(map, (<u32>(hash >> 32)) & load<u32>(map + MAP_SHARD_MASK));
}

// @ts-ignore: decorator
@inline function readOf(tables: u64): usize { return <usize><u32>tables; }
// @ts-ignore: decorator
@inline function dirtyOf(tables: u64): usize { return <usize>(tables >> 32); }
// @ts-ignore: decorator
@inline function tablesOf(read: usize, dirty: usize): u64 { return (<u64>dirty << 32) | <u64>read; }
// @ts-ignore: decorator
@inline function loadTables(shard: usize): u64 { return load64(shard + SHARD_TABLES); }

// @ts-ignore: decorator
@inline function sizeAddLocked(shard: usize, delta: i32): void {
  store32(shard + SHARD_SIZE_COUNT, load32(shard + SHARD_SIZE_COUNT) + <u32>delta);
}

// ── creation ───────────────────────────────────────────────────────────────

/**
 * A new, empty map; 0 when memory is exhausted. shardCount must be a power of
 * two. Uses plain alloc (no reclamation): it may run before the thread owns a
 * slot, and a new heap has nothing to reclaim anyway.
 */
export function mapNew(
  k0: u64, k1: u64, shardCount: u32,
  maxKeyBytes: u32, maxValueBytes: u32, keyKind: u32, valueKind: u32, mapFlags: u32,
): usize {
  const shardBytes = (<usize>shardCount) << LOG2_SHARD_SIZE;
  const shards = alloc(shardBytes);
  if (!shards) return 0;
  memory.fill(shards, 0, shardBytes);
  const occupied = alloc(occupiedBytes(shardCount));
  const map = occupied
    ? mapHeaderNew(k0, k1, shards, shardCount - 1, maxKeyBytes, maxValueBytes, keyKind, valueKind, MAP_KIND_SYNC, mapFlags)
    : 0;
  if (!map) {
    if (occupied) free(occupied, occupiedBytes(shardCount));
    free(shards, shardBytes);
    return 0;
  }
  memory.fill(occupied, 0, occupiedBytes(shardCount)); // none occupied
  store<u32>(map + MAP_OCCUPIED, <u32>occupied);
  return map;
}

/** A map header over `body` (see the diagram above); 0 when memory is exhausted. */
export function mapHeaderNew(
  k0: u64, k1: u64, body: usize, shardMask: u32,
  maxKeyBytes: u32, maxValueBytes: u32, keyKind: u32, valueKind: u32, kind: u32, mapFlags: u32,
): usize {
  const map = alloc(MAP_HEADER_SIZE);
  if (!map) return 0;
  const mapState = alloc(MAP_STATE_SIZE);
  if (!mapState) {
    free(map, MAP_HEADER_SIZE);
    return 0;
  }
  memory.fill(mapState, 0, MAP_STATE_SIZE);
  memory.fill(map, 0, MAP_HEADER_SIZE);
  store<u32>(map + MAP_FLAGS, mapFlags);
  store<u32>(map + MAP_STATE, <u32>mapState);
  store<u64>(map + MAP_K0, k0);
  store<u64>(map + MAP_K1, k1);
  store<u32>(map + MAP_SHARDS, <u32>body);
  store<u32>(map + MAP_SHARD_MASK, shardMask);
  store<u32>(map + MAP_MAX_KEY_BYTES, maxKeyBytes);
  store<u32>(map + MAP_MAX_VALUE_BYTES, maxValueBytes);
  store<u32>(map + MAP_KEY_KIND, keyKind);
  store<u32>(map + MAP_VALUE_KIND, valueKind);
  store<u32>(map + MAP_KIND, kind);
  return map;
}

/**
 * Empties the map and frees it, allocating nothing. Only for a map no other
 * thread can reach (the proxy-wasm build, one thread per VM, replacing a policy
 * table); the caller is pinned, and what the map held is retired.
 */
export function mapDestroy(map: usize): void {
  const shards = mapShardCount(map);
  for (let i: u32 = 0; i < shards; i++) {
    const shard = shardAt(map, i);
    const tables = loadTables(shard);
    store64(shard + SHARD_TABLES, 0);
    retireOrphan(readOf(tables), dirtyOf(tables));
  }
  free(<usize>load<u32>(map + MAP_OCCUPIED), occupiedBytes(shards));
  free(<usize>load<u32>(map + MAP_SHARDS), (<usize>shards) << LOG2_SHARD_SIZE);
  free(<usize>load<u32>(map + MAP_STATE), MAP_STATE_SIZE);
  free(map, MAP_HEADER_SIZE);
}

/**
 * Promotes every shard's dirty table to read, as Range does shard by shard: a
 * map filled once and then only read (the proxy filter's policy tables) never
 * sends a lookup down the locked miss path. LOCK_TIMEOUT if a lock cannot be had.
 */
export function mapSeal(map: usize): i32 {
  const shards = mapShardCount(map);
  for (let i: u32 = 0; i < shards; i++) {
    const status = mapRangeBegin(map, i);
    if (status != Status.OK) return status;
  }
  return Status.OK;
}

// ── Load ───────────────────────────────────────────────────────────────────

/** OK with `result` = the value block, or ABSENT (also for a tombstone or an expired value). */
export function mapLoad(map: usize, key: usize, keyLen: usize, hash: u64): i32 {
  const shard = shardFor(map, hash);
  const h = <u32>hash;
  let tables = loadTables(shard);
  let entry = tableFind(readOf(tables), h, key, keyLen);
  resultInRead = entry != 0;
  resultIndex = probedIndex;
  if (!entry && dirtyOf(tables)) {
    if (!lock(shard + SHARD_LOCK, owner)) return Status.LOCK_TIMEOUT;
    // Avoid reporting a spurious miss if dirty got promoted while we were
    // blocked on the lock. (If further loads of the same key will not miss, it
    // is not worth copying the dirty table for this key.)
    tables = loadTables(shard);
    entry = tableFind(readOf(tables), h, key, keyLen);
    resultInRead = entry != 0;
    resultIndex = probedIndex;
    if (!entry && dirtyOf(tables)) {
      entry = tableFind(dirtyOf(tables), h, key, keyLen);
      // Regardless of whether the entry was present, record a miss: this key
      // will take the slow path until dirty is promoted to read.
      missLocked(shard);
    }
    unlock(shard + SHARD_LOCK);
    statsCount(STAT_SLOW_LOADS);
  }
  if (!entry) return Status.ABSENT;
  const value = load32(entry + ENTRY_VALUE);
  if (!present(value)) return Status.ABSENT;
  result = value;
  resultEntry = entry;
  resultRead = <u32>readOf(tables);
  return Status.OK;
}

/** The address of the map clock (STATE_CLOCK, float64 ms), which the bindings' read cache loads. */
export function mapClockWord(map: usize): usize {
  return <usize>load<u32>(map + MAP_STATE) + STATE_CLOCK;
}

/** The address of the shard's tables word for `hash` (the read cache checks its read half). */
export function mapTablesWord(map: usize, hash: u64): usize {
  return shardFor(map, hash) + SHARD_TABLES;
}

// ── Store / Swap ───────────────────────────────────────────────────────────

/**
 * Takes the shard's lock for a write that may insert a key. A clear() under
 * way locks only the shards it saw occupied (mapClear): inserting into a shard
 * it did not see would survive the clear while the same thread's earlier
 * write to a shard the clear empties later did not. So a shard without tables
 * is marked occupied first, and then, if a clear is under way, this waits for
 * it without the shard's lock. Whichever of the two looks last sees the other:
 * this marks the shard and then reads the clear lock; mapClear takes the clear
 * lock and then reads the marks. False after a wait of this thread's patience
 * (LOCK_TIMEOUT).
 */
function lockForInsert(map: usize, shard: usize): bool {
  if (!ASC_FEATURE_THREADS) {
    if (!loadTables(shard)) markOccupied(map, shard); // one thread: no clear can be under way
    return true;
  }
  const clearLock = state + STATE_CLEAR_LOCK; // mapClearLockWord, without loading the map's header
  while (true) {
    if (!lock(shard + SHARD_LOCK, owner)) return false;
    if (loadTables(shard)) return true; // occupied already
    markOccupied(map, shard);
    if (!lockIsHeld(clearLock)) return true;
    unlock(shard + SHARD_LOCK);
    if (!lock(clearLock, owner)) return false;
    unlock(clearLock);
  }
}

/** Sets the shard's occupied bit (see "occupied shards"); the caller holds its lock. */
// @ts-ignore: decorator
@inline function markOccupied(map: usize, shard: usize): void {
  const index = shardIndex(map, shard);
  atomicOr32(occupiedWord(map, index), 1 << (index & 31));
}

/**
 * Whether a write may go without the lock in this shard now: not in a
 * versioned map (which stamps every write under the lock), nor in a shard that
 * snapshot() or clear() holds frozen. The caller is pinned, and reads this
 * before it loads the shard's tables. A clear marks the shard frozen, waits
 * out the operations under way (awaitOperationsUnderWay: it stored `frozen`
 * before it reads the pin words, the writer pinned before it reads `frozen`,
 * so one sees the other), empties the shard and unmarks it. A writer that read
 * the tables first could be stopped there, read `frozen` only once the clear
 * had unmarked it, and swap into an entry of the read table the clear retired:
 * a write lost to a clear it had seen end (test/clear-atomic.workers.test.ts
 * caught one in ~6000 clears). Read first, `frozen` is 0 either before the
 * clear marked it (the clear then waits for this operation) or after it
 * emptied the shard (the tables read next are the new ones).
 */
// @ts-ignore: decorator
@inline function lockFreeWrites(shard: usize): bool {
  return !versioned() && !frozen(shard);
}

/**
 * Go's trySwap: replaces the value of `entry`, found in the shard's read table
 * while pinned, with `block`, without the lock, if the entry holds a value
 * (live: it is then the key's, in read and in dirty alike). Only where
 * lockFreeWrites() said so, read before the tables. An expired value counts in
 * size as its replacement does. True with `result` set as mapSwap's.
 */
// @ts-ignore: decorator
@inline function trySwapRead(entry: usize, block: u32): bool {
  crashPoint(); // a thread that dies here has changed nothing (its reaper frees its block)
  let value = load32(entry + ENTRY_VALUE);
  while (isLive(value)) {
    letGoValue();
    const seen = cas32(entry + ENTRY_VALUE, value, block);
    if (seen == value) {
      recordUnlinked(value, KIND_VALUE);
      crashPoint(); // dying here publishes the new value; its reaper retires the old one
      result = present(value) ? value : 0;
      if (!result && flags) statsCount(STAT_EXPIRED); // an expired value, replaced
      retire(value, KIND_VALUE);
      return true;
    }
    holdValue(block);
    value = seen;
  }
  return false;
}

/**
 * Stores `block` (a fresh value block, its expiry set, which the map takes over
 * on OK) for the key. OK with `result` = the previous value block (already
 * retired), or 0 when the key was absent (no value, a tombstone, or expired).
 * When it replaced a value without the lock, `resultEntry`, `resultRead` and
 * `resultInRead` say where, as mapLoad's do; `resultInRead` is false otherwise.
 */
export function mapSwap(map: usize, key: usize, keyLen: usize, hash: u64, block: u32): i32 {
  const shard = shardFor(map, hash);
  const h = <u32>hash;
  const lockFree = lockFreeWrites(shard); // before the tables
  let tables = loadTables(shard);
  let entry = tableFind(readOf(tables), h, key, keyLen);
  const index = probedIndex; // before trySwapRead, whose retire may reach code that probes
  if (entry && lockFree && trySwapRead(entry, block)) {
    foundAt(entry, <u32>readOf(tables), true, index);
    return Status.OK;
  }
  resultInRead = false;

  if (!lockForInsert(map, shard)) return Status.LOCK_TIMEOUT;
  tables = loadTables(shard);
  let previous: u32 = DELETED;
  entry = tableFind(readOf(tables), h, key, keyLen);
  if (entry) {
    if (load32(entry + ENTRY_VALUE) == EXPUNGED) {
      // The entry was previously expunged, which implies that there is a dirty
      // table and this entry is not in it.
      if (!unexpungeLocked(shard, entry, h)) {
        unlock(shard + SHARD_LOCK);
        return Status.FULL;
      }
    }
    stampLocked(block);
    letGoValue();
    previous = xchg32(entry + ENTRY_VALUE, block);
  } else if (dirtyOf(tables) && (entry = tableFind(dirtyOf(tables), h, key, keyLen))) {
    stampLocked(block);
    letGoValue();
    previous = xchg32(entry + ENTRY_VALUE, block);
  } else {
    const status = insertLocked(shard, key, keyLen, h, block);
    if (status != Status.OK) {
      unlock(shard + SHARD_LOCK);
      return status;
    }
  }
  if (isLive(previous)) recordUnlinked(previous, KIND_VALUE);
  crashPoint();
  if (DEBUG) assert(previous != EXPUNGED);
  replacedLocked(shard, previous);
  unlock(shard + SHARD_LOCK);
  notifyVersion();
  result = present(previous) ? previous : 0;
  if (isLive(previous)) retire(previous, KIND_VALUE);
  return Status.OK;
}

/**
 * Store by where a key was found earlier (the bindings' read cache, abi.ts
 * sm_swapFound), without the key: `tablesWord` is the address of the shard's
 * tables word, `read` and `serial` its read table then and that table's serial
 * (table.ts), `index` the key's slot in it (resultIndex, found in read:
 * resultInRead). The caller is pinned. If the shard's read table now is the
 * same table (address and serial: not one made later at the same address), it
 * has been the read table ever since (a read table that is replaced is never
 * published again), and the caller's pin keeps it from being freed. Its slots
 * change only from an entry to a tombstone (squeeze, taking out an entry with
 * no value), so the slot holds the key's entry, or no entry; a value replaced
 * there is the key's, as trySwap's in mapSwap. Status.MOVED when any of this
 * does not hold, or the entry holds no value (the caller then stores by key),
 * else as mapSwap. Every argument is checked against the map: none can make
 * this write anywhere but the value word of an entry in a read table.
 */
export function mapSwapFound(map: usize, tablesWord: usize, read: u32, serial: f64, index: u32, block: u32): i32 {
  const shard = shardOfTablesWord(map, tablesWord);
  if (!shard) return Status.BAD_ARGUMENT;
  if (!lockFreeWrites(shard)) return Status.MOVED; // before the tables
  const entry = entryAtPlace(shard, read, serial, index);
  if (entry == NO_PLACE) return Status.BAD_ARGUMENT;
  if (!entry || !trySwapRead(entry, block)) return Status.MOVED;
  foundAt(entry, read, true, index);
  return Status.OK;
}

/**
 * Whether the value a thread found at a place (as mapSwapFound's arguments)
 * while the count of epoch advances was `since` is still the key's, after
 * advances that may have freed and reused what that thread reached: for the
 * bindings' read cache, whose records otherwise go stale at every advance
 * (bindings/read-cache.ts). The count now, read after the value word, when the
 * slot still holds an entry whose value word is `block`, that block has not
 * expired by the map clock, and it was born by `since` (entry.ts, valueBornBy:
 * then it is the block found, not a block made since at the same address), else
 * -1. The caller is pinned, so the count returned proves what an unchanged
 * count proves after recordFound (abi.ts): nothing reached here is freed before
 * the count moves. An argument that names no shard or slot of the map gives -1.
 * The one write is to the birth of the block the key holds (valueRestamp),
 * found through the place and checked to be in its entry: whatever the
 * arguments, it lands nowhere else.
 */
export function mapRevalidate(
  map: usize, tablesWord: usize, read: u32, serial: f64, index: u32, block: u32, since: f64,
): f64 {
  const shard = shardOfTablesWord(map, tablesWord);
  if (!shard || !isLive(block)) return -1;
  const entry = entryAtPlace(shard, read, serial, index);
  if (entry == NO_PLACE || !entry || load32(entry + ENTRY_VALUE) != block) return -1;
  if (!present(block)) return -1; // expired: the clock read after the value word, as a load reads it
  crashPoint(); // pinned: a trap here must not leave the pin held (the bindings recover)
  const now = epochAdvances(); // after the value word: a block reused later is born later
  if (!(since >= 0) || since > now) return -1;
  const bornBy = now - since < REVALIDATE_HORIZON && valueBornBy(<usize>block, since);
  valueRestamp(<usize>block, now); // the key's block now, whatever the record: kept checkable
  return bornBy ? now : -1;
}

// How many advances after a record was last checked mapRevalidate still tries
// (valueBornBy tells births apart within 2^28 advances; half of that is kept).
// @ts-ignore: decorator
@inline const REVALIDATE_HORIZON: f64 = 134217728; // 2^27

/**
 * What entryAtPlace returns for a slot index beyond the table: never an entry
 * (entries are 8-aligned). A slot's own TOMBSTONE word has the same value, but
 * tableEntryAt gives 0 for it, so the two never meet.
 */
// @ts-ignore: decorator
@inline const NO_PLACE: usize = 1;

/** The shard whose tables word is at `tablesWord`, or 0 if no shard of the map has it there. */
// @ts-ignore: decorator
@inline function shardOfTablesWord(map: usize, tablesWord: usize): usize {
  const shard = tablesWord - SHARD_TABLES;
  const first = shardAt(map, 0);
  if (shard < first || shard >= shardAt(map, mapShardCount(map)) || (shard - first) & (SHARD_SIZE - 1)) return 0;
  return shard;
}

/**
 * The entry in slot `index` of `read` if that (its address and serial) is
 * still the shard's read table, as mapSwapFound explains: then the slot holds
 * the entry it held when the place was recorded, or none. 0 when the read
 * table is another or the slot holds none; NO_PLACE when `index` is beyond the
 * table. The caller is pinned. Inlined: a store by place ran it in line before.
 */
// @ts-ignore: decorator
@inline function entryAtPlace(shard: usize, read: u32, serial: f64, index: u32): usize {
  if (!read || <u32>readOf(loadTables(shard)) != read || <f64>tableSerial(read) != serial) return 0;
  if (index >= tableCapacity(read)) return NO_PLACE;
  return tableEntryAt(read, index);
}

/**
 * Accounts for a value block that has replaced `previous` in an entry: the
 * shard's size and tombstone count. The caller holds the lock.
 */
function replacedLocked(shard: usize, previous: u32): void {
  if (!counted(previous)) sizeAddLocked(shard, 1);
  else if (!present(previous)) statsCount(STAT_EXPIRED); // an expired value, replaced
  if (isLive(previous) && flags && valueIsTombstone(<usize>previous)) atomicAdd32(state + STATE_TOMBSTONES, -1);
}

// ── LoadOrStore ────────────────────────────────────────────────────────────

/**
 * OK with `result` = the present value block, or ABSENT when the key was absent
 * and a new block with the `len` bytes at `bytes`, expiring at `expiry` (map
 * clock; 0 never), was stored (then `result` is that block). OK sets
 * `resultEntry`, `resultRead`, `resultInRead` and `resultIndex` as mapLoad
 * does: a key found is a read, which the bindings' read cache records.
 */
// @ts-ignore: decorator
@inline export function mapLoadOrStore(
  map: usize, key: usize, keyLen: usize, hash: u64, bytes: usize, len: usize, expiry: u64,
): i32 {
  const shard = shardFor(map, hash);
  const tables = loadTables(shard);
  const entry = tableFindInline(readOf(tables), <u32>hash, key, keyLen);
  if (entry) {
    // Avoid locking if it's a clean hit. (Go also stores into a DELETED entry
    // here without the lock; here that is a presence change, so it locks.)
    const value = load32(entry + ENTRY_VALUE);
    if (present(value)) {
      result = value;
      foundAt(entry, <u32>readOf(tables), true, probedIndex);
      return Status.OK;
    }
  }
  // In line up to here: loadOrStoreSlow's frame (the locked paths' registers)
  // cost the hit ~5 ns a call.
  return loadOrStoreSlow(map, shard, key, keyLen, <u32>hash, bytes, len, expiry);
}

/** mapLoadOrStore past a lock-free hit: under the shard's lock. */
function loadOrStoreSlow(
  map: usize, shard: usize, key: usize, keyLen: usize, h: u32, bytes: usize, len: usize, expiry: u64,
): i32 {
  if (!lockForInsert(map, shard)) return Status.LOCK_TIMEOUT;
  let tables = loadTables(shard);
  let status: i32;
  let entry = tableFind(readOf(tables), h, key, keyLen);
  if (entry) {
    foundAt(entry, <u32>readOf(tables), true, probedIndex); // before anything else probes
    status = load32(entry + ENTRY_VALUE) == EXPUNGED && !unexpungeLocked(shard, entry, h)
      ? Status.FULL
      : loadOrStoreLocked(shard, entry, bytes, len, expiry);
  } else if (dirtyOf(tables) && (entry = tableFind(dirtyOf(tables), h, key, keyLen))) {
    foundAt(entry, <u32>readOf(tables), false, probedIndex);
    status = loadOrStoreLocked(shard, entry, bytes, len, expiry);
    missLocked(shard);
  } else {
    const block = valueNew(bytes, len, heldValueWord());
    if (block) valueSetMeta(<usize>block, 0, expiry);
    status = block ? insertLocked(shard, key, keyLen, h, block) : Status.FULL;
    if (status == Status.OK) {
      crashPoint();
      sizeAddLocked(shard, 1);
      result = block;
      status = Status.ABSENT;
    } else if (block) {
      freeHeldValue(block); // never published
    }
  }
  unlock(shard + SHARD_LOCK);
  if (status == Status.ABSENT) notifyVersion();
  return status;
}

/** tryLoadOrStore with the lock held: the entry is not expunged. */
function loadOrStoreLocked(shard: usize, entry: usize, bytes: usize, len: usize, expiry: u64): i32 {
  let value = load32(entry + ENTRY_VALUE);
  if (present(value)) {
    result = value;
    return Status.OK;
  }
  // Absent: DELETED (which only a lock holder changes), or a tombstone or an
  // expired value (which a lock-free store may still replace: look again then).
  const block = valueNew(bytes, len, heldValueWord());
  if (!block) return Status.FULL;
  valueSetMeta(<usize>block, 0, expiry);
  stampLocked(block);
  while (true) {
    letGoValue();
    const seen = cas32(entry + ENTRY_VALUE, value, block);
    if (seen == value) break;
    holdValue(block);
    value = seen;
    if (present(value)) {
      freeHeldValue(block); // never published
      result = value;
      return Status.OK;
    }
  }
  if (isLive(value)) recordUnlinked(value, KIND_VALUE);
  crashPoint();
  replacedLocked(shard, value);
  if (isLive(value)) retire(value, KIND_VALUE);
  result = block;
  return Status.ABSENT;
}

// ── LoadAndDelete / Delete / CompareAndDelete ──────────────────────────────

/**
 * Deletes the key. OK with `result` = the value block it had (retired), or
 * ABSENT. With `compare`, deletes only if the value equals the `oldLen` bytes
 * at `old` (CompareAndDelete), and never removes the entry from dirty: as in
 * Go, the compare must happen on the entry itself. An expired value is removed
 * too, and reported ABSENT. In a versioned map a deletion leaves a tombstone
 * (a value block marking it, with its version) in place of the value.
 */
// @ts-ignore: decorator
@inline export function mapDelete(
  map: usize, key: usize, keyLen: usize, hash: u64,
  compare: bool, old: usize, oldLen: usize,
): i32 {
  // The lock-free answer of the first pass of deleteSlow's loop, in line: a
  // key that read does not hold while there is no dirty table, or whose entry
  // in read holds no value (DELETED, EXPUNGED, or a tombstone), is absent, and
  // nothing is written. Every other case goes on to deleteSlow, whose first
  // pass takes the tables and entry read here; a versioned map goes there at
  // once. Kept out of deleteSlow's body, whose frame (the locked paths'
  // registers) cost this path ~5 ns a call.
  if (versioned()) return deleteSlow(map, key, keyLen, hash, compare, old, oldLen, 0, 0, false);
  const tables = loadTables(shardFor(map, hash));
  const entry = tableFindInline(readOf(tables), <u32>hash, key, keyLen);
  if (entry ? !counted(load32(entry + ENTRY_VALUE)) : !dirtyOf(tables)) return Status.ABSENT;
  return deleteSlow(map, key, keyLen, hash, compare, old, oldLen, tables, entry, true);
}

/**
 * mapDelete past its lock-free miss. With `given`, the first pass uses
 * `givenTables` and `givenEntry`, which the caller read as that pass would
 * (the shard's tables word, then the key's entry in its read table).
 */
function deleteSlow(
  map: usize, key: usize, keyLen: usize, hash: u64,
  compare: bool, old: usize, oldLen: usize,
  givenTables: u64, givenEntry: usize, given: bool,
): i32 {
  const shard = shardFor(map, hash);
  const h = <u32>hash;
  while (true) {
    let tables = givenTables;
    let entry = givenEntry;
    if (given) given = false;
    else {
      tables = loadTables(shard);
      entry = tableFind(readOf(tables), h, key, keyLen);
    }
    let locked = false;
    if ((!entry && dirtyOf(tables)) || versioned()) {
      if (!lock(shard + SHARD_LOCK, owner)) return Status.LOCK_TIMEOUT;
      locked = true;
      tables = loadTables(shard);
      entry = tableFind(readOf(tables), h, key, keyLen);
      if (!entry && dirtyOf(tables)) {
        if (compare || versioned()) {
          entry = tableFind(dirtyOf(tables), h, key, keyLen);
        } else {
          entry = tableFind(dirtyOf(tables), h, key, keyLen);
          if (entry) {
            // The entry is in dirty only: drop it whole. Its value goes first
            // (a deleted entry in dirty is a state Go has too), so that no one
            // who reaches the entry without a table (the bindings' read cache,
            // by its value word) finds a value the table no longer holds.
            const value = xchg32(entry + ENTRY_VALUE, DELETED);
            if (isLive(value)) recordUnlinked(value, KIND_VALUE);
            crashPoint();
            if (isLive(value)) sizeAddLocked(shard, -1);
            crashPoint();
            tableRemoveLocked(dirtyOf(tables), h, key, keyLen);
            recordUnlinked(entry, KIND_ENTRY); // its value word DELETED: no one stores into it without the lock
            crashPoint();
            store32(entry + ENTRY_VALUE, EXPUNGED);
            // Both retired before the miss, whose promotion may unlink and
            // retire entries of its own: a thread records two at most (slots.ts).
            retire(entry, KIND_ENTRY);
            if (isLive(value)) retire(value, KIND_VALUE);
            missLocked(shard);
            unlock(shard + SHARD_LOCK);
            if (!isLive(value)) return Status.ABSENT;
            const wasPresent = present(value);
            if (!wasPresent) statsCount(STAT_EXPIRED);
            result = value;
            return wasPresent ? Status.OK : Status.ABSENT;
          }
        }
        // Regardless of whether the entry was present, record a miss: this key
        // will take the slow path until dirty is promoted to read.
        missLocked(shard);
      }
    }
    if (!entry || !removable(load32(entry + ENTRY_VALUE), compare, old, oldLen)) {
      if (locked) unlock(shard + SHARD_LOCK);
      return Status.ABSENT;
    }
    if (!locked) {
      if (!lock(shard + SHARD_LOCK, owner)) return Status.LOCK_TIMEOUT;
      // The entry was found without the lock: a clear() may have dropped it
      // since, zeroing the shard's size. Deleting from a dropped entry would
      // count the key out twice; look again instead.
      if (!isCurrentLocked(shard, entry, h)) {
        unlock(shard + SHARD_LOCK);
        continue;
      }
    }
    return deleteLocked(shard, entry, compare, old, oldLen);
  }
}

/**
 * True if the entry's value is to go: present (and equal to `old`, with
 * compare), or expired (whatever `old`: it is absent, and a write that meets
 * an expired value removes it).
 */
// @ts-ignore: decorator
@inline function removable(value: u32, compare: bool, old: usize, oldLen: usize): bool {
  if (!counted(value)) return false;
  if (!present(value)) return true;
  return !compare || valueEquals(value, old, oldLen);
}

/**
 * Deletes the entry's value (see mapDelete), under the lock, which it releases.
 * In a versioned map with no memory for a tombstone, the delete still happens
 * (a full map must be able to shrink), unrecorded: the watermark rises past it
 * (unrecordedDeletionLocked).
 */
function deleteLocked(shard: usize, entry: usize, compare: bool, old: usize, oldLen: usize): i32 {
  const tombstone: u32 = versioned() ? valueNewTombstone(0, heldValueWord()) : DELETED;
  let raised = false; // no tombstone: the watermark has risen past this deletion
  // Under the lock only lock-free swaps (live → live) can still change the value.
  while (true) {
    const value = load32(entry + ENTRY_VALUE);
    if (!removable(value, compare, old, oldLen)) break;
    const wasPresent = present(value);
    if (tombstone) stampLocked(tombstone);
    // First, and once: see expireLocked (no lock-free store replaces a value
    // in a versioned map, so this loop runs once there).
    else if (versioned() && !raised) {
      unrecordedDeletionLocked();
      raised = true;
    }
    letGoValue();
    if (cas32(entry + ENTRY_VALUE, value, tombstone) == value) {
      recordUnlinked(value, KIND_VALUE);
      crashPoint();
      sizeAddLocked(shard, -1);
      if (tombstone) atomicAdd32(state + STATE_TOMBSTONES, 1);
      unlock(shard + SHARD_LOCK);
      notifyVersion();
      if (!wasPresent) statsCount(STAT_EXPIRED);
      retire(value, KIND_VALUE);
      result = value;
      return wasPresent ? Status.OK : Status.ABSENT;
    }
    if (tombstone) holdValue(tombstone);
  }
  unlock(shard + SHARD_LOCK);
  if (tombstone) freeHeldValue(tombstone); // never published
  return Status.ABSENT;
}

/** True if `entry` is still in one of the shard's current tables. The caller holds the lock. */
function isCurrentLocked(shard: usize, entry: usize, h: u32): bool {
  const tables = loadTables(shard);
  const key = entry + ENTRY_KEY;
  const keyLen = entryKeyLen(entry);
  return tableFind(readOf(tables), h, key, keyLen) == entry || tableFind(dirtyOf(tables), h, key, keyLen) == entry;
}

// ── CompareAndSwap ─────────────────────────────────────────────────────────

/**
 * Swaps in the `newLen` bytes at `nu`, expiring at `expiry`, if the key's value
 * equals the `oldLen` bytes at `old`. OK with `result` = the replaced block
 * (retired), or ABSENT when the key is absent or its value differs. Stores
 * nothing for a missing key.
 */
export function mapCompareAndSwap(
  map: usize, key: usize, keyLen: usize, hash: u64,
  old: usize, oldLen: usize, nu: usize, nuLen: usize, expiry: u64,
): i32 {
  const shard = shardFor(map, hash);
  const h = <u32>hash;
  const lockFree = lockFreeWrites(shard); // before the tables
  let tables = loadTables(shard);
  let entry = tableFind(readOf(tables), h, key, keyLen);
  if (entry && lockFree) return tryCompareAndSwap(entry, old, oldLen, nu, nuLen, expiry);
  if (!entry && !dirtyOf(tables)) return Status.ABSENT; // no existing value for the key

  if (!lock(shard + SHARD_LOCK, owner)) return Status.LOCK_TIMEOUT;
  tables = loadTables(shard);
  let status: i32 = Status.ABSENT;
  entry = tableFind(readOf(tables), h, key, keyLen);
  if (entry) {
    status = tryCompareAndSwap(entry, old, oldLen, nu, nuLen, expiry);
  } else if (dirtyOf(tables) && (entry = tableFind(dirtyOf(tables), h, key, keyLen))) {
    status = tryCompareAndSwap(entry, old, oldLen, nu, nuLen, expiry);
    // We needed to lock in order to load the entry for key, and the operation
    // didn't change the set of keys in the map (so it would be made more
    // efficient by promoting the dirty table to read). Count it as a miss so
    // that we will eventually switch to the more efficient steady state.
    missLocked(shard);
  }
  unlock(shard + SHARD_LOCK);
  if (status == Status.OK) notifyVersion();
  return status;
}

/**
 * Swaps present → present only (no change of size), so it needs no lock but in
 * a versioned map, where the caller holds it for the version's sake.
 */
function tryCompareAndSwap(entry: usize, old: usize, oldLen: usize, nu: usize, nuLen: usize, expiry: u64): i32 {
  let value = load32(entry + ENTRY_VALUE);
  if (!present(value) || !valueEquals(value, old, oldLen)) return Status.ABSENT;
  // The block is made only once the comparison has passed.
  const block = valueNew(nu, nuLen, heldValueWord());
  if (!block) return Status.FULL;
  valueSetMeta(<usize>block, 0, expiry);
  stampLocked(block);
  while (true) {
    letGoValue();
    const seen = cas32(entry + ENTRY_VALUE, value, block);
    if (seen == value) {
      recordUnlinked(value, KIND_VALUE);
      retire(value, KIND_VALUE);
      result = value;
      return Status.OK;
    }
    holdValue(block);
    value = seen;
    if (!present(value) || !valueEquals(value, old, oldLen)) {
      freeHeldValue(block); // never published
      return Status.ABSENT;
    }
  }
}

// ── Add (numbers) ──────────────────────────────────────────────────────────

/**
 * Adds `delta` to the key's value, a float64 (the bindings' 'number' values),
 * or stores `delta` if the key is absent; the new value expires at `expiry`.
 * OK with `result` = the new value block. BAD_ARGUMENT if the value present is
 * not 8 bytes. A CAS loop on the value word: concurrent adds all count, and a
 * counter needs no lock unless its key is new (or the map is versioned).
 */
export function mapAdd(map: usize, key: usize, keyLen: usize, hash: u64, delta: f64, expiry: u64, scratch: usize): i32 {
  const shard = shardFor(map, hash);
  const h = <u32>hash;
  const lockFree = lockFreeWrites(shard); // before the tables
  const entry = tableFind(readOf(loadTables(shard)), h, key, keyLen);
  if (entry && lockFree) {
    const status = tryAdd(entry, delta, expiry, scratch);
    if (status != Status.ABSENT) return status;
  }
  while (true) {
    // In dirty only, or versioned, or frozen: add under the lock.
    if (!lock(shard + SHARD_LOCK, owner)) return Status.LOCK_TIMEOUT;
    const tables = loadTables(shard);
    let found = tableFind(readOf(tables), h, key, keyLen);
    if (!found) found = tableFind(dirtyOf(tables), h, key, keyLen);
    const added = found ? tryAdd(found, delta, expiry, scratch) : Status.ABSENT;
    unlock(shard + SHARD_LOCK);
    if (added == Status.OK) notifyVersion();
    if (added != Status.ABSENT) return added;
    // Absent: store `delta`, unless a value appears meanwhile (then add to it).
    store<f64>(scratch, delta);
    const status = mapLoadOrStore(map, key, keyLen, hash, scratch, 8, expiry);
    if (status == Status.ABSENT) return Status.OK; // `result`: the block stored
    if (status != Status.OK) return status;
  }
}

/** Adds to a present 8-byte value by CAS; ABSENT if there is none. */
function tryAdd(entry: usize, delta: f64, expiry: u64, scratch: usize): i32 {
  let value = load32(entry + ENTRY_VALUE);
  while (present(value)) {
    if (valueCopyTo(<usize>value, scratch) != 8) return Status.BAD_ARGUMENT;
    store<f64>(scratch, load<f64>(scratch) + delta);
    const block = valueNew(scratch, 8, heldValueWord());
    if (!block) return Status.FULL;
    valueSetMeta(<usize>block, 0, expiry);
    stampLocked(block);
    letGoValue();
    const seen = cas32(entry + ENTRY_VALUE, value, block);
    if (seen == value) {
      recordUnlinked(value, KIND_VALUE);
      retire(value, KIND_VALUE);
      result = block;
      return Status.OK;
    }
    holdValue(block); // held again before any call: never published
    freeHeldValue(block);
    value = seen;
  }
  return Status.ABSENT;
}

// ── Clear ──────────────────────────────────────────────────────────────────

/**
 * Deletes every key. Holding the clear lock, then the lock of every occupied
 * shard (taken in index order, the only order in which more than one lock is
 * ever held), it marks those shards frozen, so that a write
 * that would go without the lock takes it instead (and waits), waits for the
 * operations already under way (as snapshot() does, mapFreeze), and only then
 * empties the shards with one store each. So no writer can see the clear half
 * done (a thread that saw one shard emptied cannot then write into one not yet
 * emptied), and a lock-free reader only while those stores are made. A shard
 * it passes over has no key, and gets none until the clear is done: an insert
 * into a shard without tables marks it occupied and waits for the clear lock
 * (lockForInsert). So a clear of a map with few keys takes few locks, not all
 * 32, and reads one word per 32 shards to find them. What the old
 * tables held is retired with them, shard by shard, as one object
 * (KIND_ORPHAN) that reclamation frees once no reader can reach it. Allocates
 * nothing; LOCK_TIMEOUT leaves the map unchanged.
 */
export function mapClear(map: usize): i32 {
  const clearLock = mapClearLockWord(map);
  if (!lock(clearLock, owner)) return Status.LOCK_TIMEOUT;
  const shards = mapShardCount(map);
  // Only the occupied shards may hold tables, or be about to: their marks,
  // read after the clear lock was taken, name them (see "occupied shards";
  // an insert that marks a shard later sees the clear lock held). The shards
  // this clear locks are among [first, end): the later passes look at those
  // only (Go's Clear benchmark clears one key's shard of 32).
  let first = shards;
  let end: u32 = 0;
  for (let w: u32 = 0; w < shards; w += 32) {
    let marks = load32(occupiedWord(map, w));
    while (marks) {
      const i = w + ctz(marks);
      marks &= marks - 1;
      if (!lock(shardAt(map, i) + SHARD_LOCK, owner)) {
        unlockClearing(map, first, i);
        unlock(clearLock);
        return Status.LOCK_TIMEOUT;
      }
      if (first == shards) first = i;
      end = i + 1;
    }
  }
  // Nothing to empty: no write to wait out. (A snapshot() holding every shard
  // waits for this operation to end, as this would wait for the snapshot's.)
  if (ASC_FEATURE_THREADS && end) {
    setFrozenClearing(map, first, end, 1);
    if (!awaitOperationsUnderWay(intent)) {
      setFrozenClearing(map, first, end, 0);
      unlockClearing(map, first, end);
      unlock(clearLock);
      return Status.LOCK_TIMEOUT;
    }
  }
  // A clear deletes every key but leaves no tombstones: the watermark rises
  // before the first shard is emptied (see unrecordedDeletionLocked).
  if (versioned()) unrecordedDeletionLocked();
  for (let i = first; i < end; i++) {
    const shard = shardAt(map, i);
    // Without threads a lock writes nothing: every shard is this call's (one without tables is a no-op).
    if (ASC_FEATURE_THREADS && !lockHeldBy(shard + SHARD_LOCK, owner)) continue;
    clearShardLocked(shard);
    // No tables now, and the lock held: no insert is on its way to giving it some.
    atomicAnd32(occupiedWord(map, i), ~(<u32>1 << (i & 31)));
  }
  if (versioned()) store32(state + STATE_TOMBSTONES, 0);
  if (ASC_FEATURE_THREADS) setFrozenClearing(map, first, end, 0);
  unlockClearing(map, first, end);
  unlock(clearLock);
  notifyVersion();
  return Status.OK;
}

/** Marks (1) or unmarks (0) frozen the shards in [from, to) whose locks this clear holds. */
function setFrozenClearing(map: usize, from: u32, to: u32, frozenFlag: u32): void {
  for (let i = from; i < to; i++) {
    const shard = shardAt(map, i);
    if (lockHeldBy(shard + SHARD_LOCK, owner)) store32(shard + SHARD_FROZEN, frozenFlag);
  }
}

/** The address of the map's clear lock (mapClear, the reaper's recovery, and tests through abi.ts). */
export function mapClearLockWord(map: usize): usize {
  return <usize>load<u32>(map + MAP_STATE) + STATE_CLEAR_LOCK;
}

/** Releases the shard locks a clear took among the shards [from, to) (those this thread holds). */
function unlockClearing(map: usize, from: u32, to: u32): void {
  for (let i = from; i < to; i++) {
    const shard = shardAt(map, i);
    if (lockHeldBy(shard + SHARD_LOCK, owner)) unlock(shard + SHARD_LOCK);
  }
}

function clearShardLocked(shard: usize): void {
  const tables = loadTables(shard);
  if (!tables) return; // already empty (no tables, so size is 0 too)
  const read = readOf(tables);
  const dirty = dirtyOf(tables);
  intentBegin(INTENT_CLEAR, shard, read, dirty);
  store64(shard + SHARD_TABLES, 0); // read ← empty, dirty ← none: one store
  crashPoint();
  store<u32>(shard + SHARD_MISSES, 0);
  store32(shard + SHARD_SIZE_COUNT, 0);
  retireOrphan(read, dirty);
  crashPoint();
  intentEnd();
}

/** Retires a shard's dropped tables, and everything in them, as one object. */
function retireOrphan(read: usize, dirty: usize): void {
  if (read) {
    tableSetPartner(read, dirty); // readers never look at it
    retire(read, KIND_ORPHAN);
  } else if (dirty) {
    retire(dirty, KIND_ORPHAN);
  }
}

/**
 * Frees what an orphan (a read table, its partner the dirty table of the same
 * shard, or a table alone) held, once no thread can reach any of it: the
 * read table's EXPUNGED entries (in no dirty table), then every entry of the
 * dirty table (or of the table alone) with its value, then the partner's blocks
 * and the orphan's pages. Nothing changes entries' states any more (presence
 * changes need a current table), so the states seen here are those at clear().
 * Resumable: each slot is made a tombstone before what it held is freed.
 */
function drainOrphan(table: usize): void {
  const partner = tablePartner(table);
  if (partner) {
    // The read table: its entries that are not EXPUNGED are the partner's too.
    const capacity = tableCapacity(table);
    for (let i: u32 = 0; i < capacity; ) {
      const end = tableRunEnd(table, i);
      let slot = tableSlotAtIfPresent(table, i); // a drain that stopped half-way may have freed pages
      if (!slot) {
        i = end;
        continue;
      }
      for (; i < end; i++, slot = slotNext(slot)) {
        const entry = <usize>slotEntry(slot);
        if (entry <= TOMBSTONE_WORD) continue;
        if (load32(entry + ENTRY_VALUE) != EXPUNGED) {
          slotRetire(slot);
          continue;
        }
        const size = entryBlockSize(entry);
        holdBlock(entry, size); // this slot was all that reached it
        slotRetire(slot);
        freeHeldBlock(entry, size);
      }
    }
    freeEntriesOf(partner);
    tableFreePages(partner);
    const size = tableHeaderBytes(partner);
    holdBlock(partner, size);
    tableSetPartner(table, 0);
    freeHeldBlock(partner, size);
  } else {
    freeEntriesOf(table);
  }
  tableFreePages(table);
}

// @ts-ignore: decorator
@inline const TOMBSTONE_WORD: usize = 1;

/** Frees every entry of a dropped table and its value (see drainOrphan). */
function freeEntriesOf(table: usize): void {
  const capacity = tableCapacity(table);
  for (let i: u32 = 0; i < capacity; ) {
    const end = tableRunEnd(table, i);
    let slot = tableSlotAtIfPresent(table, i); // pages a drain that stopped half-way freed: nothing left there
    if (!slot) {
      i = end;
      continue;
    }
    for (; i < end; i++, slot = slotNext(slot)) {
      const entry = <usize>slotEntry(slot);
      if (entry <= TOMBSTONE_WORD) continue;
      const value = <usize>load32(entry + ENTRY_VALUE);
      if (isLive(<u32>value)) {
        valueFreeChunks(value); // resumable while the entry still holds it
        const size = valueBlockSize(value);
        holdBlock(value, size); // named by the slot once the entry lets go of it
        store32(entry + ENTRY_VALUE, EXPUNGED);
        freeHeldBlock(value, size);
      }
      const size = entryBlockSize(entry);
      holdBlock(entry, size);
      slotRetire(slot);
      crashPoint();
      freeHeldBlock(entry, size);
    }
  }
}

/** What an orphan gives back: its tables, and about 64 bytes of entry and value per slot. */
function orphanWeight(table: usize): usize { return (<usize>tableCapacity(table)) * 80; }
reclaimRegisterKind(KIND_ORPHAN, drainOrphan, tableHeaderSize, orphanWeight);

// ── Range, Size ────────────────────────────────────────────────────────────

/**
 * Prepares shard `index` for iteration, as Go's Range does for the whole map:
 * if dirty holds keys read lacks, promote it now (Range is O(n) anyway, so it
 * pays for the copy). OK with `result` = the read table to iterate (0 if empty).
 * The caller stays pinned while it iterates.
 */
export function mapRangeBegin(map: usize, index: u32): i32 {
  const shard = shardAt(map, index);
  let tables = loadTables(shard);
  if (dirtyOf(tables)) {
    if (!lock(shard + SHARD_LOCK, owner)) return Status.LOCK_TIMEOUT;
    tables = loadTables(shard);
    if (dirtyOf(tables)) {
      promoteLocked(shard, tables);
      tables = loadTables(shard);
    }
    unlock(shard + SHARD_LOCK);
  }
  result = <u32>readOf(tables);
  return Status.OK;
}

/** Present keys, summed over the shards. */
export function mapSize(map: usize): u32 {
  let size: u32 = 0;
  const shards = mapShardCount(map);
  for (let i: u32 = 0; i < shards; i++) size += load32(shardAt(map, i) + SHARD_SIZE_COUNT);
  return size;
}

// ── Squeeze ────────────────────────────────────────────────────────────────

/**
 * Gives back the entries of deleted keys: in Go's design a deleted key's entry
 * stays in the read table until a new dirty table is made from read (which
 * needs memory) and promoted, so a map whose keys were all deleted, at its
 * memory limit, could refuse every new key while it held none. Shard by shard
 * (a last resort of a write about to fail, which holds no lock: abi.ts,
 * makeRoom), this promotes the dirty table if there is one, then
 * turns every DELETED entry of read into a tombstone and retires it, which
 * needs no memory at all. A reader probing read meanwhile finds the key
 * absent either way. Returns how many entries it retired. The caller is pinned.
 */
export function mapSqueeze(map: usize): u32 {
  let retired: u32 = 0;
  const shards = mapShardCount(map);
  let patient = true;
  for (let i: u32 = 0; i < shards; i++) {
    const shard = shardAt(map, i);
    // The caller holds no lock (abi.ts, makeRoom), so waiting for one cannot
    // deadlock. After one wait in vain, the rest are only tried: a thread that
    // died unrecorded holding every lock (in clear()) would cost a patience each.
    if (patient ? !lock(shard + SHARD_LOCK, owner) : !tryLock(shard + SHARD_LOCK, owner)) {
      patient = false;
      continue;
    }
    let tables = loadTables(shard);
    if (dirtyOf(tables)) {
      promoteLocked(shard, tables);
      tables = loadTables(shard);
    }
    retired += squeezeReadLocked(readOf(tables));
    unlock(shard + SHARD_LOCK);
  }
  return retired;
}

/** Retires the DELETED entries of a read table that has no dirty table beside it. */
function squeezeReadLocked(read: usize): u32 {
  let retired: u32 = 0;
  const capacity = tableCapacity(read);
  for (let i: u32 = 0; i < capacity; ) {
    const end = tableRunEnd(read, i);
    let slot = tableSlotAt(read, i);
    for (; i < end; i++, slot = slotNext(slot)) {
      const entry = <usize>slotEntry(slot);
      if (entry <= TOMBSTONE_WORD) continue;
      // Only a lock holder changes DELETED, so the CAS cannot fail: it marks the
      // entry as in no table, for whoever still holds it (entry.ts).
      if (cas32(entry + ENTRY_VALUE, DELETED, EXPUNGED) != DELETED) continue;
      tableRetireSlotLocked(read, slot);
      recordUnlinked(entry, KIND_ENTRY);
      crashPoint();
      retire(entry, KIND_ENTRY);
      retired++;
    }
  }
  return retired;
}

// ── Expiry ─────────────────────────────────────────────────────────────────

/**
 * Removes expired values, visiting at most `budget` table slots from where the
 * last call stopped (the sweep cursor), shard by shard under each shard's lock
 * (a shard whose lock is busy is passed over), so that one call's work is
 * bounded and never waits. In a versioned map each value removed becomes a
 * tombstone, or goes unrecorded when memory for one cannot be had
 * (expireLocked); `tombstones` false (the caller learned so from this
 * function's SWEEP_UNRECORDED earlier in the same tick) tries for none.
 * Returns how many values it removed, plus SWEEP_WRAPPED if the cursor came
 * round to the first shard (a pass over the whole map ended), SWEEP_SHORT if it
 * stopped at a value whose tombstone may be had once a coalesce under way ends,
 * and SWEEP_UNRECORDED if it went without tombstones.
 */
export function mapSweep(map: usize, budget: u32, tombstones: bool): i32 {
  if (!(flags & MAP_FLAG_META)) return 0;
  const shards = mapShardCount(map);
  let index = load32(state + STATE_SWEEP_SHARD) % shards;
  let from = load32(state + STATE_SWEEP_SLOT);
  let visited: u32 = 0;
  let removed = 0;
  let wrapped = false;
  let short = false; // stopped, to try this value again next time
  // Once a tombstone could not be had for want of memory, the rest of this
  // sweep goes without: nothing it retires is freed before it ends, and each
  // failure costs a round of reclamation.
  tombstones = tombstones && versioned();
  for (let shardsSeen: u32 = 0; visited < budget && shardsSeen <= shards; shardsSeen++) {
    const shard = shardAt(map, index);
    // Never waits for a lock: a busy shard is swept on a later lap, and a
    // tombstone's allocation waits for no coalesce under way (expireLocked).
    // (A sweeper tick can run in the thread that must hear of a dead holder's
    // exit from its event loop, which a wait here would block until
    // lockTimeoutMs.)
    if (tryLock(shard + SHARD_LOCK, owner)) {
      const tables = loadTables(shard);
      const holder = dirtyOf(tables) ? dirtyOf(tables) : readOf(tables);
      const capacity = tableCapacity(holder);
      const now = clockNow();
      let i = from;
      for (; i < capacity && visited < budget; i++, visited++) {
        const entry = tableEntryAt(holder, i);
        if (!entry) continue;
        const value = load32(entry + ENTRY_VALUE);
        if (!counted(value) || !valueExpired(<usize>value, now)) continue;
        const expired = expireLocked(shard, entry, value, tableHashAt(holder, i), tombstones);
        if (expired == EXPIRE_DEFERRED) {
          short = true;
          break;
        }
        if (expired == EXPIRE_UNRECORDED) tombstones = false;
        if (expired != EXPIRE_KEPT) removed++;
      }
      unlock(shard + SHARD_LOCK);
      if (i < capacity) {
        from = i;
        break;
      }
    }
    index = (index + 1) % shards;
    from = 0;
    if (!index) {
      wrapped = true;
      break;
    }
  }
  store32(state + STATE_SWEEP_SHARD, index);
  store32(state + STATE_SWEEP_SLOT, from);
  if (removed) notifyVersion();
  // `tombstones` only ever turns false: passed so, or after a failure here.
  return removed | (wrapped ? SWEEP_WRAPPED : 0) | (short ? SWEEP_SHORT : 0)
    | (versioned() && !tombstones ? SWEEP_UNRECORDED : 0);
}

// @ts-ignore: decorator
@inline export const SWEEP_WRAPPED: i32 = 1 << 30;
// What mapSweep adds when it stopped at an expired value whose tombstone could
// not be allocated while a coalesce was under way (which a sweep never waits
// for): the next tick tries that value again, rather than expire it unrecorded
// and send every delta client back to the whole map for a moment's contention.
// @ts-ignore: decorator
@inline export const SWEEP_SHORT: i32 = 1 << 29;
// What mapSweep adds when it went without tombstones (versioned maps): memory
// for one could not be had.
// @ts-ignore: decorator
@inline export const SWEEP_UNRECORDED: i32 = 1 << 28;

// What expireLocked did.
// @ts-ignore: decorator
@inline const EXPIRE_KEPT: i32 = 0; // a lock-free store replaced the value first
// @ts-ignore: decorator
@inline const EXPIRE_REMOVED: i32 = 1;
// Versioned: removed, with no tombstone (none could be had): the watermark rose past it.
// @ts-ignore: decorator
@inline const EXPIRE_UNRECORDED: i32 = 2;
// Versioned: nothing done; its tombstone may be had once a coalesce under way ends.
// @ts-ignore: decorator
@inline const EXPIRE_DEFERRED: i32 = -1;

/**
 * Removes an expired value (a tombstone takes its place in a versioned map).
 * An entry in dirty only goes with it, as a delete's does: otherwise keys that
 * expire without ever being read would pile up in the dirty table. The caller
 * holds the lock; `h` is the entry's hash. In a versioned map, a tombstone is
 * tried for only if `tombstones`. Its allocation waits for no coalesce under
 * way (memory.ts): the sweeper waits for nothing. Failing while one is under
 * way, it leaves the value to the next sweep (EXPIRE_DEFERRED). Failing
 * otherwise, or not tried, the value goes all the same, unrecorded
 * (unrecordedDeletionLocked), deltas from before answering "reset": a map full
 * of expired values must be able to give their memory back, and a tombstone's
 * memory may be what only the expiry frees (the values freed go to this
 * thread's cache of their size class, which a tombstone of another size never
 * takes).
 */
function expireLocked(shard: usize, entry: usize, value: u32, h: u32, tombstones: bool): i32 {
  let tombstone: u32 = DELETED;
  if (tombstones) {
    tombstone = valueNewTombstone(0, heldValueWord(), false);
    if (!tombstone && coalesceUnderWay()) return EXPIRE_DEFERRED;
  }
  // Versioned, no tombstone: the watermark rises first, so that a thread that
  // dies after the value has gone has left deltas answering "reset" (one that
  // dies before only costs deltas a needless reset). No lock-free store
  // replaces a value in a versioned map (lockFreeWrites), so the value cannot
  // be kept below once the watermark has risen.
  const unrecorded = !tombstone && versioned();
  if (unrecorded) unrecordedDeletionLocked();
  if (!tombstone && dropDirtyOnlyLocked(shard, entry, h)) {
    sizeAddLocked(shard, -1);
    statsCount(STAT_EXPIRED);
    retire(value, KIND_VALUE);
    return unrecorded ? EXPIRE_UNRECORDED : EXPIRE_REMOVED;
  }
  if (tombstone) stampLocked(tombstone);
  letGoValue();
  if (cas32(entry + ENTRY_VALUE, value, tombstone) != value) {
    // A lock-free store replaced it meanwhile: it is no longer this value's to remove.
    if (tombstone) {
      holdValue(tombstone); // held again before any call: never published
      freeHeldValue(tombstone);
    }
    return EXPIRE_KEPT;
  }
  recordUnlinked(value, KIND_VALUE);
  sizeAddLocked(shard, -1);
  statsCount(STAT_EXPIRED);
  if (tombstone) atomicAdd32(state + STATE_TOMBSTONES, 1);
  retire(value, KIND_VALUE);
  return unrecorded ? EXPIRE_UNRECORDED : EXPIRE_REMOVED;
}

/**
 * If `entry` is in the shard's dirty table only (a key added since the last
 * promotion), takes it out of every table and retires it, its value word made
 * EXPUNGED; returns whether it did. Only for a value no reader counts as
 * present (expired, or a tombstone), which the caller retires. Nothing but a
 * lock holder changes an entry that no read table holds. The steps are a
 * delete's of a dirty-only key (mapDelete): the value word becomes DELETED
 * (a deleted entry in dirty, a state Go has too), and the value is unlinked;
 * then the entry leaves dirty, and is unlinked in turn. The caller holds the
 * lock.
 */
function dropDirtyOnlyLocked(shard: usize, entry: usize, h: u32): bool {
  const tables = loadTables(shard);
  const dirty = dirtyOf(tables);
  const key = entry + ENTRY_KEY;
  const keyLen = entryKeyLen(entry);
  if (!dirty || tableFind(readOf(tables), h, key, keyLen) == entry) return false;
  if (tableFind(dirty, h, key, keyLen) != entry) return false;
  const value = xchg32(entry + ENTRY_VALUE, DELETED);
  if (isLive(value)) recordUnlinked(value, KIND_VALUE);
  crashPoint();
  tableRemoveLocked(dirty, h, key, keyLen);
  recordUnlinked(entry, KIND_ENTRY);
  crashPoint();
  store32(entry + ENTRY_VALUE, EXPUNGED);
  retire(entry, KIND_ENTRY);
  return true;
}

/** Milliseconds until the value expires (0 when it has), or -1 when it never does. */
export function mapRemainingMs(block: usize): f64 {
  const at = valueExpiresAt(block);
  if (!at) return -1;
  const now = clockNow();
  return at > now ? <f64>(at - now) : 0;
}

// ── Versions ───────────────────────────────────────────────────────────────

/** The last version taken (0 before the first write, and in maps without versions). */
export function mapVersion(map: usize): u64 {
  return load64(<usize>load<u32>(map + MAP_STATE) + STATE_VERSION);
}

/** Versions at or below this may have lost tombstones to compaction. */
export function mapWatermark(map: usize): u64 {
  return load64(<usize>load<u32>(map + MAP_STATE) + STATE_WATERMARK);
}

/** Raises the acknowledged low watermark (automatic compaction goes up to it); returns it. */
export function mapRaiseLow(map: usize, low: u64): u64 {
  return atomicMax64(<usize>load<u32>(map + MAP_STATE) + STATE_LOW, low);
}

/** Key count of shard `index`, and how many times its lock was taken (statistics). */
export function mapShardSize(map: usize, index: u32): u32 {
  return load32(shardAt(map, index) + SHARD_SIZE_COUNT);
}

export function mapShardLockTakes(map: usize, index: u32): u32 {
  return load32(shardAt(map, index) + SHARD_LOCK + ACQUISITIONS);
}

/** Tombstones the map holds. */
export function mapTombstones(map: usize): u32 {
  return load32(<usize>load<u32>(map + MAP_STATE) + STATE_TOMBSTONES);
}

/** The address of the version word (a u64, for waiters: Atomics.wait). */
export function mapVersionWord(map: usize): usize {
  return <usize>load<u32>(map + MAP_STATE) + STATE_VERSION;
}

/**
 * Removes the tombstones of versions at or below `watermark`, which becomes the
 * map's watermark if it is higher. Returns how many it removed (plus
 * COMPACT_SKIPPED if it passed a busy shard over), or LOCK_TIMEOUT.
 * With `waits` false (the map's own compaction, off a write's path) a busy
 * shard is skipped, as the sweeper skips one: that compaction runs from the
 * event loop of whatever thread deleted, which may be the thread that must
 * hear of a dead holder's exit there, and a wait would hold every thread
 * behind that lock until lockTimeoutMs. A skipped shard keeps its tombstones
 * at or below the watermark, which no delta reports: the next compaction (at
 * a later delete or expiry) takes them.
 */
export function mapCompact(map: usize, watermark: u64, waits: bool): i32 {
  if (!versioned()) return 0;
  atomicMax64(state + STATE_WATERMARK, watermark);
  let removed = 0;
  let skipped = false;
  const shards = mapShardCount(map);
  for (let s: u32 = 0; s < shards; s++) {
    const shard = shardAt(map, s);
    if (!waits) {
      if (!tryLock(shard + SHARD_LOCK, owner)) {
        skipped = true;
        continue;
      }
    } else if (!lock(shard + SHARD_LOCK, owner)) return Status.LOCK_TIMEOUT;
    const tables = loadTables(shard);
    const holder = dirtyOf(tables) ? dirtyOf(tables) : readOf(tables);
    const capacity = tableCapacity(holder);
    for (let i: u32 = 0; i < capacity; i++) {
      const entry = tableEntryAt(holder, i);
      if (!entry) continue;
      const value = load32(entry + ENTRY_VALUE);
      if (!isLive(value) || !valueIsTombstone(<usize>value) || valueVersion(<usize>value) > watermark) continue;
      // Only lock holders replace a tombstone, so this CAS cannot fail. An
      // entry in dirty only leaves the tables with it.
      if (!dropDirtyOnlyLocked(shard, entry, tableHashAt(holder, i))) {
        cas32(entry + ENTRY_VALUE, value, DELETED);
        recordUnlinked(value, KIND_VALUE); // dropDirtyOnlyLocked records it itself
      }
      crashPoint();
      atomicAdd32(state + STATE_TOMBSTONES, -1);
      statsCount(STAT_COMPACTED);
      retire(value, KIND_VALUE);
      removed++;
    }
    unlock(shard + SHARD_LOCK);
  }
  return skipped ? removed | COMPACT_SKIPPED : removed;
}

// What mapCompact adds when it skipped a busy shard (`waits` false): tombstones
// at or below the watermark may remain, for a later compaction to take.
// @ts-ignore: decorator
@inline export const COMPACT_SKIPPED: i32 = 1 << 30;

/**
 * Takes shard `index`'s lock for a walk of its changes (versions.ts in the
 * bindings' terms: changesSince): OK with `result` = the table that holds all
 * its entries (dirty if there is one). The caller releases it (mapWalkEnd).
 * Under the lock, every version the shard's writers took is published.
 */
export function mapWalkBegin(map: usize, index: u32): i32 {
  const shard = shardAt(map, index);
  if (!lock(shard + SHARD_LOCK, owner)) return Status.LOCK_TIMEOUT;
  const tables = loadTables(shard);
  result = <u32>(dirtyOf(tables) ? dirtyOf(tables) : readOf(tables));
  return Status.OK;
}

export function mapWalkEnd(map: usize, index: u32): void {
  unlock(shardAt(map, index) + SHARD_LOCK);
}

/** True if a value block holds a present value now (for walks that copy values out). */
export function mapPresent(value: u32): bool {
  return present(value);
}

// ── Snapshot ───────────────────────────────────────────────────────────────

/**
 * Stops every write to the map, for a point-in-time copy: takes every shard's
 * lock (in index order), marks every shard frozen, so that a lock-free writer
 * takes the lock path instead (and waits), then waits until every operation
 * that was under way has ended, or is itself waiting for a lock (such a thread
 * is in no lock-free step). From then on nothing changes until mapUnfreeze.
 * `self` is the caller's slot. LOCK_TIMEOUT (nothing held) if a lock cannot be
 * had, or if an operation stays under way for this thread's patience: its
 * thread may have died unrecorded, and only this thread's event loop may be
 * able to record it (bindings/liveness.ts), so waiting on would be for ever.
 * Why a writer cannot slip through: awaitOperationsUnderWay.
 */
export function mapFreeze(map: usize, self: usize): i32 {
  const shards = mapShardCount(map);
  for (let i: u32 = 0; i < shards; i++) {
    if (!lock(shardAt(map, i) + SHARD_LOCK, owner)) {
      while (i--) unlock(shardAt(map, i) + SHARD_LOCK);
      return Status.LOCK_TIMEOUT;
    }
  }
  for (let i: u32 = 0; i < shards; i++) store32(shardAt(map, i) + SHARD_FROZEN, 1);
  if (!awaitOperationsUnderWay(self)) {
    mapUnfreeze(map);
    return Status.LOCK_TIMEOUT;
  }
  return Status.OK;
}

/**
 * Waits until every operation of another thread that was under way when the
 * caller marked shards frozen has ended, or is itself waiting for a lock (such
 * a thread is in no lock-free step). Why a writer cannot slip through: it
 * announces its operation (its pin word, a sequentially consistent store)
 * before it reads `frozen`, and this reads every pin word after the caller
 * stored `frozen`; of the two, one sees the other. False if one stays under
 * way for this thread's patience: its thread may have died unrecorded, and
 * only this thread's event loop may be able to record it (bindings/liveness.ts).
 */
function awaitOperationsUnderWay(self: usize): bool {
  const high = slotHighWater();
  for (let i: u32 = 0; i < high; i++) {
    const slot = slotAt(i);
    if (slot == self) continue;
    const pinned = load32(slot + SLOT_PIN);
    if (!(pinned & 1)) continue;
    let waited: f64 = 0;
    let sinceReap: f64 = 0;
    while (load32(slot + SLOT_PIN) == pinned && !load32(slot + SLOT_WAITING)) {
      // Its operation ends in microseconds, or its thread has died (a reaper
      // then clears its pin): ask after each wait.
      if (futexWait(slot + SLOT_PIN, pinned, 1) == TIMED_OUT) {
        waited += 1;
        sinceReap += 1;
        if (sinceReap >= LOCK_WAIT_MS) {
          reapIfDead(i + 1);
          sinceReap = 0;
        }
        if (waited >= lockPatience()) return false;
      }
    }
  }
  return true;
}

/** Ends mapFreeze: unmarks every shard and releases every lock. */
export function mapUnfreeze(map: usize): void {
  const shards = mapShardCount(map);
  for (let i: u32 = 0; i < shards; i++) store32(shardAt(map, i) + SHARD_FROZEN, 0);
  for (let i: u32 = 0; i < shards; i++) unlock(shardAt(map, i) + SHARD_LOCK);
}

/** The table holding all of shard `index`'s entries (the caller has it frozen or locked). */
export function mapShardTable(map: usize, index: u32): usize {
  const tables = loadTables(shardAt(map, index));
  return dirtyOf(tables) ? dirtyOf(tables) : readOf(tables);
}

// ── dirty-table maintenance (Go's missLocked, dirtyLocked, unexpungeLocked) ──

function missLocked(shard: usize): void {
  const misses = load<u32>(shard + SHARD_MISSES) + 1;
  const tables = loadTables(shard);
  if (misses < tableCount(dirtyOf(tables))) {
    store<u32>(shard + SHARD_MISSES, misses);
    return;
  }
  promoteLocked(shard, tables);
}

/** read ← dirty, dirty ← none, and retire what only the old read table held. */
function promoteLocked(shard: usize, tables: u64): void {
  statsCount(STAT_PROMOTIONS);
  const read = readOf(tables);
  intentBegin(INTENT_PROMOTE, shard, read, 0);
  store64(shard + SHARD_TABLES, <u64>dirtyOf(tables));
  crashPoint();
  store<u32>(shard + SHARD_MISSES, 0);
  // The old read table's non-expunged entries all live on in dirty, now read.
  if (read) retireReadLocked(read);
  intentEnd();
}

/**
 * Retires a read table that promotion has just replaced, and its EXPUNGED
 * entries (which no other table holds). Each such slot is made a tombstone
 * first (a reader still probing the table finds the key absent either way), so
 * that whoever repairs after this thread died can finish the walk.
 */
function retireReadLocked(read: usize): void {
  const capacity = tableCapacity(read);
  for (let i: u32 = 0; i < capacity; ) {
    const end = tableRunEnd(read, i);
    let slot = tableSlotAt(read, i);
    for (; i < end; i++, slot = slotNext(slot)) {
      const entry = <usize>slotEntry(slot);
      if (entry <= TOMBSTONE_WORD || load32(entry + ENTRY_VALUE) != EXPUNGED) continue;
      slotRetire(slot);
      recordUnlinked(entry, KIND_ENTRY);
      crashPoint();
      retire(entry, KIND_ENTRY);
    }
  }
  retire(read, KIND_TABLE);
}

/**
 * Adds a new entry for the key (absent from both tables) holding `block`,
 * creating the dirty table from read first if there is none. Does not count
 * the key into size; on failure frees only what it made itself. Stamps the
 * block's version (versioned maps) only once nothing can fail: an insert
 * refused for want of memory takes no version.
 */
function insertLocked(shard: usize, key: usize, keyLen: usize, h: u32, block: u32): i32 {
  const entry = entryNew(key, keyLen, block, heldEntryWord());
  if (!entry) return Status.FULL;
  const tables = loadTables(shard);
  let dirty = dirtyOf(tables);
  if (!dirty) {
    // We're adding the first new key to the dirty table: make it, which marks
    // read as incomplete (amended) in the same store.
    dirty = dirtyFromReadLocked(shard, readOf(tables));
  } else {
    dirty = dirtyWithRoomLocked(shard);
  }
  if (!dirty) {
    freeHeldEntry(entry); // never published
    return Status.FULL;
  }
  const slot = tableSlotForInsertLocked(dirty, h);
  stampLocked(block);
  crashPoint();
  letGoValue(); // published with the entry, in tableFillLocked's one store
  letGoEntry();
  tableFillLocked(dirty, slot, h, entry);
  return Status.OK;
}

/**
 * Go's dirtyLocked: a new dirty table holding read's entries, minus the deleted
 * ones, which become EXPUNGED instead, installed as the shard's dirty table.
 * Sized by read's present keys (plus the one about to be added), since the
 * deleted ones will not be in it. All allocation happens before the first
 * entry changes, so 0 (memory exhausted) leaves everything as it was.
 */
function dirtyFromReadLocked(shard: usize, read: usize): usize {
  intentBegin(INTENT_DIRTY_BUILD, shard, 0, 0);
  const dirty = tableNew(capacityFor(presentIn(read) + 1), intent + SLOT_INTENT_A);
  if (!dirty) {
    intentEnd();
    return 0;
  }
  const capacity = tableCapacity(read);
  for (let i: u32 = 0; i < capacity; ) {
    const end = tableRunEnd(read, i);
    let slot = tableSlotAt(read, i);
    for (; i < end; i++, slot = slotNext(slot)) {
      const entry = <usize>slotEntry(slot);
      if (entry <= TOMBSTONE_WORD) continue;
      if (!tryExpungeLocked(entry)) tableInsertLocked(dirty, slotHash(slot), entry);
      crashPoint();
    }
  }
  store64(shard + SHARD_TABLES, tablesOf(read, dirty));
  crashPoint();
  intentEnd();
  return dirty;
}

/** Entries of a table whose key is present. Exact under the lock: only lock holders change presence. */
function presentIn(table: usize): u32 {
  let present: u32 = 0;
  const capacity = tableCapacity(table);
  for (let i: u32 = 0; i < capacity; ) {
    const end = tableRunEnd(table, i);
    let slot = tableSlotAt(table, i);
    for (; i < end; i++, slot = slotNext(slot)) {
      const entry = <usize>slotEntry(slot);
      if (entry > TOMBSTONE_WORD && isLive(load32(entry + ENTRY_VALUE))) present++;
    }
  }
  return present;
}

function tryExpungeLocked(entry: usize): bool {
  let value = load32(entry + ENTRY_VALUE);
  while (value == DELETED) {
    value = cas32(entry + ENTRY_VALUE, DELETED, EXPUNGED);
    if (value == DELETED) return true;
  }
  return value == EXPUNGED;
}

/**
 * The dirty table with room for one more entry, grown if need be (the old one
 * freed at once: only lock holders ever reach a dirty table); 0 when memory is
 * exhausted.
 */
function dirtyWithRoomLocked(shard: usize): usize {
  const tables = loadTables(shard);
  const dirty = dirtyOf(tables);
  if (tableHasRoom(dirty, 1)) return dirty;
  intentBegin(INTENT_GROW, shard, 0, dirty);
  const grown = tableGrowLocked(dirty, 1, intent + SLOT_INTENT_A);
  if (!grown) {
    intentEnd();
    return 0;
  }
  store64(shard + SHARD_TABLES, tablesOf(readOf(tables), grown));
  crashPoint();
  freeIntentTable(intent + SLOT_INTENT_B, dirty);
  intentEnd();
  return grown;
}

/**
 * Makes an EXPUNGED entry of read DELETED again, adding it back to dirty first.
 * Go unexpunges, then adds; here the add comes first, so that a holder stopped
 * in between leaves an EXPUNGED entry inside dirty, which repair recognizes,
 * rather than a DELETED one missing from it, which it could not.
 */
function unexpungeLocked(shard: usize, entry: usize, h: u32): bool {
  // An EXPUNGED entry implies a dirty table (entry.ts); should that ever not
  // hold, refuse rather than grow a table that is not there.
  if (DEBUG) assert(dirtyOf(loadTables(shard)) != 0);
  if (!dirtyOf(loadTables(shard))) return false;
  const dirty = dirtyWithRoomLocked(shard);
  if (!dirty) return false;
  tableInsertLocked(dirty, h, entry);
  crashPoint();
  const seen = cas32(entry + ENTRY_VALUE, EXPUNGED, DELETED);
  if (DEBUG) assert(seen == EXPUNGED);
  return true;
}

// ── crash recovery ─────────────────────────────────────────────────────────

/**
 * Takes over every shard lock held by lock-owner `deadOwner`, a thread that
 * has exited, finishes or undoes the step a dead thread was in the middle of
 * there (its intent), repairs what else may be half done, and releases the
 * lock. The caller (a reaper) is pinned, and the dead slot's pin still stands
 * (reaper.ts), so nothing the dead thread retired has been freed yet.
 * Returns how many locks it recovered.
 */
export function mapRecoverLocks(map: usize, deadOwner: u32): u32 {
  let recovered: u32 = 0;
  const shards = mapShardCount(map);
  for (let i: u32 = 0; i < shards; i++) {
    const shard = shardAt(map, i);
    if (!lockTakeOver(shard + SHARD_LOCK, deadOwner, owner)) continue;
    finishIntentsLocked(shard, deadOwner == owner);
    repairShardLocked(shard);
    unlock(shard + SHARD_LOCK);
    recovered++;
  }
  // A clear that died: its shards are repaired above; the clear lock guards nothing of its own.
  const clearLock = mapClearLockWord(map);
  if (lockTakeOver(clearLock, deadOwner, owner)) unlock(clearLock);
  return recovered;
}

/**
 * Finishes every step announced for `shard`, whose lock the caller has just
 * taken over. A live thread announces a step only while it holds the lock, so
 * each intent found is a dead thread's: the lock's holder, or an earlier dead
 * thread whose reaper died holding the lock in turn. The lock has stayed with
 * dead threads since, so the shard is as they left it. `ownToo`: the caller is
 * recovering its own locks after a trap (abi.ts), so its own intent counts.
 */
function finishIntentsLocked(shard: usize, ownToo: bool): void {
  const high = slotHighWater();
  for (let i: u32 = 0; i < high; i++) {
    const dead = slotAt(i);
    if ((dead == intent && !ownToo) || load32(dead + SLOT_INTENT_OP) == INTENT_NONE) continue;
    if (<usize>load32(dead + SLOT_INTENT_SHARD) != shard) continue;
    finishIntentLocked(shard, dead);
    store32(dead + SLOT_INTENT_OP, INTENT_NONE);
  }
}

/** True once `table` has been retired (its header, zeroed when made, then holds a link). */
// @ts-ignore: decorator
@inline function isRetired(table: usize): bool {
  return load<u32>(table + RETIRE_LINK) != 0;
}

/**
 * Finishes or undoes the step slot `dead`'s thread announced for this shard.
 * Each branch can be run again after a reaper of its own died half-way.
 */
function finishIntentLocked(shard: usize, dead: usize): void {
  const op = load32(dead + SLOT_INTENT_OP);
  const a = <usize>load32(dead + SLOT_INTENT_A);
  const b = <usize>load32(dead + SLOT_INTENT_B);
  const tables = loadTables(shard);
  if (op == INTENT_DIRTY_BUILD) {
    // Installed: done. Not installed: its expunging is undone by the repair
    // that follows (no dirty table means no entry may be EXPUNGED); free the table.
    if (a && dirtyOf(tables) != a) freeIntentTable(dead + SLOT_INTENT_A, a);
  } else if (op == INTENT_GROW) {
    if (a && dirtyOf(tables) == a) {
      if (b) freeIntentTable(dead + SLOT_INTENT_B, b);
    } else if (a) {
      freeIntentTable(dead + SLOT_INTENT_A, a);
    }
  } else if (op == INTENT_PROMOTE) {
    // Done once the tables word no longer shows the old read table, but for
    // retiring it and its EXPUNGED entries (the walk skips the slots done).
    if (a && readOf(tables) != a && !isRetired(a)) retireReadLocked(a);
  } else if (op == INTENT_CLEAR) {
    if (tables == tablesOf(a, b)) return; // not yet emptied: the clear did not reach this shard
    const orphan = a ? a : b;
    if (orphan && !isRetired(orphan)) retireOrphan(a, b);
  }
}

/**
 * Frees a table an intent names at `word` (never published, or displaced):
 * pages, then the header, which passes from the word to the slot's held block
 * (reclaim.ts, holdBlock) in one run of instructions: a thread stopped anywhere
 * leaves it named, for its reaper.
 */
function freeIntentTable(word: usize, table: usize): void {
  tableFreePages(table); // resumable
  crashPoint();
  const size = tableHeaderBytes(table);
  holdBlock(table, size); // from the intent's word to the slot's held block, with no call between
  store32(word, 0);
  freeHeldBlock(table, size);
}

/**
 * Restores the shard's invariants after its lock holder died at an arbitrary
 * instruction. Every structural change is one store (the tables word, a slot's
 * entry word, an entry's value word), so the tables are always well formed; what
 * can be left over is:
 *   - expunged entries in read but no dirty table (dirtyFromRead was interrupted
 *     before installing its table): make them DELETED again;
 *   - an expunged entry inside dirty (unexpunge interrupted): make it DELETED;
 *   - stale counters: recount the dirty table and the shard's size.
 * Blocks the dead thread had made but not yet published are its reaper's to
 * free (inflight.ts), and what it had unlinked and not yet retired its reaper's
 * to retire (reclaim.ts): neither is in a table, so neither is repaired here.
 */
function repairShardLocked(shard: usize): void {
  store32(shard + SHARD_FROZEN, 0); // a snapshot's or a clear's thread died: its freeze ends with it
  const tables = loadTables(shard);
  const read = readOf(tables);
  const dirty = dirtyOf(tables);
  const holder = dirty ? dirty : read;
  if (read) tableRecountLocked(read); // squeeze changes read's slots under the lock
  if (dirty) {
    tableRecountLocked(dirty);
  } else {
    // Reached only from the dead thread's dirtyFromRead: undo its expunging.
    const readCapacity = tableCapacity(read);
    for (let i: u32 = 0; i < readCapacity; i++) {
      const entry = tableEntryAt(read, i);
      if (entry) cas32(entry + ENTRY_VALUE, EXPUNGED, DELETED);
    }
  }
  let size: u32 = 0;
  const capacity = tableCapacity(holder);
  for (let i: u32 = 0; i < capacity; i++) {
    const entry = tableEntryAt(holder, i);
    if (!entry) continue;
    if (dirty) cas32(entry + ENTRY_VALUE, EXPUNGED, DELETED);
    if (counted(load32(entry + ENTRY_VALUE))) size++; // not a tombstone: size counts keys
  }
  store32(shard + SHARD_SIZE_COUNT, size);
}

/**
 * Checks every invariant of every shard (for tests). Returns 0, or the number
 * of the first violated rule:
 *   1 read holds an EXPUNGED entry but there is no dirty table;
 *   2 dirty holds an EXPUNGED entry;
 *   3 a non-expunged entry of read is missing from dirty;
 *   4 a table's count does not match its slots;
 *   5 a shard's size does not match its entries that count (tombstones do not);
 *   6 a table is over its load factor (probes might not end);
 *   7 a shard holds tables but is not marked occupied (clear() would skip it).
 * Takes each shard's lock while it looks; LOCK_TIMEOUT if one cannot be had.
 */
export function mapVerify(map: usize): i32 {
  const shards = mapShardCount(map);
  for (let i: u32 = 0; i < shards; i++) {
    const shard = shardAt(map, i);
    if (!lock(shard + SHARD_LOCK, owner)) return Status.LOCK_TIMEOUT;
    let rule = verifyShardLocked(shard);
    if (!rule && loadTables(shard) && !(load32(occupiedWord(map, i)) & (<u32>1 << (i & 31)))) rule = 7;
    unlock(shard + SHARD_LOCK);
    if (rule) return rule;
  }
  return 0;
}

function verifyShardLocked(shard: usize): i32 {
  const tables = loadTables(shard);
  const read = readOf(tables);
  const dirty = dirtyOf(tables);
  if (!countMatches(read) || !countMatches(dirty)) return 4;
  if ((read && !tableHasRoom(read, 0)) || (dirty && !tableHasRoom(dirty, 0))) return 6;
  const readCapacity = tableCapacity(read);
  for (let i: u32 = 0; i < readCapacity; i++) {
    const entry = tableEntryAt(read, i);
    if (!entry) continue;
    const value = load32(entry + ENTRY_VALUE);
    if (value == EXPUNGED && !dirty) return 1;
    if (value != EXPUNGED && dirty && !tableContains(dirty, tableHashAt(read, i), entry)) return 3;
  }
  const holder = dirty ? dirty : read;
  const capacity = tableCapacity(holder);
  let size: u32 = 0;
  for (let i: u32 = 0; i < capacity; i++) {
    const entry = tableEntryAt(holder, i);
    if (!entry) continue;
    const value = load32(entry + ENTRY_VALUE);
    if (dirty && value == EXPUNGED) return 2;
    if (counted(value)) size++;
  }
  return size == load32(shard + SHARD_SIZE_COUNT) ? 0 : 5;
}

function countMatches(table: usize): bool {
  if (!table) return true;
  let count: u32 = 0;
  const capacity = tableCapacity(table);
  for (let i: u32 = 0; i < capacity; i++) if (tableEntryAt(table, i)) count++;
  return count == tableCount(table);
}

function tableContains(table: usize, h: u32, entry: usize): bool {
  return tableFind(table, h, entry + ENTRY_KEY, entryKeyLen(entry)) == entry;
}
