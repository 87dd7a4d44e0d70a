// The hash table behind both of a shard's maps, Go's `read` and `dirty`: open
// addressing with linear probing over (hash, entry) slots, the slots held in
// fixed-size pages so that no table ever needs a long contiguous block.
//
//   table header block (TABLE_HEADER_SIZE + inline slots or a directory)
//   ┌──────────┬─────────────┬─────────┬────────────┬─────────┬─────┬────────────┐
//   │ capacity │ retire link │ count   │ tombstones │ partner │ —   │ serial u64 │  +0 … +32
//   ├──────────┴─────────────┴─────────┴────────────┴─────────┴─────┴────────────┤
//   │ capacity ≤ INLINE_SLOTS: the slots themselves (8 bytes each)                │  +32
//   │ capacity ≤ ONE_LEVEL:    a directory: page pointers u32                     │
//   │ larger:                  a directory of directory blocks u32                │
//   └─────────────────────────────────────────────────────────────────────────────┘
//   page (PAGE_BYTES = 4 KiB): PAGE_SLOTS slots; slot i of the table is slot
//   i % PAGE_SLOTS of page i / PAGE_SLOTS.
//   directory block (two-level tables): up to DIR_FANOUT page pointers.
//
//   capacity    Slots, immutable. Up to INLINE_SLOTS any number from
//               MIN_CAPACITY (inline); above, a multiple of PAGE_SLOTS. A key's
//               home slot is (hash × capacity) >> 32 (Lemire's fast range), so
//               tables can be sized to their contents, not to a power of two.
//   count       Slots holding an entry, whatever the entry's state (Go's
//               len(m)); tombstones: slots whose entry was removed.
//   partner     Only for a table retired by clear() (KIND_ORPHAN, map.ts): the
//               dirty table that was retired with it. Written once by the lock
//               holder that retires it; readers never look at it.
//   serial      This table's number, unique in the heap for its whole life
//               (heap.ts, HEADER_TABLE_SERIALS): written by its maker before the
//               table is published, then immutable. With the table's address,
//               it tells a table from one made later at the same address
//               (map.ts, mapSwapFound).
//   slot        hash: low 32 bits of the key's hash, to skip most key compares.
//               entry: 0 = empty (ends a probe chain), TOMBSTONE = removed
//               (probes go on past it), otherwise an entry (entry.ts).
//
// Why pages: a table is copied whole when Go's design makes a new dirty table
// from read, and grown by copying. As one block, a shard of a million keys
// needed 16 MiB in one run, which a heap fragmented by churn no longer has: a
// map with half its keys deleted refused new ones while a third of its memory
// was free. In pages, every block a table needs is at most PAGE_BYTES (or the
// header block, at most TABLE_HEADER_SIZE + 4 KiB), so any free run of 4 KiB,
// wherever it is, serves it. The cost is one dependent load (the directory
// entry) per probe of a table over INLINE_SLOTS slots, two over ONE_LEVEL.
//
// A table is written only while it is a shard's dirty table, and only by the
// holder of that shard's lock (every function named ...Locked). Promotion
// publishes it as the read table with one sequentially consistent store, after
// which nobody writes its slots again, except to turn entries that are absent
// (EXPUNGED) into tombstones when they are retired (map.ts): lock-free readers
// probe with plain loads, ordered after the atomic load that gave them the table.
//
// Removal leaves a tombstone rather than shifting the chain back, so that every
// change is a single store of an entry word: a holder stopped half-way leaves
// every chain intact, and map.ts recounts `count` and `tombstones`.
//
// The load factor, tombstones included, stays at or below 3/4, so every probe
// chain ends at an empty slot. A full table grows to twice its entries' count
// (load 1/2), so a table's load stays between 1/2 and 3/4: 8-byte slots cost
// 11 to 16 bytes per entry.
//
// Freeing is resumable (tableFreePages): each directory entry is cleared before
// its page is freed, so a thread stopped half-way leaves a table whose
// remaining pages another thread can free; the page it was freeing is named in
// its slot meanwhile (reclaim.ts, holdBlock), for its reaper.

import { DEBUG } from "./config";
import { atomicAdd64 } from "./atomics";
import { HEADER_TABLE_SERIALS } from "./heap";
import { entryHasKey } from "./entry";
import { allocOrCollect } from "./memory";
import { free } from "./alloc";
import { crashPoint } from "./faults";
import { KIND_TABLE, freeHeldBlock, holdBlock, reclaimRegisterKind } from "./reclaim";

// @ts-ignore: decorator
@inline const TABLE_CAPACITY: usize = 0;
// @ts-ignore: decorator
@inline export const TABLE_RETIRE_LINK: usize = 4; // reclaim.ts
// @ts-ignore: decorator
@inline const TABLE_COUNT: usize = 8;
// @ts-ignore: decorator
@inline const TABLE_TOMBSTONES: usize = 12;
// @ts-ignore: decorator
@inline const TABLE_PARTNER: usize = 16;
// @ts-ignore: decorator
@inline const TABLE_SERIAL: usize = 24;
// @ts-ignore: decorator
@inline const TABLE_HEADER_SIZE: usize = 32;
// @ts-ignore: decorator
@inline const TABLE_SLOT_SIZE: usize = 8;
// @ts-ignore: decorator
@inline const SLOT_HASH: usize = 0;
// @ts-ignore: decorator
@inline const SLOT_ENTRY: usize = 4;

// @ts-ignore: decorator
@inline export const TOMBSTONE: u32 = 1;

// 4 KiB pages: the largest block a write may need (with a value chunk, entry.ts),
// and small enough that the free memory of a churned heap has runs that long.
// @ts-ignore: decorator
@inline export const PAGE_BYTES: usize = 4096;
// @ts-ignore: decorator
@inline const LOG2_PAGE_SLOTS: u32 = 9;
// @ts-ignore: decorator
@inline const PAGE_SLOTS: u32 = 1 << LOG2_PAGE_SLOTS; // PAGE_BYTES / TABLE_SLOT_SIZE
// The most slots kept in the header block: it then fits in PAGE_BYTES too.
// @ts-ignore: decorator
@inline const INLINE_SLOTS: u32 = <u32>((PAGE_BYTES - TABLE_HEADER_SIZE) / TABLE_SLOT_SIZE);
// A directory block holds as many pointers as fit in a page.
// @ts-ignore: decorator
@inline const LOG2_DIR_FANOUT: u32 = 10;
// @ts-ignore: decorator
@inline const DIR_FANOUT: u32 = 1 << LOG2_DIR_FANOUT;
// Tables up to this many slots (512 Ki, ~390 Ki keys) keep their directory in the header block.
// @ts-ignore: decorator
@inline const ONE_LEVEL: u32 = PAGE_SLOTS << LOG2_DIR_FANOUT;
// The largest table: 2^27 slots (~100 M keys in one shard), a header block of 1 KiB.
// @ts-ignore: decorator
@inline export const MAX_CAPACITY: u32 = 1 << 27;

// The smallest table: 8 slots (96 bytes) hold up to 6 keys.
// @ts-ignore: decorator
@inline const MIN_CAPACITY: u32 = 8;

// ── layout accessors ───────────────────────────────────────────────────────

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
@inline export function tablePartner(table: usize): usize {
  return <usize>load<u32>(table + TABLE_PARTNER);
}

// @ts-ignore: decorator
@inline export function tableSetPartner(table: usize, partner: usize): void {
  store<u32>(table + TABLE_PARTNER, <u32>partner);
}

/** Pages a table of `capacity` slots uses (0: its slots are inline). */
// @ts-ignore: decorator
@inline function pagesOf(capacity: u32): u32 {
  return capacity <= INLINE_SLOTS ? 0 : capacity >> LOG2_PAGE_SLOTS;
}

/** Directory blocks of a two-level table (0 for the others). */
// @ts-ignore: decorator
@inline function dirBlocksOf(capacity: u32): u32 {
  return capacity <= ONE_LEVEL ? 0 : (pagesOf(capacity) + DIR_FANOUT - 1) >> LOG2_DIR_FANOUT;
}

/** The size of a table's header block. */
// @ts-ignore: decorator
@inline function headerBytesOf(capacity: u32): usize {
  if (capacity <= INLINE_SLOTS) return TABLE_HEADER_SIZE + (<usize>capacity) * TABLE_SLOT_SIZE;
  if (capacity <= ONE_LEVEL) return TABLE_HEADER_SIZE + ((<usize>pagesOf(capacity)) << 2);
  return TABLE_HEADER_SIZE + ((<usize>dirBlocksOf(capacity)) << 2);
}

/** The header block's size, for whoever frees it after tableFreePages. */
// @ts-ignore: decorator
@inline export function tableHeaderBytes(table: usize): usize {
  return headerBytesOf(load<u32>(table + TABLE_CAPACITY));
}

/** The address of slot i (i < capacity). */
// @ts-ignore: decorator
@inline function slotAddress(table: usize, capacity: u32, i: u32): usize {
  if (capacity <= INLINE_SLOTS) return table + TABLE_HEADER_SIZE + (<usize>i) * TABLE_SLOT_SIZE;
  let page = i >> LOG2_PAGE_SLOTS;
  let dir = table + TABLE_HEADER_SIZE;
  if (capacity > ONE_LEVEL) {
    dir = <usize>load<u32>(dir + ((<usize>(page >> LOG2_DIR_FANOUT)) << 2));
    page &= DIR_FANOUT - 1;
  }
  return <usize>load<u32>(dir + ((<usize>page) << 2)) + (<usize>(i & (PAGE_SLOTS - 1))) * TABLE_SLOT_SIZE;
}

/** The table's serial (see the layout), or 0 for no table. */
// @ts-ignore: decorator
@inline export function tableSerial(table: usize): u64 {
  return table ? load<u64>(table + TABLE_SERIAL) : 0;
}

/** The entry in slot i, or 0 for an empty or removed slot. */
export function tableEntryAt(table: usize, i: u32): usize {
  const entry = load<u32>(slotAddress(table, load<u32>(table + TABLE_CAPACITY), i) + SLOT_ENTRY);
  return entry == TOMBSTONE ? 0 : <usize>entry;
}

export function tableHashAt(table: usize, i: u32): u32 {
  return load<u32>(slotAddress(table, load<u32>(table + TABLE_CAPACITY), i) + SLOT_HASH);
}

/**
 * The address of slot i, for walks over every slot: slots i … tableRunEnd(i) - 1
 * follow each other in memory (8 bytes apart), so a walk looks up the directory
 * once per page.
 */
export function tableSlotAt(table: usize, i: u32): usize {
  return slotAddress(table, load<u32>(table + TABLE_CAPACITY), i);
}

/**
 * tableSlotAt for a table that may be partly freed (tableFreePages stopped
 * half-way, on a table being retired): 0 when slot i's page is gone.
 */
export function tableSlotAtIfPresent(table: usize, i: u32): usize {
  const capacity = load<u32>(table + TABLE_CAPACITY);
  if (capacity <= INLINE_SLOTS) return slotAddress(table, capacity, i);
  const p = i >> LOG2_PAGE_SLOTS;
  if (capacity > ONE_LEVEL && !load<u32>(table + TABLE_HEADER_SIZE + ((<usize>(p >> LOG2_DIR_FANOUT)) << 2))) return 0;
  const page = <usize>load<u32>(pageWord(table, capacity, p));
  return page ? page + (<usize>(i & (PAGE_SLOTS - 1))) * TABLE_SLOT_SIZE : 0;
}

/** One past the last slot that lies in the same page as slot i. */
// @ts-ignore: decorator
@inline export function tableRunEnd(table: usize, i: u32): u32 {
  return min(load<u32>(table + TABLE_CAPACITY), (i | (PAGE_SLOTS - 1)) + 1);
}

/** The entry word of a slot whose address tableSlotAt gave: 0, TOMBSTONE or an entry. */
// @ts-ignore: decorator
@inline export function slotEntry(slot: usize): u32 {
  return load<u32>(slot + SLOT_ENTRY);
}

// @ts-ignore: decorator
@inline export function slotHash(slot: usize): u32 {
  return load<u32>(slot + SLOT_HASH);
}

/** The next slot's address after slot i at `slot`, within a page run. */
// @ts-ignore: decorator
@inline export function slotNext(slot: usize): usize {
  return slot + TABLE_SLOT_SIZE;
}

/**
 * Turns a slot's entry into a tombstone, in a table that is no longer current
 * (being retired): its entry is absent to every reader, so a reader that still
 * probes the table sees no difference. Marks progress of resumable walks.
 */
// @ts-ignore: decorator
@inline export function slotRetire(slot: usize): void {
  store<u32>(slot + SLOT_ENTRY, TOMBSTONE);
}

// ── sizing ─────────────────────────────────────────────────────────────────

/** The capacity that holds `count` entries at load 1/2 (0 if more than the largest table holds). */
export function capacityFor(count: u32): u32 {
  const want = <u64>count << 1;
  if (want <= <u64>MIN_CAPACITY) return MIN_CAPACITY;
  if (want <= <u64>INLINE_SLOTS) return <u32>want;
  if (want > <u64>MAX_CAPACITY) return 0;
  return <u32>((want + PAGE_SLOTS - 1) & ~<u64>(PAGE_SLOTS - 1));
}

/** The home slot of `hash` in a table of `capacity` slots. */
// @ts-ignore: decorator
@inline function homeOf(hash: u32, capacity: u32): u32 {
  return <u32>(((<u64>hash) * (<u64>capacity)) >> 32);
}

// ── creating and freeing ───────────────────────────────────────────────────

/**
 * An empty table of `capacity` slots (from capacityFor); 0 when memory is
 * exhausted or capacity is 0. `record`, if not 0, is a word that receives the
 * header block's address as soon as it exists, before any page is allocated: a
 * thread's intent (map.ts), so that whoever repairs after it died can free a
 * table it was still building (tableFreePages, then the header block).
 * On failure, everything allocated is freed and `record` is cleared.
 */
export function tableNew(capacity: u32, record: usize): usize {
  if (!capacity) return 0;
  const headerBytes = headerBytesOf(capacity);
  const table = allocOrCollect(headerBytes);
  if (!table) return 0;
  memory.fill(table, 0, headerBytes); // also every directory pointer: no page yet
  store<u32>(table + TABLE_CAPACITY, capacity);
  store<u64>(table + TABLE_SERIAL, atomicAdd64(HEADER_TABLE_SERIALS, 1) + 1);
  if (record) store32Atomic(record, <u32>table);
  const pages = pagesOf(capacity);
  const dirBlocks = dirBlocksOf(capacity);
  for (let d: u32 = 0; d < dirBlocks; d++) {
    const bytes = dirBlockBytes(pages, d);
    const dir = allocOrCollect(bytes);
    if (!dir) return failNew(table, record);
    memory.fill(dir, 0, bytes);
    store<u32>(table + TABLE_HEADER_SIZE + ((<usize>d) << 2), <u32>dir);
  }
  for (let p: u32 = 0; p < pages; p++) {
    const page = allocOrCollect(PAGE_BYTES);
    if (!page) return failNew(table, record);
    memory.fill(page, 0, PAGE_BYTES);
    store<u32>(pageWord(table, capacity, p), <u32>page);
  }
  return table;
}

function failNew(table: usize, record: usize): usize {
  tableFreePages(table);
  const size = tableHeaderBytes(table);
  if (record) {
    holdBlock(table, size); // from the record to the slot's held block, with no call between
    store32Atomic(record, 0);
    freeHeldBlock(table, size);
  } else {
    free(table, size);
  }
  return 0;
}

// The one atomic store this file makes (besides tableNew's atomic add that
// takes a serial): into a thread's intent record, which another thread reads
// after this one dies.
// @ts-ignore: decorator
@inline function store32Atomic(ptr: usize, value: u32): void {
  if (ASC_FEATURE_THREADS) atomic.store<u32>(ptr, value);
  else store<u32>(ptr, value);
}

/** Bytes of directory block d of a two-level table with `pages` pages. */
// @ts-ignore: decorator
@inline function dirBlockBytes(pages: u32, d: u32): usize {
  return (<usize>min(DIR_FANOUT, pages - (d << LOG2_DIR_FANOUT))) << 2;
}

/** The address of the directory word that holds page p. */
// @ts-ignore: decorator
@inline function pageWord(table: usize, capacity: u32, p: u32): usize {
  if (capacity <= ONE_LEVEL) return table + TABLE_HEADER_SIZE + ((<usize>p) << 2);
  const dir = <usize>load<u32>(table + TABLE_HEADER_SIZE + ((<usize>(p >> LOG2_DIR_FANOUT)) << 2));
  return dir + ((<usize>(p & (DIR_FANOUT - 1))) << 2);
}

/**
 * Frees a table's pages and directory blocks, leaving its header block, which
 * the caller frees (tableHeaderBytes) once nothing refers to the table. Resumable:
 * each pointer is cleared before its block is freed, so it may be called again
 * on a table whose freeing was interrupted, and it skips what is gone. Only one
 * thread may free a given table at a time.
 */
export function tableFreePages(table: usize): void {
  const capacity = load<u32>(table + TABLE_CAPACITY);
  const pages = pagesOf(capacity);
  if (!pages) return;
  const dirBlocks = dirBlocksOf(capacity);
  for (let p: u32 = 0; p < pages; p++) {
    if (dirBlocks && !load<u32>(table + TABLE_HEADER_SIZE + ((<usize>(p >> LOG2_DIR_FANOUT)) << 2))) {
      p |= DIR_FANOUT - 1; // that directory block (and its pages) is gone already
      continue;
    }
    const word = pageWord(table, capacity, p);
    const page = <usize>load<u32>(word);
    if (!page) continue;
    holdBlock(page, PAGE_BYTES); // named by the slot once the directory lets go of it
    store<u32>(word, 0);
    crashPoint();
    freeHeldBlock(page, PAGE_BYTES);
  }
  for (let d: u32 = 0; d < dirBlocks; d++) {
    const word = table + TABLE_HEADER_SIZE + ((<usize>d) << 2);
    const dir = <usize>load<u32>(word);
    if (!dir) continue;
    const bytes = dirBlockBytes(pages, d);
    holdBlock(dir, bytes);
    store<u32>(word, 0);
    freeHeldBlock(dir, bytes);
  }
}

/** Frees a table at once: one no other thread can reach (never published, or only ever seen under the lock). */
export function tableFree(table: usize): void {
  tableFreePages(table);
  free(table, tableHeaderBytes(table));
}

/** Every block of a table, header included: its share of bytesInUse. */
export function tableBytes(table: usize): usize {
  const capacity = load<u32>(table + TABLE_CAPACITY);
  return headerBytesOf(capacity) + (<usize>pagesOf(capacity)) * PAGE_BYTES;
}

// ── lookups and changes ────────────────────────────────────────────────────

// The entry word the last probeSlot matched, as it read it. Thread-local (a
// Wasm global): the word is read once, because a slot may turn into a
// TOMBSTONE under a lock-free reader's feet, and must then never be taken for
// an entry.
let probedEntry: u32 = 0;
/**
 * The slot index where the last probeSlot matched: with the table, what names
 * the entry again without a probe (tableEntryAt), while the table is neither
 * freed nor replaced (map.ts, mapSwapFound). Thread-local, as probedEntry.
 */
export let probedIndex: u32 = 0;

/** The address of the slot holding the key, or 0; the entry it held in probedEntry. */
// @ts-ignore: decorator
@inline function probeSlot(table: usize, hash: u32, key: usize, keyLen: usize): usize {
  const capacity = load<u32>(table + TABLE_CAPACITY);
  if (DEBUG) assert(capacity >= MIN_CAPACITY && capacity <= MAX_CAPACITY);
  let i = homeOf(hash, capacity);
  let slot = slotAddress(table, capacity, i);
  while (true) {
    const entry = load<u32>(slot + SLOT_ENTRY);
    if (!entry) return 0;
    if (
      entry != TOMBSTONE &&
      load<u32>(slot + SLOT_HASH) == hash &&
      entryHasKey(<usize>entry, key, keyLen)
    ) {
      probedEntry = entry;
      probedIndex = i;
      return slot;
    }
    if (++i == capacity) {
      i = 0;
      slot = slotAddress(table, capacity, 0);
    } else if (!(i & (PAGE_SLOTS - 1))) {
      slot = slotAddress(table, capacity, i); // the next page
    } else {
      slot += TABLE_SLOT_SIZE;
    }
  }
}

/**
 * The entry for the key, or 0. Safe on a published table without any lock:
 * each slot's entry word is read once (probeSlot), because a slot may turn
 * into a TOMBSTONE under a reader's feet (slotRetire, on a table that
 * promotion has just replaced).
 */
export function tableFind(table: usize, hash: u32, key: usize, keyLen: usize): usize {
  return tableFindInline(table, hash, key, keyLen);
}

/** tableFind in line, for the lock-free fast paths of map.ts (mapDelete, mapLoadOrStore). */
// @ts-ignore: decorator
@inline export function tableFindInline(table: usize, hash: u32, key: usize, keyLen: usize): usize {
  if (!table) return 0;
  return probeSlot(table, hash, key, keyLen) ? <usize>probedEntry : 0;
}

/** The address of the slot holding the key, or 0. The caller holds the lock of the table's shard. */
function slotOfLocked(table: usize, hash: u32, key: usize, keyLen: usize): usize {
  return probeSlot(table, hash, key, keyLen);
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
  tableFillLocked(table, tableSlotForInsertLocked(table, hash), hash, entry);
}

/**
 * The slot tableInsertLocked would fill for an entry with `hash`: the first
 * empty or tombstone slot of its probe. The caller holds the lock and has
 * checked tableHasRoom; it fills the slot with tableFillLocked, nothing else
 * in between, when it must do something just before the entry is published
 * (map.ts lets go of the new entry there, inflight.ts).
 */
export function tableSlotForInsertLocked(table: usize, hash: u32): usize {
  const capacity = load<u32>(table + TABLE_CAPACITY);
  let i = homeOf(hash, capacity);
  let slot = slotAddress(table, capacity, i);
  while (true) {
    const seen = load<u32>(slot + SLOT_ENTRY);
    if (seen == 0 || seen == TOMBSTONE) return slot;
    if (++i == capacity) {
      i = 0;
      slot = slotAddress(table, capacity, 0);
    } else if (!(i & (PAGE_SLOTS - 1))) {
      slot = slotAddress(table, capacity, i);
    } else {
      slot += TABLE_SLOT_SIZE;
    }
  }
}

/** Publishes `entry` in `slot`, from tableSlotForInsertLocked: one store, then the counts. */
export function tableFillLocked(table: usize, slot: usize, hash: u32, entry: usize): void {
  const seen = load<u32>(slot + SLOT_ENTRY);
  store<u32>(slot + SLOT_HASH, hash);
  store<u32>(slot + SLOT_ENTRY, <u32>entry); // the slot becomes valid in this one store
  crashPoint();
  store<u32>(table + TABLE_COUNT, load<u32>(table + TABLE_COUNT) + 1);
  if (seen == TOMBSTONE) {
    store<u32>(table + TABLE_TOMBSTONES, load<u32>(table + TABLE_TOMBSTONES) - 1);
  }
}

/** Removes the key's entry and returns it, or 0 when absent. The caller holds the lock. */
export function tableRemoveLocked(table: usize, hash: u32, key: usize, keyLen: usize): usize {
  const slot = slotOfLocked(table, hash, key, keyLen);
  if (!slot) return 0;
  const entry = <usize>load<u32>(slot + SLOT_ENTRY);
  tableRetireSlotLocked(table, slot);
  return entry;
}

/**
 * Turns the slot at `slot` (its entry absent to every reader) into a tombstone
 * in a published table, keeping its counts. The caller holds the lock of the
 * table's shard; readers may probe meanwhile (see slotRetire).
 */
export function tableRetireSlotLocked(table: usize, slot: usize): void {
  // The counts first (only lock holders read them), so that the store that
  // removes the entry is the last step: the caller records the entry as
  // unlinked right after it (reclaim.ts, recordUnlinked). A holder stopped in
  // between leaves the entry in place and counts that repair recounts.
  store<u32>(table + TABLE_COUNT, load<u32>(table + TABLE_COUNT) - 1);
  store<u32>(table + TABLE_TOMBSTONES, load<u32>(table + TABLE_TOMBSTONES) + 1);
  crashPoint();
  store<u32>(slot + SLOT_ENTRY, TOMBSTONE); // the one store that removes it
}

/**
 * A copy of `table` with room for `extra` more entries and no tombstones; 0 when
 * memory is exhausted. The caller holds the lock; `record` as for tableNew.
 */
export function tableGrowLocked(table: usize, extra: u32, record: usize): usize {
  const grown = tableNew(capacityFor(tableCount(table) + extra), record);
  if (!grown) return 0;
  const capacity = tableCapacity(table);
  for (let i: u32 = 0; i < capacity; ) {
    const end = tableRunEnd(table, i);
    let slot = tableSlotAt(table, i);
    for (; i < end; i++, slot += TABLE_SLOT_SIZE) {
      const entry = load<u32>(slot + SLOT_ENTRY);
      if (entry > TOMBSTONE) tableInsertLocked(grown, load<u32>(slot + SLOT_HASH), <usize>entry);
    }
  }
  return grown;
}

/** Recomputes count and tombstones from the slots (after a holder died mid-change). */
export function tableRecountLocked(table: usize): void {
  const capacity = tableCapacity(table);
  let count: u32 = 0;
  let tombstones: u32 = 0;
  for (let i: u32 = 0; i < capacity; ) {
    const end = tableRunEnd(table, i);
    let slot = tableSlotAt(table, i);
    for (; i < end; i++, slot += TABLE_SLOT_SIZE) {
      const entry = load<u32>(slot + SLOT_ENTRY);
      if (entry == TOMBSTONE) tombstones++;
      else if (entry) count++;
    }
  }
  store<u32>(table + TABLE_COUNT, count);
  store<u32>(table + TABLE_TOMBSTONES, tombstones);
}

// How reclamation frees a retired table (reclaim.ts knows no layouts): its
// pages, then its header block. Its entries are not its own.
/** The header block's size, as a function reclamation can call. */
export function tableHeaderSize(table: usize): usize { return tableHeaderBytes(table); }
function tableWeight(table: usize): usize { return tableBytes(table); }
reclaimRegisterKind(KIND_TABLE, tableFreePages, tableHeaderSize, tableWeight);
