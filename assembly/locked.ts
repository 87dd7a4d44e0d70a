// The LockedMap baseline: a map + RWMutex (Go's RWMutexMap), over the same parts as the
// real map (table.ts, entry.ts, alloc.ts), so that the benchmarks compare the
// two designs rather than two implementations. It follows Go's reference
// RWMutexMap (src/sync/map_reference_test.go): loads under the read lock, every
// other operation under the write lock.
//
//   state block (LOCKED_STATE_SIZE = 64 bytes, the map header's body)
//   ┌──────────┬──────────┬────────┬──────────────────────────┐
//   │ table    │ rwlock   │ size   │ —                        │
//   └──────────┴──────────┴────────┴──────────────────────────┘
//    +0         +4         +8
//   table   The one table (0 = empty). Written by the write-lock holder; read
//           under either lock.
//   rwlock  rwlock.ts.
//   size    Present keys. Written under the write lock (atomic store); read
//           atomically by anyone.
//
// Under the lock every access is either exclusive or read-only, so nothing here
// needs epoch reclamation: a writer frees what it displaces at once. An entry's
// value word always holds a value block: a deleted key's entry leaves the table.
// Not crash-safe: a thread terminated while holding the lock blocks the map.

import { load32, store32 } from "./atomics";
import { alloc, free } from "./alloc";
import { readLock, readUnlock, writeLock, writeUnlock } from "./rwlock";
import { ENTRY_VALUE, entryBlockSize, entryNew, valueCopyTo, valueEquals, valueFree, valueNew } from "./entry";
import {
  capacityFor, tableCapacity, tableCount, tableEntryAt, tableFind, tableFree,
  tableGrowLocked, tableHasRoom, tableInsertLocked, tableNew, tableRemoveLocked,
} from "./table";
import { MAP_KIND_LOCKED, mapBody, mapHeaderNew } from "./map";
import { Status } from "./status";

// @ts-ignore: decorator
@inline const LOCKED_TABLE: usize = 0;
// @ts-ignore: decorator
@inline const LOCKED_RWLOCK: usize = 4;
// @ts-ignore: decorator
@inline const LOCKED_SIZE: usize = 8;
// @ts-ignore: decorator
@inline const LOCKED_STATE_SIZE: usize = 64;

/** A new, empty LockedMap; 0 when memory is exhausted. */
export function lockedNew(
  k0: u64, k1: u64, maxKeyBytes: u32, maxValueBytes: u32, keyKind: u32, valueKind: u32,
): usize {
  const state = alloc(LOCKED_STATE_SIZE);
  if (!state) return 0;
  memory.fill(state, 0, LOCKED_STATE_SIZE);
  const map = mapHeaderNew(k0, k1, state, 0, maxKeyBytes, maxValueBytes, keyKind, valueKind, MAP_KIND_LOCKED, 0);
  if (!map) free(state, LOCKED_STATE_SIZE);
  return map;
}

// @ts-ignore: decorator
@inline function tableOf(state: usize): usize { return <usize>load<u32>(state + LOCKED_TABLE); }


// @ts-ignore: decorator
@inline function freeValue(block: usize): void { valueFree(block); }

/** The value's length (copied to `dest` when `copy`), or ABSENT. */
export function lockedLoad(map: usize, key: usize, keyLen: usize, hash: u64, dest: usize, copy: bool): i32 {
  const state = mapBody(map);
  if (!readLock(state + LOCKED_RWLOCK)) return Status.LOCK_TIMEOUT;
  const entry = tableFind(tableOf(state), <u32>hash, key, keyLen);
  let status: i32 = Status.ABSENT;
  if (entry) status = copy ? valueCopyTo(<usize>load<u32>(entry + ENTRY_VALUE), dest) : 0;
  readUnlock(state + LOCKED_RWLOCK);
  return status;
}

/**
 * Stores the `len` bytes at `bytes`. The previous value's length (copied to
 * `dest` when `wantPrevious`), ABSENT when there was none, or FULL.
 */
export function lockedSwap(
  map: usize, key: usize, keyLen: usize, hash: u64, bytes: usize, len: usize, dest: usize, wantPrevious: bool,
): i32 {
  const block = valueNew(bytes, len, 0);
  if (!block) return Status.FULL;
  const state = mapBody(map);
  if (!writeLock(state + LOCKED_RWLOCK)) {
    freeValue(block);
    return Status.LOCK_TIMEOUT;
  }
  const entry = tableFind(tableOf(state), <u32>hash, key, keyLen);
  let status: i32;
  if (entry) {
    const previous = <usize>load<u32>(entry + ENTRY_VALUE);
    store<u32>(entry + ENTRY_VALUE, block);
    status = wantPrevious ? valueCopyTo(previous, dest) : 0;
    freeValue(previous);
  } else {
    status = insertLocked(state, key, keyLen, <u32>hash, block);
    if (status != Status.ABSENT) freeValue(block);
  }
  writeUnlock(state + LOCKED_RWLOCK);
  return status;
}

/** The present value's length (copied to `dest`), or ABSENT after storing the `len` bytes at `bytes`, or FULL. */
export function lockedLoadOrStore(
  map: usize, key: usize, keyLen: usize, hash: u64, bytes: usize, len: usize, dest: usize,
): i32 {
  const state = mapBody(map);
  if (!writeLock(state + LOCKED_RWLOCK)) return Status.LOCK_TIMEOUT;
  const entry = tableFind(tableOf(state), <u32>hash, key, keyLen);
  let status: i32;
  if (entry) {
    status = valueCopyTo(<usize>load<u32>(entry + ENTRY_VALUE), dest);
  } else {
    const block = valueNew(bytes, len, 0);
    status = block ? insertLocked(state, key, keyLen, <u32>hash, block) : Status.FULL;
    if (block && status != Status.ABSENT) freeValue(block);
  }
  writeUnlock(state + LOCKED_RWLOCK);
  return status;
}

/**
 * Deletes the key (only if its value equals the `oldLen` bytes at `old`, with
 * `compare`). The deleted value's length (copied to `dest` when `wantValue`),
 * or ABSENT.
 */
export function lockedDelete(
  map: usize, key: usize, keyLen: usize, hash: u64,
  compare: bool, old: usize, oldLen: usize, dest: usize, wantValue: bool,
): i32 {
  const state = mapBody(map);
  if (!writeLock(state + LOCKED_RWLOCK)) return Status.LOCK_TIMEOUT;
  const table = tableOf(state);
  const entry = tableFind(table, <u32>hash, key, keyLen);
  let status: i32 = Status.ABSENT;
  if (entry) {
    const value = <usize>load<u32>(entry + ENTRY_VALUE);
    if (!compare || valueEquals(value, old, oldLen)) {
      tableRemoveLocked(table, <u32>hash, key, keyLen);
      status = wantValue ? valueCopyTo(value, dest) : 0;
      freeValue(value);
      free(entry, entryBlockSize(entry));
      store32(state + LOCKED_SIZE, load32(state + LOCKED_SIZE) - 1);
    }
  }
  writeUnlock(state + LOCKED_RWLOCK);
  return status;
}

/** Replaces the value with the `nuLen` bytes at `nu` if it equals the `oldLen` bytes at `old`: OK, ABSENT or FULL. */
export function lockedCompareAndSwap(
  map: usize, key: usize, keyLen: usize, hash: u64, old: usize, oldLen: usize, nu: usize, nuLen: usize,
): i32 {
  const state = mapBody(map);
  if (!writeLock(state + LOCKED_RWLOCK)) return Status.LOCK_TIMEOUT;
  const entry = tableFind(tableOf(state), <u32>hash, key, keyLen);
  let status: i32 = Status.ABSENT;
  if (entry) {
    const value = <usize>load<u32>(entry + ENTRY_VALUE);
    if (valueEquals(value, old, oldLen)) {
      const block = valueNew(nu, nuLen, 0);
      if (block) {
        store<u32>(entry + ENTRY_VALUE, block);
        freeValue(value);
        status = Status.OK;
      } else {
        status = Status.FULL;
      }
    }
  }
  writeUnlock(state + LOCKED_RWLOCK);
  return status;
}

/** The address of the lock word (tests play a dead holder with it). */
export function lockedLockWord(map: usize): usize {
  return mapBody(map) + LOCKED_RWLOCK;
}

/** OK, or LOCK_TIMEOUT. */
export function lockedClear(map: usize): i32 {
  const state = mapBody(map);
  if (!writeLock(state + LOCKED_RWLOCK)) return Status.LOCK_TIMEOUT;
  const table = tableOf(state);
  if (table) {
    const capacity = tableCapacity(table);
    for (let i: u32 = 0; i < capacity; i++) {
      const entry = tableEntryAt(table, i);
      if (!entry) continue;
      freeValue(<usize>load<u32>(entry + ENTRY_VALUE));
      free(entry, entryBlockSize(entry));
    }
    store<u32>(state + LOCKED_TABLE, 0);
    tableFree(table);
  }
  store32(state + LOCKED_SIZE, 0);
  writeUnlock(state + LOCKED_RWLOCK);
  return Status.OK;
}

export function lockedSize(map: usize): u32 {
  return load32(mapBody(map) + LOCKED_SIZE);
}

/**
 * Takes the read lock for iterating the table (lockedRangeTable), which
 * lockedRangeEnd releases: OK, or LOCK_TIMEOUT (and no lock is held).
 */
export function lockedRangeBegin(map: usize): i32 {
  return readLock(mapBody(map) + LOCKED_RWLOCK) ? Status.OK : Status.LOCK_TIMEOUT;
}

/** The table a range iterates (0 if empty); the caller holds the read lock. */
export function lockedRangeTable(map: usize): usize {
  return tableOf(mapBody(map));
}

export function lockedRangeEnd(map: usize): void {
  readUnlock(mapBody(map) + LOCKED_RWLOCK);
}

/** 0 if the table's count and the size match the slots, else 4 or 5 (map.ts's rule numbers). */
export function lockedVerify(map: usize): i32 {
  const state = mapBody(map);
  if (!readLock(state + LOCKED_RWLOCK)) return Status.LOCK_TIMEOUT;
  const table = tableOf(state);
  const capacity = tableCapacity(table);
  let present: u32 = 0;
  for (let i: u32 = 0; i < capacity; i++) if (tableEntryAt(table, i)) present++;
  const rule = present != tableCount(table) ? 4 : present != load32(state + LOCKED_SIZE) ? 5 : 0;
  readUnlock(state + LOCKED_RWLOCK);
  return rule;
}

/** Adds a new entry holding `block`; ABSENT (the key was absent) or FULL. The caller holds the write lock. */
function insertLocked(state: usize, key: usize, keyLen: usize, h: u32, block: u32): i32 {
  let table = tableOf(state);
  if (!tableHasRoom(table, 1)) {
    const grown = table ? tableGrowLocked(table, 1, 0) : tableNew(capacityFor(1), 0);
    if (!grown) return Status.FULL;
    if (table) tableFree(table); // nobody else holds the lock: free at once
    store<u32>(state + LOCKED_TABLE, <u32>grown);
    table = grown;
  }
  const entry = entryNew(key, keyLen, block, 0);
  if (!entry) return Status.FULL;
  tableInsertLocked(table, h, entry);
  store32(state + LOCKED_SIZE, load32(state + LOCKED_SIZE) + 1);
  return Status.ABSENT;
}
