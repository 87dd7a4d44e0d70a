// The hash table behind both of a shard's maps, Go's `read` and `dirty`: open
// addressing with linear probing over (hash, entry) slots.
//
//   table (TABLE_HEADER_SIZE + capacity × TABLE_SLOT_SIZE bytes)
//   ┌──────────┬─────────────┬─────────┬────────────┐
//   │ capacity │ retire link │ count   │ tombstones │  +0 … +16
//   ├──────────┴─────────────┴─────────┴────────────┤
//   │ slot 0: hash u32 │ entry u32                   │  +16
//   │ slot 1: …                                      │
//   └───────────────────────────────────────────────┘
//
//   capacity    Any number of slots from MIN_CAPACITY up, immutable. A key's home
//               slot is (hash × capacity) >> 32 (Lemire's fast range), so tables
//               can be sized to their contents rather than to a power of two.
//   count       Slots holding an entry, whatever the entry's state (Go's
//               len(m)); tombstones   slots whose entry was removed.
//   slot        hash: low 32 bits of the key's hash, to skip most key compares.
//               entry: 0 = empty (ends a probe chain), TOMBSTONE = removed
//               (probes go on past it), otherwise an entry (entry.ts).
//
// A table is written only while it is a shard's dirty table, and only by the
// holder of that shard's lock (every function named ...Locked). Promotion
// publishes it as the read table with one sequentially consistent store, after
// which nobody writes it again: lock-free readers probe it with plain loads,
// ordered after the atomic load that gave them the table.
//
// Removal leaves a tombstone rather than shifting the chain back, so that every
// change is a single store of an entry word: a holder stopped half-way leaves
// every chain intact, and map.ts recounts `count` and `tombstones`.
//
// The load factor, tombstones included, stays at or below 3/4, so every probe
// chain ends at an empty slot. A full table grows to twice its entries' count
// (load 1/2), so a table's load stays between 1/2 and 3/4: 8-byte slots cost
// 11 to 16 bytes per entry. (Powers of two would let it fall to 3/8, 21 bytes.)

import { DEBUG } from "./config";
import { entryHasKey } from "./entry";
import { allocOrCollect } from "./reclaim";
import { free } from "./alloc";
import { crashPoint } from "./faults";

// @ts-ignore: decorator
@inline const TABLE_CAPACITY: usize = 0;
// @ts-ignore: decorator
@inline export const TABLE_RETIRE_LINK: usize = 4; // reclaim.ts
// @ts-ignore: decorator
@inline const TABLE_COUNT: usize = 8;
// @ts-ignore: decorator
@inline const TABLE_TOMBSTONES: usize = 12;
// @ts-ignore: decorator
@inline const TABLE_SLOTS: usize = 16;
// @ts-ignore: decorator
@inline const TABLE_HEADER_SIZE: usize = TABLE_SLOTS;
// @ts-ignore: decorator
@inline const TABLE_SLOT_SIZE: usize = 8;
// @ts-ignore: decorator
@inline const SLOT_HASH: usize = 0;
// @ts-ignore: decorator
@inline const SLOT_ENTRY: usize = 4;

// @ts-ignore: decorator
@inline export const TOMBSTONE: u32 = 1;

// The smallest table: 8 slots (80 bytes) hold up to 6 keys.
// @ts-ignore: decorator
@inline const MIN_CAPACITY: u32 = 8;

// @ts-ignore: decorator
@inline export function tableCapacity(table: usize): u32 {
  return table ? load<u32>(table + TABLE_CAPACITY) : 0;
}

/** Slots that hold an entry (Go's len); 0 for no table. */
// @ts-ignore: decorator
@inline export function tableCount(table: usize): u32 {
  return table ? load<u32>(table + TABLE_COUNT) : 0;
}

// @ts-ignore: decorator
@inline export function tableBlockSize(table: usize): usize {
  return TABLE_HEADER_SIZE + (<usize>load<u32>(table + TABLE_CAPACITY)) * TABLE_SLOT_SIZE;
}

/** The entry in slot i, or 0 for an empty or removed slot. */
// @ts-ignore: decorator
@inline export function tableEntryAt(table: usize, i: u32): usize {
  const entry = load<u32>(table + TABLE_SLOTS + (<usize>i) * TABLE_SLOT_SIZE + SLOT_ENTRY);
  return entry == TOMBSTONE ? 0 : <usize>entry;
}

// @ts-ignore: decorator
@inline export function tableHashAt(table: usize, i: u32): u32 {
  return load<u32>(table + TABLE_SLOTS + (<usize>i) * TABLE_SLOT_SIZE + SLOT_HASH);
}

/** The capacity that holds `count` entries at load 1/2. */
export function capacityFor(count: u32): u32 {
  const want = count << 1;
  return want <= MIN_CAPACITY ? MIN_CAPACITY : want;
}

/** The home slot of `hash` in a table of `capacity` slots. */
// @ts-ignore: decorator
@inline function homeOf(hash: u32, capacity: u32): u32 {
  return <u32>(((<u64>hash) * (<u64>capacity)) >> 32);
}

/** An empty table of `capacity` slots; 0 when memory is exhausted. */
export function tableNew(capacity: u32): usize {
  const bytes = TABLE_HEADER_SIZE + (<usize>capacity) * TABLE_SLOT_SIZE;
  const table = allocOrCollect(bytes);
  if (!table) return 0;
  store<u32>(table + TABLE_CAPACITY, capacity);
  store<u32>(table + TABLE_COUNT, 0);
  store<u32>(table + TABLE_TOMBSTONES, 0);
  memory.fill(table + TABLE_SLOTS, 0, bytes - TABLE_HEADER_SIZE);
  return table;
}

/** Frees a table that was never published as a read table. */
export function tableFreeUnpublished(table: usize): void {
  free(table, tableBlockSize(table));
}

/** The entry for the key, or 0. Safe on a published table without any lock. */
export function tableFind(table: usize, hash: u32, key: usize, keyLen: usize): usize {
  if (!table) return 0;
  if (DEBUG) {
    const capacity = load<u32>(table + TABLE_CAPACITY);
    assert(capacity >= MIN_CAPACITY && capacity <= (1 << 27));
  }
  const slot = slotOf(table, hash, key, keyLen);
  return slot ? <usize>load<u32>(slot + SLOT_ENTRY) : 0;
}

/** The address of the slot holding the key, or 0. */
function slotOf(table: usize, hash: u32, key: usize, keyLen: usize): usize {
  const capacity = load<u32>(table + TABLE_CAPACITY);
  let i = homeOf(hash, capacity);
  while (true) {
    const slot = table + TABLE_SLOTS + (<usize>i) * TABLE_SLOT_SIZE;
    const entry = load<u32>(slot + SLOT_ENTRY);
    if (!entry) return 0;
    if (
      load<u32>(slot + SLOT_HASH) == hash &&
      entry != TOMBSTONE &&
      entryHasKey(<usize>entry, key, keyLen)
    ) return slot;
    if (++i == capacity) i = 0;
  }
}

/** True if `extra` more entries fit without passing the 3/4 load factor. */
// @ts-ignore: decorator
@inline export function tableHasRoom(table: usize, extra: u32): bool {
  if (!table) return false;
  const used = load<u32>(table + TABLE_COUNT) + load<u32>(table + TABLE_TOMBSTONES) + extra;
  return (<u64>used) * 4 <= (<u64>load<u32>(table + TABLE_CAPACITY)) * 3;
}

/**
 * Adds an entry whose key the table does not hold. The caller holds the lock
 * and has checked tableHasRoom.
 */
export function tableInsertLocked(table: usize, hash: u32, entry: usize): void {
  const capacity = load<u32>(table + TABLE_CAPACITY);
  let i = homeOf(hash, capacity);
  while (true) {
    const slot = table + TABLE_SLOTS + (<usize>i) * TABLE_SLOT_SIZE;
    const seen = load<u32>(slot + SLOT_ENTRY);
    if (seen == 0 || seen == TOMBSTONE) {
      store<u32>(slot + SLOT_HASH, hash);
      store<u32>(slot + SLOT_ENTRY, <u32>entry); // the slot becomes valid in this one store
      crashPoint();
      store<u32>(table + TABLE_COUNT, load<u32>(table + TABLE_COUNT) + 1);
      if (seen == TOMBSTONE) {
        store<u32>(table + TABLE_TOMBSTONES, load<u32>(table + TABLE_TOMBSTONES) - 1);
      }
      return;
    }
    if (++i == capacity) i = 0;
  }
}

/** Removes the key's entry and returns it, or 0 when absent. The caller holds the lock. */
export function tableRemoveLocked(table: usize, hash: u32, key: usize, keyLen: usize): usize {
  const slot = slotOf(table, hash, key, keyLen);
  if (!slot) return 0;
  const entry = <usize>load<u32>(slot + SLOT_ENTRY);
  store<u32>(slot + SLOT_ENTRY, TOMBSTONE); // the one store that removes it
  crashPoint();
  store<u32>(table + TABLE_COUNT, load<u32>(table + TABLE_COUNT) - 1);
  store<u32>(table + TABLE_TOMBSTONES, load<u32>(table + TABLE_TOMBSTONES) + 1);
  return entry;
}

/**
 * A copy of `table` with room for `extra` more entries and no tombstones; 0 when
 * memory is exhausted. The caller holds the lock.
 */
export function tableGrowLocked(table: usize, extra: u32): usize {
  const grown = tableNew(capacityFor(tableCount(table) + extra));
  if (!grown) return 0;
  const capacity = tableCapacity(table);
  for (let i: u32 = 0; i < capacity; i++) {
    const entry = tableEntryAt(table, i);
    if (entry) tableInsertLocked(grown, tableHashAt(table, i), entry);
  }
  return grown;
}

/** Recomputes count and tombstones from the slots (after a holder died mid-change). */
export function tableRecountLocked(table: usize): void {
  const capacity = tableCapacity(table);
  let count: u32 = 0;
  let tombstones: u32 = 0;
  for (let i: u32 = 0; i < capacity; i++) {
    const entry = load<u32>(table + TABLE_SLOTS + (<usize>i) * TABLE_SLOT_SIZE + SLOT_ENTRY);
    if (entry == TOMBSTONE) tombstones++;
    else if (entry) count++;
  }
  store<u32>(table + TABLE_COUNT, count);
  store<u32>(table + TABLE_TOMBSTONES, tombstones);
}
